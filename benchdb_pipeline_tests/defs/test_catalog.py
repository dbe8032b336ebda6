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
