"""One spelling per device: the spellings files use become one platform, also in a warehouse
that stored them apart before (migration 8)."""

from __future__ import annotations

import json

import pytest

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.device_names import norm_device_name
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION, ensure_schema
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import query
from benchdb_pipeline_tests.test_cli import benchdb

NOW = "2025-01-01 00:00:00"


@pytest.mark.parametrize(
    ("spellings", "canonical"),
    [
        (["A100", "NVIDIA A100", "nvidia a100", " NVIDIA  A100 "], "NVIDIA A100"),
        (["A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"], "NVIDIA A100-SXM4-80GB"),
        (
            ["RTX 3090", "NVIDIA RTX 3090", "GeForce RTX 3090", "NVIDIA GeForce RTX 3090"],
            "NVIDIA GeForce RTX 3090",
        ),
        (["Tesla T4", "T4", "NVIDIA T4"], "NVIDIA T4"),
        (["MI250X", "Instinct MI250X", "AMD Instinct MI250X"], "AMD Instinct MI250X"),
        (
            ["i9-12900K", "Intel Core i9-12900K", "12th Gen Intel(R) Core(TM) i9-12900K"],
            "Intel Core i9-12900K",
        ),
        (["Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", "Xeon Platinum 8380"], "Intel Xeon Platinum 8380"),
        (["AMD Ryzen 9 5950X 16-Core Processor", "Ryzen 9 5950X"], "AMD Ryzen 9 5950X"),
        (["Apple M2 Pro", "M2 Pro"], "Apple M2 Pro"),
    ],
)
def test_spellings_of_one_device_become_one(spellings, canonical):
    assert {norm_device_name(s) for s in spellings} == {canonical}


@pytest.mark.parametrize(
    "distinct",
    [
        ["NVIDIA A100", "NVIDIA A100-SXM4-80GB", "NVIDIA A10", "NVIDIA A10G"],  # models and memory
        ["NVIDIA RTX 6000 Ada", "NVIDIA GeForce RTX 3090", "NVIDIA RTX A6000"],  # not GeForce: 6000, A6000
        ["Sample CPU (simulated, 16 cores)", "Test CPU 9000", "TPU v4"],  # unknown names: only trimmed
    ],
)
def test_different_devices_stay_apart(distinct):
    assert [norm_device_name(name) for name in distinct] == distinct


def _result(device: str, latency: float) -> dict:
    return {
        "model_name": "bert-base-uncased",
        "hardware_type": "cuda",
        "device_name": device,
        "batch_size": 8,
        "precision": "fp16",
        "average_latency_ms": latency,
        "throughput_items_per_second": 8000 / latency,
    }


def test_files_spelling_one_device_two_ways_share_its_platform(db, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps([_result("A100", 10.0)]))
    (folder / "b.json").write_text(json.dumps([_result("NVIDIA A100", 11.0)]))
    report = ingest(db, [folder])
    assert not report.quarantined
    assert query(db, "SELECT platform_key, device_name FROM hardware_platforms") == [
        ("cuda|NVIDIA A100", "NVIDIA A100")
    ]
    assert query(db, "SELECT count(DISTINCT hardware_id), count(*) FROM performance_results") == [(1, 2)]
    # Asked for in either spelling, the device is found (its latest result: the report's rows).
    for spelling in ("a100", "NVIDIA A100"):
        shown = benchdb("query", "--report", "performance", "--device", spelling, "--format", "csv", db=db)
        assert shown.returncode == 0 and shown.stdout.count("NVIDIA A100") == 1, shown.stdout + shown.stderr
    ask = ("predict", "--model", "bert-base-uncased", "--hardware", "cuda", "--device", "A100")
    answer = benchdb(*ask, "--batch-size", "8", "--precision", "fp16", db=db)
    assert answer.returncode == 0 and "was measured" in answer.stdout, answer.stdout + answer.stderr


def _version_7_warehouse(db) -> dict[str, int]:
    """Two platforms for one A100 (one per spelling), a fact and a regression on each, an
    unused platform spelled the old way, and an unused third spelling of the A100."""
    with session(db) as con:
        ensure_schema(con, up_to=7)
        model = con.execute(
            f"INSERT INTO models (model_name, created_at) VALUES ('m', '{NOW}') RETURNING model_id"
        ).fetchone()[0]
        ids = {}
        for device in ("A100", "NVIDIA A100", "Tesla T4", "nvidia a100"):
            ids[device] = con.execute(
                "INSERT INTO hardware_platforms (platform_key, fingerprint, hardware_type, device_name, "
                f"created_at) VALUES (?, 'f', 'cuda', ?, '{NOW}') RETURNING hardware_id",
                [f"cuda|{device}", device],
            ).fetchone()[0]
        for run, device in enumerate(("A100", "NVIDIA A100"), start=1):
            con.execute(
                "INSERT INTO test_runs (run_key, test_name, test_type, metadata, created_at) "
                f"VALUES (?, 't', 'performance', '{{}}', '{NOW}')",
                [f"k{run}"],
            )
            result = con.execute(
                "INSERT INTO performance_results (run_id, model_id, hardware_id, average_latency_ms, "
                f"created_at) VALUES (?, ?, ?, 1.0, '{NOW}') RETURNING result_id",
                [run, model, ids[device]],
            ).fetchone()[0]
            con.execute(
                "INSERT INTO performance_regressions (model_name, platform_key, metric, candidate_result_id, "
                "candidate_run_id, candidate_value, baseline_median, baseline_points, change_percent, "
                "direction, severity, method, detected_at) VALUES ('m', ?, 'latency', ?, ?, "
                f"2.0, 1.0, 5, 100, 'regression', 'major', 'robust-z', '{NOW}')",
                [f"cuda|{device}", result, run],
            )
        return ids


def test_migration_merges_platforms_that_spelled_one_device_two_ways(db):
    ids = _version_7_warehouse(db)
    with session(db) as con:
        assert ensure_schema(con) == SCHEMA_VERSION - 7
    assert query(db, "SELECT hardware_id, platform_key, device_name FROM hardware_platforms ORDER BY 1") == [
        (ids["NVIDIA A100"], "cuda|NVIDIA A100", "NVIDIA A100"),
        (ids["Tesla T4"], "cuda|NVIDIA T4", "NVIDIA T4"),  # unused: renamed in place
    ]  # the unused "nvidia a100" is deleted: its key is the A100's
    assert query(db, "SELECT DISTINCT hardware_id FROM performance_results") == [(ids["NVIDIA A100"],)]
    assert query(db, "SELECT DISTINCT platform_key FROM performance_regressions") == [("cuda|NVIDIA A100",)]
    assert query(db, "SELECT count(*) FROM performance_results") == [(2,)]
