"""`dagster job execute -j maintenance_job`, as a scheduler or an operator runs it."""

from __future__ import annotations

import os
import subprocess

import duckdb

from benchdb_pipeline.maintenance import backup as backups
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline_tests.conftest import REPO, ingest_one
from benchdb_pipeline_tests.defs.test_job_execute import DAGSTER


def _execute(db, backup_dir, tmp_path) -> subprocess.CompletedProcess:
    config = tmp_path / "maintenance.yaml"
    options = f"{{config: {{backup_dir: '{backup_dir}', retention_days: 30}}}}"
    config.write_text(f"ops:\n  back_up_warehouse: {options}\n  purge_old_backups: {options}\n")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["BENCHDB_DB"] = str(db)
    return subprocess.run([str(DAGSTER), "job", "execute", "-m", "benchdb_pipeline.definitions",
                           "-j", "maintenance_job", "-c", str(config)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_maintenance_job_backs_up_a_healthy_warehouse(db, tmp_path):
    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    result = _execute(db, tmp_path / "backups", tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (folder, manifest), = backups.backups(tmp_path / "backups")
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
        run_config={"ops": {"clean_result_files": {"config": {
            "json_dir": str(folder), "older_than_days": 0, "archive_dir": str(tmp_path / "archive")}}}},
        resources={"warehouse": WarehouseResource(database=str(db))})
    assert result.success
    assert (tmp_path / "archive" / "canonical_rows.json").exists()
    assert [p.name for p in folder.iterdir()] == ["bad_zero_batch.json"]  # quarantined: kept
