"""`dagster job execute` as CI runs it: a subprocess, paths by run config."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchdb_pipeline_tests.conftest import FIXTURES, REPO, RUNNER_MISSING, query, scalar

DAGSTER = Path(sys.executable).parent / "dagster"


def execute_job(job: str, config: Path | None, env: dict, timeout: int = 300) -> subprocess.CompletedProcess:
    """`dagster job execute` as CI runs it, from the repository root."""
    return subprocess.run(
        [str(DAGSTER), "job", "execute", "-m", "benchdb_pipeline.definitions", "-j", job]
        + (["-c", str(config)] if config else []),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


pytestmark = pytest.mark.slow


def test_dagster_job_execute_ingests_configured_paths(tmp_path, fixture_copy):
    folder = fixture_copy("canonical_rows.json", "critical_tests.json", "bad_zero_batch.json")
    config = tmp_path / "run.yaml"
    config.write_text(f"ops:\n  raw_result_files:\n    config:\n      paths: ['{folder}']\n")
    db = tmp_path / "ci.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env["BENCHDB_DB"] = str(db)
    result = execute_job("ingest_job", config, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "RUN_SUCCESS" in result.stderr + result.stdout
    assert scalar(db, "SELECT count(*) FROM performance_results") == 3
    assert scalar(db, "SELECT count(*) FROM integration_test_results") == 2
    assert scalar(db, "SELECT count(*) FROM source_files WHERE status = 'quarantined'") == 1


def test_benchmark_job_measures_ingests_and_reports(tmp_path):
    pytest.importorskip("torch", reason=RUNNER_MISSING)
    pytest.importorskip(
        "transformers",
        reason=RUNNER_MISSING,
    )
    config = tmp_path / "bench.yaml"
    config.write_text(
        "ops:\n  benchmark_results:\n    config:\n"
        "      models: [bert-tiny]\n      hardware: [cpu]\n      batch_sizes: [1, 2]\n"
        "      precisions: [fp32]\n      iterations: 3\n      warmup: 1\n      sequence_length: 8\n"
    )
    db, incoming, reports = tmp_path / "w.duckdb", tmp_path / "incoming", tmp_path / "reports"
    # A file waiting in the watched folder belongs to the sensor's runs, not to this one.
    incoming.mkdir()
    shutil.copy(FIXTURES / "canonical_rows.json", incoming)
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(BENCHDB_DB=str(db), BENCHDB_INCOMING=str(incoming), BENCHDB_REPORTS=str(reports))
    result = execute_job("benchmark_job", config, env, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    written = list((tmp_path / "runs").glob("benchdb_run_*.json"))
    assert len(written) == 1 and not list(incoming.rglob("benchdb_run_*.json"))
    assert query(db, "SELECT path FROM source_files") == [(str(written[0]),)]
    assert scalar(db, "SELECT count(*) FROM performance_results") == 2
    assert scalar(db, "SELECT count(*) FROM performance_samples") == 6
    assert scalar(db, "SELECT bool_or(is_simulated) FROM test_runs") is False
    assert (reports / "benchmark_report.html").exists()


def _ingest_job(tmp_path: Path, incoming: Path) -> tuple[subprocess.CompletedProcess, Path]:
    db = tmp_path / "w.duckdb"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    env.update(BENCHDB_DB=str(db), BENCHDB_INCOMING=str(incoming), BENCHDB_REPORTS=str(tmp_path / "reports"))
    return execute_job("ingest_job", None, env), db


def test_ingest_job_succeeds_on_the_old_systems_corpus(tmp_path, corpus):
    """Real files with partial data (types with only latency, one batch size) draw what exists."""
    result, db = _ingest_job(tmp_path, corpus)
    assert result.returncode == 0, result.stderr[-3000:]
    assert scalar(db, "SELECT count(*) FROM source_files WHERE status = 'quarantined'") == 0
    charts = list((tmp_path / "reports" / "hardware").glob("*.png"))
    assert {p.name.split("_", 1)[0] for p in charts} == {"throughput", "latency"}
    assert (tmp_path / "reports" / "benchmark_report.html").exists()


def test_ingest_job_succeeds_on_an_empty_folder(tmp_path):
    empty = tmp_path / "incoming"
    empty.mkdir()
    result, db = _ingest_job(tmp_path, empty)
    assert result.returncode == 0, result.stderr[-3000:]
    assert scalar(db, "SELECT count(*) FROM performance_results") == 0
    assert (tmp_path / "reports" / "benchmark_report.html").stat().st_size > 0


def test_ingest_job_on_the_lake_keeps_its_run_in_postgres(lake, postgres_server, tmp_path, fixture_copy):
    """The lake as the warehouse and Dagster's instance in PostgreSQL (deploy/lake/dagster.yaml)."""
    import psycopg2

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "lake" / "dagster.yaml", home)
    dsn = postgres_server.create_database(f"dagster_{tmp_path.name[-20:].lower()}")
    fields = dict(part.split("=", 1) for part in dsn.split())
    folder = fixture_copy("canonical_rows.json", "critical_tests.json", "bad_zero_batch.json")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "BENCHDB_BACKEND": "ducklake",
        "BENCHDB_INCOMING": str(folder),
        "BENCHDB_REPORTS": str(tmp_path / "reports"),
        "DAGSTER_PG_URL": f"postgresql+psycopg2://{fields['user']}@127.0.0.1:{fields['port']}/{fields['dbname']}",
    }
    result = execute_job("ingest_job", None, env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert scalar(lake, "SELECT count(*) FROM performance_results") == 3
    assert scalar(lake, "SELECT count(*) FROM source_files WHERE status = 'quarantined'") == 1
    # The nightly maintenance on the lake: compaction, checks, a backup verified by a restore.
    env["BENCHDB_BACKUPS"] = str(tmp_path / "backups")
    maintenance = execute_job("maintenance_job", None, env)
    assert maintenance.returncode == 0, maintenance.stderr[-3000:]
    (backup,) = (tmp_path / "backups").glob("benchdb-backup-*")
    assert (backup / "catalog.sql").stat().st_size > 0
    with psycopg2.connect(dsn) as pg, pg.cursor() as cursor:
        cursor.execute("SELECT pipeline_name, status FROM runs ORDER BY create_timestamp")
        assert cursor.fetchall() == [("ingest_job", "SUCCESS"), ("maintenance_job", "SUCCESS")]
        # on the lake the steps ran in processes of their own
        cursor.execute("SELECT count(*) FROM event_logs WHERE event LIKE '%%multiprocess executor%%'")
        assert cursor.fetchone()[0] == 2
