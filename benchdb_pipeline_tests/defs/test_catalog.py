"""Writes outside Dagster show in its catalog: runless materializations with row counts."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg

from benchdb_pipeline.defs.catalog import record_outside_write, recorded_row_count
from benchdb_pipeline_tests.conftest import FIXTURES, scalar

BENCHDB = os.path.join(os.path.dirname(sys.executable), "benchdb")


def test_cli_ingest_records_the_tables_it_changed(tmp_path, fixture_copy):
    home = tmp_path / "dagster_home"
    home.mkdir()
    db = tmp_path / "w.duckdb"
    folder = fixture_copy("canonical_rows.json", "critical_tests.json")
    env = {**os.environ, "DAGSTER_HOME": str(home), "BENCHDB_DB": str(db)}
    done = subprocess.run([BENCHDB, "ingest", "-q", str(folder)], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for table in ("performance_results", "integration_test_results", "source_files", "models"):
            assert recorded_row_count(instance, table) == scalar(db, f"SELECT count(*) FROM {table}")
            event = instance.get_latest_materialization_event(dg.AssetKey(table))
            assert event.run_id == ""  # runless: no Dagster run wrote it
            assert event.asset_materialization.metadata["written by"].value == "benchdb ingest"
        # Tables the ingest did not touch get no event.
        assert instance.get_latest_materialization_event(dg.AssetKey("web_platform_results")) is None


def test_an_unchanged_warehouse_records_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    db = tmp_path / "w.duckdb"
    from benchdb_pipeline.ingest.pipeline import ingest

    ingest(db, [FIXTURES / "canonical_rows.json"], workers=1)
    assert "performance_results" in record_outside_write(db, "test")
    assert record_outside_write(db, "test") == []


def test_python_api_and_orm_writes_are_recorded_too(tmp_path, monkeypatch):
    """Both reach the catalog through the write listener this package registers (an entry
    point), as the CLI and the REST server do."""
    from benchdb_pipeline.api.orm import BenchmarkDB, PerformanceResults, TestRuns
    from benchdb_pipeline.api.python_api import BenchmarkDBAPI

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    db = tmp_path / "w.duckdb"
    api = BenchmarkDBAPI(db, spool_dir=tmp_path / "spool")
    assert api.store_performance_result("bert-base-uncased", "cpu", throughput=10.0)["status"] == "stored"
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("performance_results"))
        assert event.asset_materialization.metadata["written by"].value == "benchdb Python API"
        assert recorded_row_count(instance, "performance_results") == 1
    with BenchmarkDB(db, spool_dir=tmp_path / "spool") as session:
        model = session.get_or_add_model("bert-base-uncased")
        cpu = session.get_or_add_hardware("cpu")
        run = session.insert_test_runs(TestRuns(test_name="orm"))
        session.insert_performance_results(
            PerformanceResults(
                run_id=run, model_id=model, hardware_id=cpu, batch_size=2, average_latency_ms=5.0
            )
        )
    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey("performance_results"))
        assert event.asset_materialization.metadata["written by"].value == "benchdb Python API (BenchmarkDB)"
        assert (
            recorded_row_count(instance, "performance_results")
            == 2
            == scalar(db, "SELECT count(*) FROM performance_results")
        )
