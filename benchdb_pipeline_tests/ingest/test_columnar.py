"""Plain row lists read as whole columns stage exactly what the per-file route stages, and
every file the columnar route cannot prove it reads goes to the per-file route.

The files come from a seeded generator of the shapes real row lists have (every alias of
every column, units in field names, optional fields given, null or left out, odd spellings)
and of the ones that must leave the route (repeated keys, unit keys, numbers as text, values
out of range, NaN, trailing commas, nested values…)."""

from __future__ import annotations

import json
import os
import random
from datetime import datetime
from pathlib import Path

import duckdb
import orjson
import pytest

from benchdb_pipeline.ingest.batch import build_batch
from benchdb_pipeline.ingest.columnar import _plain, _read_plain, read_row_lists
from benchdb_pipeline.ingest.duplicate_keys import keys_kept
from benchdb_pipeline.ingest.normalize import KINDS
from benchdb_pipeline.ingest.parse import parse_file
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.staging import StagedBatch

_LOOKUP = KINDS["performance"].lookup


def _aliases(column: str) -> list[str]:
    """The keys of a column (not ``device``, which may name a device instead)."""
    return sorted(
        alias for alias, (rule, *_) in _LOOKUP.items() if rule.column == column and alias != "device"
    )


# Values of each column as files write them (text, and numbers in their alias's unit).
TEXTS = {
    "model_name": ["bert-base-uncased", "BERT-Base-Uncased ", "gpt2", "org/model  v2", "t5-small"],
    "hardware_type": ["cpu", "CUDA", "cuda:0", "nvidia", "rocm", "mps"],
    "precision": ["fp32", "float16", "BF16", "int8", "torch.float16"],
    "device_name": ["NVIDIA A100-SXM4-80GB", "Intel(R) Xeon(R) Platinum 8480+", "Apple M2"],
    "host_name": ["runner-1", "gpu-node-7"],
    "platform": ["Linux", "linux"],
    "test_case": ["generate", "prefill 512", "a/b"],
    "model_family": ["bert", "gpt"],
    "status": ["ok", "OK", "completed", "failed"],
    "measured_at": [
        "2026-01-10T00:00:00",
        "2026-02-03T04:05:06.789Z",
        "20250302_201142",
        "2026-03-01 10:00:00+02:00",
    ],
}
NUMBERS = {
    "batch_size": [1, 2, 8, 64, 8.0],
    "sequence_length": [128, 512],
    "iterations": [10, 1000],
    "warmup_iterations": [0, 5],
    "compute_units": [8, 96],
    "accelerator_count": [0, 1, 8],
    "average_latency_ms": [0.5, 12.25, 100, 1234.5678, 0.0],
    "latency_p50_ms": [11.0, 12],
    "latency_p99_ms": [20.5],
    "throughput_items_per_second": [512.0, 1e6, 33],
    "memory_peak_mb": [1024, 0.25, 80000.5],
    "total_time_seconds": [1.5, 60],
    "memory_gb": [16, 80.0, 31.9],
    "parameters_million": [110, 0.5],
}


def _row(rng: random.Random, nulls: bool) -> dict:
    row: dict = {}
    for column in ("model_name", "hardware_type"):
        row[rng.choice(_aliases(column))] = rng.choice(TEXTS[column])
    for column, values in {**TEXTS, **NUMBERS}.items():
        if column in ("model_name", "hardware_type") or rng.random() < 0.6:
            continue
        row[rng.choice(_aliases(column))] = rng.choice(values) if not nulls or rng.random() > 0.1 else None
    if not row.keys() & {*_aliases("average_latency_ms"), "throughput"} and rng.random() < 0.8:
        row["latency_ms"] = round(rng.uniform(1, 500), 3)
    if rng.random() < 0.3:
        row["is_simulated"] = rng.choice([True, False, None] if nulls else [True, False])
    return row


# Files that look like a trap and are plain rows all the same: this route reads them.
ODD = [
    # a key's ending inside a text: the keys are counted exactly, not by their colons
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "test_case": "say \\"hi\\": now"}]',
    # colons in texts, a time among them, and spaces around every colon of a key
    '[{"model_name" : "a:b:c", "hardware_type":"cpu", "latency_ms"  :  1, "timestamp": "2026-01-02T03:04:05"}]',
    # a text that looks like a time (Arrow's reader would make it one), a text not in ASCII
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "test_case": "2026-01-02T03:04:05"}]',
    '[{"model_name": "modèle", "hardware_type": "cpu", "latency_ms": 1}]',
    # an integer -0 among doubles: orjson reads 0, Arrow would read the column's -0 as -0.0
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": -0, "timestamp": "2026-01-02T03:04:05"}, '
    '{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1.5, "timestamp": "2026-01-02T03:04:05"}]',
]
# Files the columnar route must leave to the per-file route (which reads or refuses them).
HOSTILE = [
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "latency_ms": 2}]',
    # the same, the second key spaced from its colon (the colons counted no longer tell)
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "latency_ms" : 2}]',
    # a text given twice, the colons of the one kept or of the one dropped made to balance
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "test_case": "a:b", "test_case": "c"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "test_case": "c", "test_case": "a:b"}]',
    '[{"model_name": "m:n", "hardware_type": "cpu", "latency_ms": 1, "model_name": "m:n"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency": 5, "time_unit": "s"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": "12.5"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": -1}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": NaN}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1},]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "extra": {"a": 1}}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "metrics": {"a": 1}}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "note": "x"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1e-7}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "batch_size": 2.5}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "batch_size": true}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "batch_size": 123456789012345678901}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1e300}]',
    '[{"model_name": "m\\u0001", "hardware_type": "cpu", "latency_ms": 1}]',
    '[{"model_name": "", "hardware_type": "cpu", "latency_ms": 1}]',
    '[{"model_name": "m", "hardware_type": "not a type!", "latency_ms": 1}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "timestamp": "yesterday"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "timestamp": 1767225600}]',
    '[{"model_name": "m", "hardware_type": "cpu"}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "samples": [1, 2]}]',
    '[{"model_name": "m", "device": "NVIDIA A100", "latency_ms": 1}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "latency": 2}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1}, 7]',
    # keys in an order of their own, then not a record: the group they began is left empty
    '[{"latency_ms": 3, "batch_size": 4, "model_name": "m", "hardware_type": "cpu"}, "x"]',
    '[{"model_name": 42, "hardware_type": "cpu", "latency_ms": 1}]',
    # a boolean among doubles (Arrow would read it as 1.0 or 0.0), and the flag as a number
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": true}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 2.5, "throughput": false}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "is_simulated": 1.5}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "precision": ["fp16"]}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 9007199254740993}]',
    '{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1}',
    # texts that would end their line of Arrow's reading ({"f": n, "r": <file>}) early
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1}]}\n{"f":0,"r":[{"model_name": "x", '
    '"hardware_type": "cpu", "latency_ms": 2}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1}], "x": 1',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1}], "f": 3',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1e400}]',
    '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": Infinity}]',
    "[]",
    " [{}]",
    "not json",
]


def _write_corpus(folder: Path, files: int, seed: int = 11) -> list[str]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(files):
        nulls = rng.random() < 0.5  # a file without null is read by Arrow's JSON reader
        rows = [_row(rng, nulls) for _ in range(rng.randint(1, 6))]
        path = folder / f"run_{n:04d}.json"
        path.write_text(json.dumps(rows, indent=rng.choice([None, 2])))
        paths.append(str(path))
    for prefix, texts in (("hostile", HOSTILE), ("odd", ODD)):
        for n, text in enumerate(texts):
            path = folder / f"{prefix}_{n:02d}.json"
            path.write_text(text)
            paths.append(str(path))
    # a file's run is named after it: a name the run rules refuse goes to the per-file route
    row = '[{"model_name": "m", "hardware_type": "cpu", "latency_ms": 1, "timestamp": "2026-01-02T03:04:05"}]'
    for name in ("odd_ Spaced  Name .json", "hostile_ctl\x01name.json"):
        (folder / name).write_text(row)
        paths.append(str(folder / name))
    return paths


def _canonical(batch: StagedBatch) -> dict[str, list]:
    """A batch's rows without its batch-local keys, in a fixed order."""
    tables = {name: table.to_pylist() for name, table in batch.tables.items()}
    path_of = {row["file_key"]: row["path"] for row in tables["files"]}
    run_of = {row["run_key_local"]: row["run_key"] for row in tables["test_runs"]}
    local = ("file_key", "run_key_local", "row_key")

    def strip(row: dict) -> dict:
        kept = {k: v for k, v in row.items() if k not in local}
        if "file_key" in row:
            kept["path"] = path_of[row["file_key"]]
        if "run_key_local" in row:
            kept["run"] = run_of[row["run_key_local"]]
        return kept

    return {name: sorted((strip(row) for row in rows), key=repr) for name, rows in tables.items()}


def test_columns_stage_what_the_per_file_route_stages(tmp_path: Path) -> None:
    paths = _write_corpus(tmp_path / "in", 600)
    random.Random(3).shuffle(paths)  # hostile files among the others: Arrow's reads are split
    read = read_row_lists(paths)
    rest = set(read.rest)
    taken = [p for p in paths if p not in rest]
    assert len(taken) > 300  # most generated files are rows the route reads (some lack a measurement)
    per_file = build_batch([parse_file(p) for p in taken])
    assert _canonical(read.batch) == _canonical(per_file)
    assert read.batch.rows("performance_results") > 1000
    # every hostile file went to the per-file route
    assert {Path(p).name for p in paths if "hostile" in p} <= {Path(p).name for p in rest}
    assert not {Path(p).name for p in paths if "odd_" in p} & {Path(p).name for p in rest}
    assert sorted(o[0] for o in read.outcomes) == sorted(parse_file(p).path for p in taken)


def test_arrow_reads_the_plain_files_and_leaves_the_others_to_orjson(tmp_path: Path) -> None:
    paths = _write_corpus(tmp_path / "in", 300)
    texts = [Path(p).read_bytes() for p in paths]
    # a file with a null, an escape or a text not in ASCII is not given to Arrow
    assert not any(_plain(t) for t in texts if b"null" in t or b"\\" in t or not t.isascii())
    plain = [(n, text) for n, text in enumerate(texts) if _plain(text)]
    # hostile files among the others, as many as the reads split for before orjson takes the rest
    hostile = [(n, text) for n, text in plain if "hostile" in paths[n]]
    assert len(hostile) > 30
    plain = [(n, text) for n, text in plain if "hostile" not in paths[n]] + hostile[::2]
    random.Random(5).shuffle(plain)
    tables, left = _read_plain(plain)
    read = {n for table in tables for n in table["file_no"].to_pylist()}
    assert len(read) > 100 and not read & {n for n, _ in left}
    assert len(read) + len(left) == len(plain)
    # of the hostile files, Arrow reads only lists of records that orjson reads with every key,
    # or that hold NaN or Infinity (values out of range, or not understood, or not finite, are
    # refused by the chunk's SQL: see the test above)
    for n, text in hostile[::2]:
        if n in read and b"NaN" not in text and b"Infinity" not in text:
            doc = orjson.loads(text)
            assert all(type(record) is dict for record in doc) and keys_kept(text, doc), text
    assert len(read & {n for n, _ in hostile}) < len(hostile) / 4


def test_known_content_is_staged_as_known(tmp_path: Path) -> None:
    paths = _write_corpus(tmp_path / "in", 20)
    first = parse_file(paths[0])
    read = read_row_lists(paths, known={first.sha256}, first_key=100)
    assert (first.path, "known", None, 0) in read.outcomes
    known = [row for row in read.batch.tables["files"].to_pylist() if row["status"] == "known"]
    assert [(row["path"], row["file_key"]) for row in known] == [(first.path, 100)]
    keys = read.batch.tables["files"]["file_key"].to_pylist()
    assert len(set(keys)) == len(keys) and min(keys) == 100


def test_a_files_modification_time_is_kept_to_the_microsecond_by_both_routes(tmp_path: Path) -> None:
    paths = _write_corpus(tmp_path / "in", 20)
    for path in paths:  # 2023-11-14 22:13:20.123456789 UTC: a float of seconds rounds it up
        os.utime(path, ns=(1_700_000_000_123_456_789, 1_700_000_000_123_456_789))
    exact = datetime(2023, 11, 14, 22, 13, 20, 123456)
    known = parse_file(paths[0])
    read = read_row_lists(paths, known={known.sha256})
    assert {row["status"] for row in read.batch.tables["files"].to_pylist()} == {"known", "ingested"}
    assert set(read.batch.tables["files"]["file_modified_at"].to_pylist()) == {exact}
    assert {parse_file(path).modified_at for path in paths} == {exact}


def _warehouse(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            "files": con.execute(
                "SELECT path, status, format, category, record_count, error, results_sha256, size_bytes "
                "FROM source_files ORDER BY path"
            ).fetchall(),
            "quarantine": sorted(
                con.execute(
                    "SELECT f.path, q.record_locator, q.field, q.reason FROM quarantine q "
                    "JOIN source_files f USING (file_id)"
                ).fetchall()
            ),
            "results": sorted(
                con.execute(
                    "SELECT f.path, m.model_name, m.display_name, h.platform_key, h.fingerprint, r.* "
                    "EXCLUDE (result_id, run_id, model_id, hardware_id, source_file_id, created_at) "
                    "FROM performance_results r JOIN source_files f ON f.file_id = r.source_file_id "
                    "JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)"
                ).fetchall(),
                key=repr,
            ),
            "runs": sorted(
                con.execute(
                    "SELECT * EXCLUDE (run_id, source_file_id, created_at) FROM test_runs"
                ).fetchall(),
                key=repr,
            ),
            "models": con.execute(
                "SELECT * EXCLUDE (model_id, created_at) FROM models ORDER BY model_name"
            ).fetchall(),
            "platforms": con.execute(
                "SELECT * EXCLUDE (hardware_id, created_at) FROM hardware_platforms ORDER BY platform_key"
            ).fetchall(),
        }
    finally:
        con.close()


@pytest.mark.slow
def test_an_ingest_by_columns_stores_what_one_file_by_file_stores(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    _write_corpus(folder, 1500)
    # the same results again under another name: stored once, the copy a duplicate
    (folder / "zz_copy.json").write_bytes((folder / "run_0007.json").read_bytes().replace(b"[", b"[ ", 1))
    by_columns = ingest(tmp_path / "columns.duckdb", [folder], columnar_from=1, batch_files=700, workers=2)
    by_file = ingest(tmp_path / "files.duckdb", [folder], columnar_from=10**9, batch_files=700, workers=2)
    assert by_columns.summary() == by_file.summary()
    assert _warehouse(tmp_path / "columns.duckdb") == _warehouse(tmp_path / "files.duckdb")
    formats = dict(by_columns.by_format())
    assert formats["performance_rows"][0] > 1000
    again = ingest(tmp_path / "columns.duckdb", [folder], columnar_from=1, workers=2)
    assert again.count("known") == again.files
