"""The `benchdb` command as users run it: a subprocess, with exit codes and output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchdb_pipeline.samples import sample_documents
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION
from benchdb_pipeline_tests.conftest import scalar

SCRIPT = Path(sys.executable).parent / "benchdb"
COMMANDS = (
    ["schema"],
    ["schema", "create"],
    ["ingest"],
    ["query"],
    ["status"],
    ["quarantine"],
    ["samples"],
    ["run"],
    ["serve"],
    ["maintenance"],
    ["ci-integrate"],
    ["export"],
)


def benchdb(
    *args: str, db: Path | None = None, cwd: Path | None = None, lock_timeout: float = 5
) -> subprocess.CompletedProcess:
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "benchdb_pipeline.cli"]
    env = {**os.environ, "BENCHDB_LOCK_TIMEOUT": str(lock_timeout)}
    if db is not None:
        env["BENCHDB_DB"] = str(db)
    return subprocess.run(command + list(args), capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


def test_help_on_every_command():
    top = benchdb("--help")
    assert top.returncode == 0 and "Exit status" in top.stdout
    for command in COMMANDS:
        result = benchdb(*command, "--help")
        assert result.returncode == 0, command
        assert "Usage:" in result.stdout and "--help" in result.stdout


@pytest.mark.parametrize(
    "command",
    [
        *(
            ["maintenance", operation]
            for operation in (
                "--optimize-db",
                "--vacuum",
                "--fix-inconsistencies",
                "--backup",
                "--archive-data",
            )
        ),
        ["regression-check", "--run", "1"],
        ["regressions", "ack", "1", "--status", "expected"],
    ],
    ids=" ".join,
)
def test_commands_that_write_refuse_a_warehouse_that_is_not_there(db, tmp_path, command):
    """A mistyped --db is an error, not an empty warehouse made and then worked on."""
    backups = ["--backup-dir", str(tmp_path / "b")] if command[0] == "maintenance" else []
    result = benchdb(*command, "--db", str(db), *backups)
    assert result.returncode == 2, result.stderr
    assert f"DB001: database {db} does not exist" in result.stderr
    assert "Traceback" not in result.stderr and not db.parent.exists(), "a file or its folder was made"
    assert not list((tmp_path / "b").glob("*")), "a backup of nothing was left behind"


def test_schema_create_then_status(db):
    created = benchdb("schema", "create", "--db", str(db))
    assert created.returncode == 0 and f"schema at version {SCHEMA_VERSION}" in created.stdout
    status = benchdb("status", "--format", "json", db=db)
    report = json.loads(status.stdout)
    assert report["schema_version"] == SCHEMA_VERSION and report["tables"]["performance_results"] == 0


def test_status_reads_an_older_schema_and_says_so(db):
    from benchdb_pipeline.warehouse.schema import ensure_schema
    from benchdb_pipeline.warehouse.store import session

    with session(db) as con:
        ensure_schema(con, up_to=SCHEMA_VERSION - 1)
    status = benchdb("status", db=db)
    assert status.returncode == 0, status.stderr
    assert f"migrates it to {SCHEMA_VERSION} on its next write" in status.stdout


def test_ingest_exit_codes(db, fixture_copy):
    good = fixture_copy("canonical_rows.json", "direct_benchmark.json", folder="good")
    ok = benchdb("ingest", str(good), "--db", str(db))
    assert ok.returncode == 0, ok.stderr
    assert "2 files; 2 ingested" in ok.stdout and "4 performance_results" in ok.stdout
    bad = fixture_copy("bad_zero_batch.json", "critical_tests.json", folder="mixed")
    some = benchdb("ingest", "--input-dir", str(bad), "--incremental", "--db", str(db))
    assert some.returncode == 1
    assert "quarantined:" in some.stdout and "field 'batch_size'" in some.stdout
    missing = benchdb("ingest", str(bad / "nope.json"), "--db", str(db))
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    usage = benchdb("ingest", "--db", str(db))
    assert usage.returncode == 2 and "give at least one PATH" in usage.stderr


def test_old_spellings_and_dry_run(db, fixture_copy):
    folder = fixture_copy("canonical_rows.json")
    dry = benchdb("ingest", "--scan-dir", str(folder), "--dry-run", "--db", str(db))
    assert dry.returncode == 0 and "dry run, nothing stored" in dry.stdout
    assert not db.exists()
    one = benchdb("ingest", "--input-file", str(folder / "canonical_rows.json"), "--db", str(db))
    assert one.returncode == 0
    assert scalar(db, "SELECT count(*) FROM performance_results") == 3


def test_a_folder_for_a_pool_is_parsed_by_the_fork_server_started_first(db, tmp_path):
    """`benchdb ingest DIR` starts its parsing pool's fork server before it imports its own
    modules (``launch``): the pool it makes later is served by it."""
    from benchdb_pipeline.ingest.pipeline import POOL_THRESHOLD

    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(POOL_THRESHOLD + 10):
        row = {"model_name": "gpt2", "hardware_type": "cpu", "batch_size": 1 + i, "latency_ms": 2.5}
        (folder / f"r{i}.json").write_text(json.dumps([{**row, "timestamp": "2026-01-02T03:04:05"}]))
    done = benchdb("ingest", str(folder), "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert f"{POOL_THRESHOLD + 10} ingested" in done.stdout
    assert scalar(db, "SELECT count(*) FROM performance_results") == POOL_THRESHOLD + 10


def test_query_formats_and_errors(db, fixture_copy):
    benchdb("ingest", str(fixture_copy("canonical_rows.json")), "--db", str(db))
    sql = "SELECT model_name, batch_size FROM latest_performance_metrics ORDER BY 1, 2"
    table = benchdb("query", "--sql", sql, db=db)
    assert table.returncode == 0 and "bert-base-uncased" in table.stdout and "(3 rows)" in table.stdout
    as_json = json.loads(benchdb("query", "--sql", sql, "--format", "json", db=db).stdout)
    assert as_json[0] == {"model_name": "bert-base-uncased", "batch_size": 4}
    csv = benchdb("query", "--sql", sql, "--format", "csv", db=db).stdout.splitlines()
    assert csv[0] == "model_name,batch_size" and csv[-1] == "t5-small,1"
    markdown = benchdb("query", "--sql", sql, "--format", "markdown", db=db).stdout
    assert markdown.startswith("| model_name | batch_size |\n| --- | --- |")
    broken = benchdb("query", "--sql", "SELEKT 1", db=db)
    assert broken.returncode == 2 and "DB004" in broken.stderr
    readonly = benchdb("query", "--sql", "DELETE FROM models", db=db)
    assert readonly.returncode == 2 and "read-only" in readonly.stderr.lower()


def test_missing_database_is_a_connection_error(tmp_path):
    result = benchdb("status", db=tmp_path / "absent.duckdb")
    assert result.returncode == 2 and "DB001" in result.stderr


def test_quarantine_lists_reasons(db, fixture_copy):
    benchdb("ingest", str(fixture_copy("bad_negative_throughput.json", "bad_not_json.json")), "--db", str(db))
    listing = benchdb("quarantine", "--format", "json", db=db)
    problems = json.loads(listing.stdout)
    assert {(Path(p["path"]).name, p["record"], p["field"]) for p in problems} == {
        ("bad_negative_throughput.json", "$[1]", "throughput"),
        ("bad_not_json.json", None, None),
    }
    table = benchdb("quarantine", db=db).stdout
    longest = max((p["reason"] for p in problems), key=len)
    assert len(longest) > 60 and longest in table  # reasons are never cut


def test_schema_create_with_sample_data(tmp_path):
    db = tmp_path / "wh" / "bench.duckdb"
    result = benchdb("schema", "create", "--db", str(db), "--sample-data")
    assert result.returncode == 0, result.stderr
    assert "sample data (simulated)" in result.stdout
    assert (tmp_path / "wh" / "samples" / "nightly" / "run_01.json").exists()
    assert scalar(db, "SELECT count(*) FROM test_runs WHERE NOT is_simulated") == 0
    assert scalar(db, "SELECT count(*) FROM performance_results") > 100


def test_samples_command_writes_the_generator_output(tmp_path):
    result = benchdb("samples", "--output-dir", str(tmp_path / "s"))
    assert result.returncode == 0 and "simulated" in result.stdout
    assert len(list((tmp_path / "s").rglob("*.json"))) == len(sample_documents())


@pytest.mark.skipif(shutil.which("script") is None, reason="needs script(1) for a terminal")
def test_progress_bar_on_a_terminal(db, fixture_copy):
    folder = fixture_copy("canonical_rows.json")
    command = f"stty cols 120 rows 40; {SCRIPT} ingest {folder} --db {db}"
    result = subprocess.run(
        ["script", "-qec", command, "/dev/null"], capture_output=True, text=True, timeout=120
    )
    assert "ingest: 100%" in result.stdout and "1/1" in result.stdout


def test_ingest_says_how_many_other_files_it_skipped(db, fixture_copy):
    folder = fixture_copy("canonical_rows.json")
    (folder / "notes.txt").write_text("not a result")
    (folder / "half.json.part").write_text("{")
    done = benchdb("ingest", str(folder), "--db", str(db), "-q")
    assert done.returncode == 0, done.stderr
    assert "2 files skipped: not *.json" in done.stdout


def test_progress_is_written_as_lines_where_no_terminal_shows_a_bar(db, fixture_copy):
    """CI logs and Dagster see how far a long command got (stderr is a pipe here)."""
    folder = fixture_copy("canonical_rows.json", "direct_benchmark.json")
    result = benchdb("ingest", str(folder), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "ingest: 2 of 2 files (100 %)" in result.stderr
    assert "ingest:" not in benchdb("ingest", str(folder), "--db", str(db), "-q").stderr
