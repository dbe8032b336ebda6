"""The ledger's promises: content is read once, paths supersede, bad files are quarantined
whole, and a batch is one transaction; those a lake must keep too run on both backends."""

from __future__ import annotations

import json
import shutil
import threading

import pytest

from benchdb_pipeline.errors import ConversionError
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.checks import check_natural_keys
from benchdb_pipeline.warehouse.staging import StagedBatch
from benchdb_pipeline.warehouse.store import load_batch, session
from benchdb_pipeline_tests.conftest import FIXTURES, query, scalar

FACTS = "SELECT count(*) FROM performance_results"


def rows(model: str, throughput: float) -> list[dict]:
    return [{"model_name": model, "hardware_type": "cpu", "batch_size": 1, "throughput": throughput}]


def test_same_content_is_ingested_once_whatever_its_path(warehouse, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "canonical_rows.json", folder / "a.json")
    shutil.copy(FIXTURES / "canonical_rows.json", folder / "copy_of_a.json")
    first = ingest(warehouse, [folder], workers=1)
    assert first.load.files_loaded == 1 and first.load.duplicates == 1
    assert scalar(warehouse, FACTS) == 3
    again = ingest(warehouse, [folder], workers=1)
    assert again.count("known") == 2 and again.load.files_loaded == 0
    assert scalar(warehouse, FACTS) == 3
    assert scalar(warehouse, "SELECT count(*) FROM source_files") == 1


def test_writers_of_one_process_storing_the_same_files_together_store_them_once(warehouse, tmp_path):
    """No index holds the ledger's hashes or the runs' keys (schema migration 11): writers take
    turns, so four threads that store the same files at once leave one copy of each."""
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(40):
        (folder / f"r{n}.json").write_text(json.dumps(rows(f"model-{n}", 10.0 + n)))
    ingest(warehouse, [FIXTURES / "canonical_rows.json"], workers=1)  # the schema, made once
    start = threading.Barrier(4)
    failures: list[BaseException] = []

    def store() -> None:
        start.wait()
        try:
            ingest(warehouse, [folder], workers=1, read_ledger=False, batch_files=10)
        except BaseException as exc:  # the test fails with it below
            failures.append(exc)

    threads = [threading.Thread(target=store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert scalar(warehouse, "SELECT count(*) FROM source_files") == 41
    assert scalar(warehouse, "SELECT count(*) FROM test_runs") == 41
    assert scalar(warehouse, FACTS) == 43
    with session(warehouse, read_only=True) as con:
        assert check_natural_keys(con).passed


def test_new_content_at_a_path_supersedes_the_earlier_version(warehouse, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(rows("bert", 10.0)))
    ingest(warehouse, [path], workers=1)
    path.write_text(json.dumps(rows("bert", 20.0)))
    report = ingest(warehouse, [path], workers=1)
    assert report.load.superseded == 1
    assert query(warehouse, "SELECT throughput_items_per_second FROM performance_results") == [(20.0,)]
    ledger = query(warehouse, "SELECT status, record_count FROM source_files ORDER BY file_id")
    assert ledger == [("superseded", 1), ("ingested", 1)]  # both versions kept
    # the run of the old version stays, pointing at the superseded ledger row
    assert scalar(warehouse, "SELECT count(*) FROM test_runs") == 2


def test_reverting_a_path_to_earlier_content_revives_its_ledger_row(warehouse, tmp_path):
    path = tmp_path / "results.json"
    for throughput in (10.0, 20.0, 10.0):
        path.write_text(json.dumps(rows("bert", throughput)))
        ingest(warehouse, [path], workers=1)
    assert query(warehouse, "SELECT throughput_items_per_second FROM performance_results") == [(10.0,)]
    assert query(warehouse, "SELECT file_id, status FROM source_files ORDER BY file_id") == [
        (1, "ingested"),
        (2, "superseded"),
    ]
    assert scalar(warehouse, "SELECT count(*) FROM test_runs") == 2  # the first run is reused


def test_a_file_with_one_bad_record_is_quarantined_whole(warehouse):
    report = ingest(warehouse, [FIXTURES / "bad_negative_throughput.json"], workers=1)
    assert report.count("quarantined") == 1
    assert scalar(warehouse, FACTS) == 0  # the valid first record is not half-written
    assert scalar(warehouse, "SELECT count(*) FROM models") == 0
    assert query(warehouse, "SELECT record_locator, field, reason FROM quarantine") == [
        ("$[1]", "throughput", "-5 is out of range: throughput_items_per_second must be > 0")
    ]
    error = scalar(warehouse, "SELECT error FROM source_files")
    assert error.startswith(str(FIXTURES / "bad_negative_throughput.json"))
    assert "record $[1]: field 'throughput'" in error


@pytest.mark.parametrize(
    "name,locator,field,reason",
    [
        ("bad_not_json.json", None, None, "not valid JSON"),
        (
            "bad_unknown_format.json",
            None,
            None,
            "no known result format: an object with keys ['hello', 'answer']. Supported: pytest_benchmark",
        ),
        ("bad_zero_batch.json", "$[0]", "batch_size", "0 is out of range: batch_size must be ≥ 1"),
        ("bad_non_numeric_throughput.json", "$[0]", "throughput", "'fast' is not a number"),
        ("bad_unknown_unit.json", "$[0]", "latency_unit", "unknown unit 'fortnights'"),
        (
            "bad_summary_with_values.json",
            "$.model_families.audio.hardware_results.cpu.latency_ms",
            "latency_ms",
            "a benchmark summary holds aggregates (2 values)",
        ),
    ],
)
def test_bad_input_is_quarantined_with_file_record_and_field(db, name, locator, field, reason):
    report = ingest(db, [FIXTURES / name], workers=1)
    assert [o.status for o in report.outcomes] == ["quarantined"]
    ((got_locator, got_field, got_reason),) = query(
        db, "SELECT record_locator, field, reason FROM quarantine"
    )
    assert (got_locator, got_field) == (locator, field)
    assert got_reason.startswith(reason)


def test_quarantined_content_is_skipped_until_retried(warehouse, tmp_path):
    path = tmp_path / "bad.json"
    shutil.copy(FIXTURES / "bad_zero_batch.json", path)
    ingest(warehouse, [path], workers=1)
    assert ingest(warehouse, [path], workers=1).count("known") == 1
    retried = ingest(warehouse, [path], workers=1, retry_quarantined=True)
    assert retried.count("quarantined") == 1
    assert scalar(warehouse, "SELECT count(*) FROM source_files") == 1
    assert scalar(warehouse, "SELECT count(*) FROM quarantine") == 1  # replaced, not doubled


def test_a_fixed_file_replaces_its_quarantined_version(warehouse, tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(rows("bert", -1.0)))
    ingest(warehouse, [path], workers=1)
    path.write_text(json.dumps(rows("bert", 1.0)))
    ingest(warehouse, [path], workers=1)
    assert query(warehouse, "SELECT status FROM source_files ORDER BY file_id") == [
        ("superseded",),
        ("ingested",),
    ]
    assert scalar(warehouse, FACTS) == 1


def test_a_batch_is_one_transaction(db):
    """A batch whose facts cannot be resolved leaves no trace: not even its ledger rows."""
    ingest(db, [FIXTURES / "canonical_rows.json"], workers=1)
    before = query(db, "SELECT count(*) FROM source_files")
    broken = StagedBatch.from_rows(
        {
            "files": [
                {
                    "file_key": 1,
                    "path": "/x.json",
                    "sha256": "f" * 64,
                    "size_bytes": 2,
                    "status": "ingested",
                    "record_count": 1,
                }
            ],
            "test_runs": [
                {
                    "run_key_local": 2,
                    "file_key": 1,
                    "run_key": "r",
                    "test_name": "t",
                    "test_type": "performance",
                    "is_simulated": False,
                }
            ],
            "performance_results": [
                {
                    "row_key": 3,
                    "run_key_local": 2,
                    "file_key": 1,
                    "model_name": "no-such-model",
                    "platform_key": "cpu|",
                }
            ],
        }
    )
    with session(db) as con, pytest.raises(ConversionError, match="dimension was missing"):
        load_batch(con, broken)
    assert query(db, "SELECT count(*) FROM source_files") == before
    assert scalar(db, "SELECT count(*) FROM test_runs WHERE run_key = 'r'") == 0


def test_dimension_attributes_do_not_depend_on_arrival_order(tmp_path):
    a = tmp_path / "a.json"
    b = tmp_path / "b.json"
    a.write_text(json.dumps([{**rows("bert", 1.0)[0], "model_family": "embedding"}]))
    b.write_text(json.dumps([{**rows("bert", 2.0)[0], "model_family": "bert"}]))
    families = []
    for order in ((a, b), (b, a)):
        db = tmp_path / f"{order[0].stem}.duckdb"
        for path in order:
            ingest(db, [path], workers=1)
        families.append(scalar(db, "SELECT model_family FROM models"))
    assert families == ["bert", "bert"]


def test_latest_result_per_configuration(warehouse, tmp_path):
    """Dated results beat undated ones; undated ones follow insertion order."""

    def result(name, throughput, timestamp=None):
        row = {"model": "m", "hardware": "cpu", "batch_size": 1, "throughput": throughput}
        (tmp_path / name).write_text(json.dumps([{**row, "timestamp": timestamp} if timestamp else row]))
        ingest(warehouse, [tmp_path / name], workers=1)

    def latest():
        return query(
            warehouse, "SELECT throughput_items_per_second, result_count FROM latest_performance_metrics"
        )

    result("a.json", 1.0)
    result("b.json", 2.0)
    assert latest() == [(2.0, 2)]
    result("c.json", 3.0, "2025-01-02T00:00:00")
    result("d.json", 4.0, "2025-01-01T00:00:00")
    result("e.json", 5.0)
    assert latest() == [(3.0, 5)]


def timed(model: str, throughput: float, at: str = "2026-11-20T10:00:00Z") -> list[dict]:
    return [{**row, "timestamp": at} for row in rows(model, throughput)]


def test_the_same_results_reserialised_are_stored_once_and_recorded_as_a_duplicate(warehouse, tmp_path):
    """Compact and pretty JSON of the same measurements: different bytes, one identity."""
    folder = tmp_path / "in"
    folder.mkdir()
    results = timed("bert", 10.0) + timed("gpt2", 5.0)
    (folder / "a.json").write_text(json.dumps(results, separators=(",", ":")))
    (folder / "b.json").write_text(json.dumps(list(reversed(results)), indent=2, sort_keys=True))
    report = ingest(warehouse, [folder], workers=1)
    assert scalar(warehouse, FACTS) == 2
    ledger = query(
        warehouse,
        "SELECT f.path, f.status, o.path FROM source_files f "
        "LEFT JOIN source_files o ON o.file_id = f.duplicate_of ORDER BY f.path",
    )
    assert ledger == [
        (str(folder / "a.json"), "ingested", None),
        (str(folder / "b.json"), "duplicate", str(folder / "a.json")),
    ]
    assert [o.status for o in sorted(report.outcomes, key=lambda o: o.path)] == ["ingested", "duplicate"]
    assert "1 duplicates of results already stored" in report.summary()
    # a third serialisation in a later ingest points at the first file too
    (folder / "c.json").write_text(json.dumps(results, indent=4))
    ingest(warehouse, [folder], workers=1)
    assert scalar(warehouse, FACTS) == 2
    first = scalar(warehouse, "SELECT file_id FROM source_files WHERE path LIKE '%a.json'")
    assert query(warehouse, "SELECT duplicate_of FROM source_files WHERE path LIKE '%c.json'") == [(first,)]


def test_results_that_differ_in_time_or_value_or_lack_a_time_are_not_duplicates(db, tmp_path):
    for name, results in {
        "base.json": timed("bert", 10.0),
        "later.json": timed("bert", 10.0, at="2026-11-21T10:00:00Z"),  # another measurement
        "other_value.json": timed("bert", 11.0),
        "untimed_1.json": rows("bert", 10.0),  # no time: equal values need not be one run
        "untimed_2.json": rows("bert", 10.0) + [],
    }.items():
        (tmp_path / name).write_text(json.dumps(results, indent=1 if "2" in name else None))
    ingest(db, [tmp_path], workers=1)
    assert scalar(db, "SELECT count(*) FROM source_files WHERE status = 'duplicate'") == 0
    assert scalar(db, FACTS) == 5


def test_when_the_original_is_superseded_its_duplicate_is_read_again(warehouse, tmp_path):
    """The duplicate's results were stored only through the original: they must not vanish
    with it."""
    original, copy = tmp_path / "a.json", tmp_path / "b.json"
    original.write_text(json.dumps(timed("bert", 10.0)))
    copy.write_text(json.dumps(timed("bert", 10.0), indent=2))
    ingest(warehouse, [tmp_path], workers=1)
    original.write_text(json.dumps(timed("bert", 20.0)))
    ingest(warehouse, [original], workers=1)  # b.json not in this ingest: released, not yet re-read
    assert query(warehouse, "SELECT status FROM source_files WHERE path LIKE '%b.json'") == [("superseded",)]
    ingest(warehouse, [tmp_path], workers=1)
    values = query(warehouse, "SELECT throughput_items_per_second FROM performance_results ORDER BY 1")
    assert values == [(10.0,), (20.0,)]
    assert query(warehouse, "SELECT status FROM source_files WHERE path LIKE '%b.json'") == [("ingested",)]
