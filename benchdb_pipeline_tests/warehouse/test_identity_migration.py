"""Migration 5 splits a platform that mixed hosts, using each run's machine description."""

from __future__ import annotations

import json

from benchdb_pipeline.warehouse.schema import ensure_schema
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import query

NOW = "2025-01-01 00:00:00"


def _version_4_warehouse(db) -> None:
    """What ingestion before migration 5 made of pytest-benchmark files from two hosts: one
    platform 'cpu|Intel Xeon' (the smaller core count won), and each run's machine_info."""
    with session(db) as con:
        ensure_schema(con, up_to=4)
        model = con.execute(
            f"INSERT INTO models (model_name, created_at) VALUES ('m', '{NOW}') RETURNING model_id"
        ).fetchone()[0]
        platform = con.execute(
            "INSERT INTO hardware_platforms (platform_key, hardware_type, device_name, compute_units, "
            f"created_at) VALUES ('cpu|Intel Xeon', 'cpu', 'Intel Xeon', 4, '{NOW}') RETURNING hardware_id"
        ).fetchone()[0]
        for run, (node, cores) in enumerate((("host-a", 4), ("host-b", 16)), start=1):
            metadata = json.dumps(
                {
                    "harness": "pytest-benchmark",
                    "machine_info": {"node": node, "cpu": {"count": cores, "brand_raw": "Intel Xeon"}},
                }
            )
            run_id = con.execute(
                "INSERT INTO test_runs (run_key, test_name, test_type, metadata, created_at) "
                f"VALUES (?, 't', 'performance', ?, '{NOW}') RETURNING run_id",
                [f"k{run}", metadata],
            ).fetchone()[0]
            assert run_id == run
            con.execute(
                "INSERT INTO performance_results (run_id, model_id, hardware_id, "
                f"average_latency_ms, iterations, created_at) VALUES (?, ?, ?, 1.0, 5, '{NOW}')",
                [run_id, model, platform],
            )
        con.execute(
            "INSERT INTO performance_regressions (model_name, platform_key, metric, candidate_result_id, "
            "candidate_run_id, candidate_value, baseline_median, baseline_points, change_percent, "
            "direction, severity, method, detected_at) VALUES ('m', 'cpu|Intel Xeon', 'latency', 2, 2, "
            f"2.0, 1.0, 5, 100, 'regression', 'major', 'robust-z', '{NOW}')"
        )


def test_migration_splits_hosts_and_keeps_every_row(db):
    _version_4_warehouse(db)
    with session(db) as con:
        assert ensure_schema(con, up_to=5) == 1
    platforms = query(
        db,
        "SELECT platform_key, compute_units, fingerprint IS NOT NULL FROM hardware_platforms "
        "ORDER BY compute_units",
    )
    assert platforms == [("cpu|Intel Xeon|cores=4", 4, True), ("cpu|Intel Xeon|cores=16", 16, True)]
    by_run = dict(
        query(
            db,
            "SELECT run_id, h.compute_units FROM performance_results "
            "JOIN hardware_platforms h USING (hardware_id)",
        )
    )
    assert by_run == {1: 4, 2: 16}
    assert query(db, "SELECT platform_key FROM performance_regressions") == [("cpu|Intel Xeon|cores=16",)]
    assert (
        query(db, "SELECT status, iterations FROM performance_results ORDER BY result_id") == [("ok", 5)] * 2
    )
