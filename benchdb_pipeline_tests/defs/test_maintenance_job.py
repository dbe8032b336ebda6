"""`dagster job execute -j maintenance_job`, as a scheduler or an operator runs it."""

from __future__ import annotations

import os
import subprocess

import duckdb

from benchdb_pipeline.maintenance import backup as backups
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline_tests.conftest import ingest_one
from benchdb_pipeline_tests.defs.test_job_execute import execute_job


def _execute(db, backup_dir, tmp_path) -> subprocess.CompletedProcess:
    config = tmp_path / "maintenance.yaml"
    options = f"{{config: {{backup_dir: '{backup_dir}', retention_days: 30}}}}"
    config.write_text(f"ops:\n  back_up_warehouse: {options}\n  purge_old_backups: {options}\n")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["BENCHDB_DB"] = str(db)
    return execute_job("maintenance_job", config, env)


def test_maintenance_job_backs_up_a_healthy_warehouse(db, tmp_path):
    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    result = _execute(db, tmp_path / "backups", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    ((folder, manifest),) = backups.backups(tmp_path / "backups")
    assert backups.verify(folder).rows == manifest.rows


def test_a_failed_integrity_check_stops_before_backup_and_purge(db, tmp_path):
    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO performance_samples VALUES (999999, 0, 1.0)")
    con.close()
    result = _execute(db, tmp_path / "backups", tmp_path)
    assert result.returncode != 0
    assert "integrity check failed" in result.stderr + result.stdout
    assert backups.backups(tmp_path / "backups") == []


def test_clean_json_job_archives_what_the_warehouse_holds(db, fixture_copy, tmp_path):
    from benchdb_pipeline.definitions import defs
    from benchdb_pipeline.defs.resources import WarehouseResource

    folder = fixture_copy("canonical_rows.json", "bad_zero_batch.json")
    ingest_one(db, folder)
    result = defs.resolve_job_def("clean_json_job").execute_in_process(
        run_config={
            "ops": {
                "clean_result_files": {
                    "config": {
                        "json_dir": str(folder),
                        "older_than_days": 0,
                        "archive_dir": str(tmp_path / "archive"),
                    }
                }
            }
        },
        resources={"warehouse": WarehouseResource(database=str(db))},
    )
    assert result.success
    assert (tmp_path / "archive" / "canonical_rows.json").exists()
    assert [p.name for p in folder.iterdir()] == ["bad_zero_batch.json"]  # quarantined: kept


def test_archive_job_archives_old_rows_with_its_figures_as_metadata(db, tmp_path):
    from benchdb_pipeline.definitions import defs
    from benchdb_pipeline.defs.resources import WarehouseResource

    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    result = defs.resolve_job_def("archive_job").execute_in_process(
        run_config={
            "ops": {
                "archive_old_fact_rows": {
                    "config": {"archive_dir": str(tmp_path / "archive"), "older_than_days": 0}
                }
            }
        },
        resources={"warehouse": WarehouseResource(database=str(db))},
    )
    assert result.success
    (materialization,) = [e for e in result.all_node_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = materialization.event_specific_data.metadata
    assert metadata["rows_archived"].value > 0
    assert list((tmp_path / "archive").glob("performance_results/year=*/month=*/*.parquet"))


def test_maintenance_runs_nightly_and_archiving_weekly_all_in_the_pool():
    from benchdb_pipeline.definitions import defs
    from benchdb_pipeline.defs.resources import WAREHOUSE_POOL

    nightly = defs.resolve_schedule_def("maintenance_job_schedule")
    weekly = defs.resolve_schedule_def("archive_job_schedule")
    assert (nightly.cron_schedule, nightly.execution_timezone) == ("0 2 * * *", "UTC")
    assert (weekly.cron_schedule, weekly.execution_timezone) == ("0 4 * * 0", "UTC")
    assert weekly.description.startswith("Weekly on Sunday at 04:00 UTC")
    for job in ("maintenance_job", "archive_job", "clean_json_job"):
        for node in defs.resolve_job_def(job).graph.node_defs:
            assert node.pool == WAREHOUSE_POOL, (job, node.name)
