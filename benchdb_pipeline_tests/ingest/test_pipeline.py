"""Discovery, and the parallel parser giving the same warehouse as the serial one."""

from __future__ import annotations

import json

import pytest

from benchdb_pipeline.ingest.discovery import discover
from benchdb_pipeline.ingest.pipeline import POOL_THRESHOLD, FileOutcome, ParsedChunk, _batches, ingest
from benchdb_pipeline.warehouse.staging import StagedBatch
from benchdb_pipeline_tests.conftest import query


def test_discover_walks_folders_and_skips_partial_and_hidden(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in (
        "a/one.json",
        "a/b/two.json",
        "a/b/notes.txt",
        "a/b/three.json.part",
        "a/.four.json",
        ".hidden/five.json",
    ):
        (tmp_path / name).write_text("[]")
    found = discover([tmp_path, tmp_path / "a" / "one.json"])
    assert found == sorted(found)
    assert sorted(p.rsplit("/", 2)[-2:] for p in found) == [["a", "one.json"], ["b", "two.json"]]
    with pytest.raises(FileNotFoundError):
        discover([tmp_path / "nope"])


def test_parallel_serial_and_batched_parsing_store_the_same_rows(tmp_path):
    """Batches of 100 files: several transactions, stored while the pool parses ahead."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(POOL_THRESHOLD + 50):
        rows = [
            {
                "model": f"model-{i % 7}",
                "hardware": ["cpu", "cuda"][i % 2],
                "batch_size": b,
                "latency_ms": 1.0 + i + b,
                "throughput": 100.0 + i,
                "latencies_ms": [1.0, 2.0, 3.0],
            }
            for b in (1, 2)
        ]
        (folder / f"{i:04d}.json").write_text(json.dumps(rows))
    (folder / "broken.json").write_text("{")
    dumps = []
    for workers, batch_files in ((1, 20_000), (2, 20_000), (2, 100)):
        db = tmp_path / f"w{workers}-{batch_files}.duckdb"
        report = ingest(db, [folder], workers=workers, batch_files=batch_files)
        assert report.count("ingested") == POOL_THRESHOLD + 50 and report.count("quarantined") == 1
        dumps.append(
            query(
                db,
                """
            SELECT f.path, m.model_name, h.hardware_type, p.batch_size, p.average_latency_ms,
                   p.latency_p90_ms, (SELECT list(latency_ms ORDER BY iteration) FROM performance_samples s
                                      WHERE s.result_id = p.result_id)
            FROM performance_results p JOIN source_files f ON f.file_id = p.source_file_id
            JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
            ORDER BY ALL""",
            )
        )
    assert dumps[0] == dumps[1] == dumps[2]
    assert len(dumps[0]) == 2 * (POOL_THRESHOLD + 50)


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (100_000, [40_000, 40_000, 10_000, 10_000]),
        (90_000, [40_000, 40_000, 10_000]),  # the last batch, stored after all parsing, is small
        (80_000, [40_000, 30_000, 10_000]),
        (45_000, [35_000, 10_000]),
        (10_000, [10_000]),
    ],
)
def test_batches_are_full_but_the_last_holds_at_most_a_quarter(total, expected):
    outcome = FileOutcome("f.json", "ingested", None, 1, None)
    chunks = [ParsedChunk(StagedBatch(), [outcome] * 5000) for _ in range(total // 5000)]
    batches = list(_batches(chunks, 40_000, total))
    assert [sum(len(c.outcomes) for c in batch) for batch, _ in batches] == expected
    assert [last for _, last in batches] == [False] * (len(expected) - 1) + [True]


def test_only_the_chosen_categories_are_stored_the_rest_wait(tmp_path, db):
    """The old converter's --categories: files of other categories are left unrecorded, so a
    later ingest without the choice stores them."""
    from benchdb_pipeline.samples import write_samples

    samples = tmp_path / "samples"
    write_samples(samples)
    chosen = ingest(db, [samples], categories=("compatibility",))
    stored = query(db, "SELECT DISTINCT category FROM source_files WHERE status <> 'quarantined'")
    assert ("compatibility",) in stored and set(stored) <= {("compatibility",), ("mixed",)}
    assert chosen.count("skipped") > 0 and "left out: not of the chosen categories" in chosen.summary()
    rest = ingest(db, [samples])
    # What waited is read now; what the first ingest stored is known.
    assert rest.count("skipped") == 0 and rest.count("known") == rest.files - chosen.count("skipped")
    assert query(db, "SELECT count(*) FROM source_files WHERE category = 'performance'")[0][0] > 0


def test_a_new_warehouse_is_made_by_its_first_ingest_even_when_nothing_is_stored(tmp_path):
    """A new warehouse's schema is made by the first load (while the pool parses on), or at
    the end when nothing was stored; a dry run makes none."""
    empty, rows = tmp_path / "empty", tmp_path / "rows"
    empty.mkdir()
    rows.mkdir()
    (rows / "r.json").write_text(json.dumps([{"model": "m", "hardware": "cpu", "latency_ms": 2.0}]))
    assert ingest(tmp_path / "dry.duckdb", [rows], dry_run=True).count("ingested") == 1
    assert not (tmp_path / "dry.duckdb").exists()
    for folder, stored in ((empty, 0), (rows, 1)):
        db = tmp_path / f"{folder.name}.duckdb"
        assert ingest(db, [folder]).load.rows.get("performance_results", 0) == stored
        assert query(db, "SELECT count(*) FROM performance_results") == [(stored,)]
        assert ingest(db, [folder]).count("known") == stored  # the ledger read the second time
