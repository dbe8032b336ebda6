"""``pytest --benchdb-store``: a real pytest run with pytest-benchmark stores its results in a
folder, a warehouse, or a running server; a failure to store fails the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchdb_pipeline_tests.api.conftest import TOKEN, wait_for
from benchdb_pipeline_tests.conftest import ingest_one, query, run_pytest
from benchdb_pipeline_tests.ingest.test_harnesses import PYTEST_BENCHMARK_TEST


def run_benchmarks(folder: Path, *options: str) -> subprocess.CompletedProcess:
    test = folder / "test_speed.py"
    test.write_text(PYTEST_BENCHMARK_TEST)
    return run_pytest(folder, test, *options, check=False)


def test_store_into_a_folder_writes_a_file_the_adapter_reads(tmp_path, db):
    out = tmp_path / "incoming"
    result = run_benchmarks(tmp_path, "--benchdb-store", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "benchdb: 3 benchmark results written to" in result.stdout
    files = list(out.glob("pytest_benchmark_*.json"))
    assert len(files) == 1
    assert ingest_one(db, files[0]).count("ingested") == 1
    assert query(db, "SELECT count(*) FROM performance_results") == [(3,)]
    assert query(db, "SELECT DISTINCT format FROM source_files") == [("pytest_benchmark",)]


def test_store_into_a_warehouse_ingests_at_once(tmp_path):
    db = tmp_path / "bench.duckdb"
    result = run_benchmarks(tmp_path, "--benchdb-store", str(db))
    assert result.returncode == 0, result.stdout + result.stderr
    assert query(db, "SELECT count(*), count(DISTINCT test_case) FROM performance_results") == [(3, 3)]
    assert query(db, "SELECT count(*) > 9 FROM performance_samples") == [(True,)]


def test_store_to_a_server_posts_the_results(tmp_path, server):
    result = run_benchmarks(tmp_path, "--benchdb-store", server.url, "--benchdb-token", TOKEN)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "sent to" in result.stdout
    with server.client(None) as client:
        wait_for(lambda: client.get("/performance").json()["count"] == 3, what="the results in a snapshot")


def test_a_refused_store_fails_the_run(tmp_path, server):
    result = run_benchmarks(tmp_path, "--benchdb-store", server.url, "--benchdb-token", "wrong")
    assert result.returncode == pytest.ExitCode.INTERNAL_ERROR
    assert "could not store the benchmark results" in result.stdout and "401" in result.stdout


def test_a_failure_without_a_terminal_reporter_is_still_said(tmp_path):
    """With ``-p no:terminal`` there is no reporter; the message goes to stderr."""
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "test_plain.py").write_text("def test_nothing():\n    pass\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:terminal",
            "-p",
            "no:benchmark",
            "-o",
            "addopts=",
            "--rootdir",
            str(folder),
            "--benchdb-store",
            str(tmp_path / "out"),
            str(folder / "test_plain.py"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "TypeError" not in result.stderr, result.stderr
    assert "--benchdb-store needs pytest-benchmark" in result.stderr
    assert result.returncode == pytest.ExitCode.INTERNAL_ERROR
