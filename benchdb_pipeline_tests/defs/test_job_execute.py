"""`dagster job execute` as CI runs it: a subprocess, paths by run config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchdb_pipeline_tests.conftest import REPO, scalar

DAGSTER = Path(sys.executable).parent / "dagster"


def test_dagster_job_execute_ingests_configured_paths(tmp_path, fixture_copy):
    folder = fixture_copy("canonical_rows.json", "critical_tests.json", "bad_zero_batch.json")
    config = tmp_path / "run.yaml"
    config.write_text(f"ops:\n  raw_result_files:\n    config:\n      paths: ['{folder}']\n")
    db = tmp_path / "ci.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["BENCHDB_DB"] = str(db)
    result = subprocess.run(
        [str(DAGSTER), "job", "execute", "-m", "benchdb_pipeline.definitions", "-j", "ingest_job",
         "-c", str(config)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stderr + result.stdout
    assert scalar(db, "SELECT count(*) FROM performance_results") == 3
    assert scalar(db, "SELECT count(*) FROM integration_test_results") == 2
    assert scalar(db, "SELECT count(*) FROM source_files WHERE status = 'quarantined'") == 1
