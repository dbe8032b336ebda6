"""Archiving old fact rows to Parquet: nothing lost, nothing doubled, whenever it is killed;
queries through the all_* views still see every row."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from benchdb_pipeline.maintenance.archive import PENDING, archive_data
from benchdb_pipeline.reports.queries import HISTORY
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.checks import ALL_CHECKS
from benchdb_pipeline.warehouse.inspect import fact_fingerprints
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import ingest_one, query, scalar
from benchdb_pipeline_tests.test_cli import benchdb

# The synthetic runs are dated 2026-01-01 onwards, a day apart; this splits them.
NOW = datetime(2026, 1, 12)


def every_row(db: Path) -> dict[str, tuple[int, int]]:
    with session(db, read_only=True) as con:
        return fact_fingerprints(con)


def live_and_archived(db: Path, table: str) -> tuple[int, int]:
    return tuple(
        query(db, f"SELECT count(*) FILTER (NOT archived), count(*) FILTER (archived) FROM all_{table}")[0]
    )


def assert_intact(db: Path, archive: Path, before: dict) -> None:
    """Every row once (live or in committed Parquet), every check green, no leftovers."""
    assert every_row(db) == before
    with session(db, read_only=True) as con:
        failed = [c.description for c in (check(con) for check in ALL_CHECKS) if not c.passed]
        committed = {b for (b,) in con.execute("SELECT DISTINCT batch_id FROM archive_batches").fetchall()}
    assert failed == []
    assert not list((archive / PENDING).glob("*"))
    assert {p.name.split("_")[0] for p in archive.glob("*/*/*/*.parquet")} <= committed


@pytest.fixture
def sample_db(warehouse, tmp_path):
    """The samples, on a DuckDB file and on a lake."""
    ingest_one(Path(warehouse), write_samples(tmp_path / "samples")[0].parent.parent)
    return Path(warehouse)


@pytest.fixture
def big_db(db, tmp_path):
    """Samples (with raw per-iteration latencies) and ~23k synthetic results over 12 days."""
    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    with session(db) as con:
        synthetic.fill(
            con,
            synthetic.Shape(
                models=20, platforms=8, batch_sizes=(1, 4, 16), precisions=("fp32", "fp16"), runs=24
            ),
        )
    return db


def test_archived_rows_leave_the_warehouse_and_stay_visible(sample_db, tmp_path):
    archive = tmp_path / "archive"
    before = every_row(sample_db)
    history = scalar(sample_db, f"SELECT count(*) FROM ({HISTORY})")
    report = archive_data(sample_db, archive, 0)
    assert report.rows["performance_results"] == before["performance_results"][0]
    assert report.rows["performance_samples"] > 0
    assert scalar(sample_db, "SELECT count(*) FROM performance_results") == 0
    assert live_and_archived(sample_db, "performance_samples") == (0, before["performance_samples"][0])
    assert scalar(sample_db, f"SELECT count(*) FROM ({HISTORY})") == history  # trends see it all
    months = {p.relative_to(archive).parts[:3] for p in archive.glob("performance_results/*/*/*.parquet")}
    assert months and all(y.startswith("year=") and m.startswith("month=") for _, y, m in months)
    assert_intact(sample_db, archive, before)


def test_rows_newer_than_the_cutoff_stay_and_a_second_folder_adds_to_the_first(big_db, tmp_path):
    before = every_row(big_db)
    archive_data(big_db, tmp_path / "a1", 0, now=NOW)
    live, archived = live_and_archived(big_db, "performance_results")
    assert live and archived
    assert scalar(big_db, "SELECT min(coalesce(measured_at, created_at)) FROM performance_results") >= NOW
    assert (
        scalar(big_db, "SELECT max(coalesce(measured_at, created_at)) FROM archived_performance_results")
        < NOW
    )
    archive_data(big_db, tmp_path / "a2", 0)
    assert live_and_archived(big_db, "performance_results") == (0, live + archived)
    assert every_row(big_db) == before
    assert archive_data(big_db, tmp_path / "a2", 0).batch_id is None  # nothing left: no batch


def test_a_superseded_file_takes_its_archived_rows_with_it(db, fixture_copy, tmp_path):
    folder = fixture_copy("canonical_rows.json")
    (path,) = folder.iterdir()
    original = path.read_text()
    ingest_one(db, folder)
    archive_data(db, tmp_path / "archive", 0)
    rows = json.loads(original)
    path.write_text(json.dumps(rows[:1]))  # the file is rewritten with one row
    ingest_one(db, folder)
    assert live_and_archived(db, "performance_results") == (1, 0)
    path.write_text(original)  # and its first content comes back: ingested again, live
    ingest_one(db, folder)
    assert live_and_archived(db, "performance_results") == (len(rows), 0)
    assert_intact(db, tmp_path / "archive", every_row(db))


def test_a_damaged_archive_fails_the_integrity_check(sample_db, tmp_path):
    archive = tmp_path / "archive"
    archive_data(sample_db, archive, 0)
    (victim,) = archive.glob("hardware_compatibility/*/*/*.parquet")
    con = duckdb.connect()
    con.execute(f"COPY (SELECT * FROM read_parquet('{victim}') LIMIT 1) TO '{victim}'")
    result = benchdb("maintenance", "--db", str(sample_db), "--check-integrity")
    assert result.returncode == 1
    archive_check = json.loads(result.stdout)["operations"][0]["checks"]["archive"]
    assert not archive_check["passed"]
    assert [k for k in archive_check["offending"] if k.startswith("hardware_compatibility")]


def test_the_cli_archives_and_reports(sample_db, tmp_path, monkeypatch):
    result = benchdb(
        "maintenance",
        "--db",
        str(sample_db),
        "--archive-data",
        "--older-than",
        "0",
        "--archive-dir",
        str(tmp_path / "archive"),
    )
    assert result.returncode == 0, result.stderr
    (record,) = json.loads(result.stdout)["operations"]
    assert record["rows_archived"] == sum(record["rows"].values()) > 0
    status = json.loads(benchdb("status", "--db", str(sample_db), "--format", "json").stdout)
    assert status["archived"] == record["rows"]
    # Without --archive-dir: the default folder, data/archive/warehouse under the project.
    monkeypatch.delenv("BENCHDB_ARCHIVE")
    again = benchdb(
        "maintenance", "--db", str(sample_db), "--archive-data", "--older-than", "0", cwd=tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["operations"][0]["archive_dir"] == str(
        tmp_path / "data/archive/warehouse"
    )


# A child process that archives and kills itself with SIGKILL when the log reaches a step.
KILLED_AT_STEP = """
import logging, os, signal, sys
from datetime import datetime
from pathlib import Path
from benchdb_pipeline.maintenance.archive import archive_data, log

class Kill(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith(sys.argv[3]):
            os.kill(os.getpid(), signal.SIGKILL)

log.setLevel(logging.INFO)
log.addHandler(Kill())
archive_data(Path(sys.argv[1]), Path(sys.argv[2]), 0, now=datetime.fromisoformat(sys.argv[4]))
"""


@pytest.mark.parametrize("step", ["staged", "moved", "verified", "committed"])
def test_killed_at_each_step_then_run_again_loses_and_doubles_nothing(big_db, tmp_path, step):
    archive = tmp_path / "archive"
    before = every_row(big_db)
    child = subprocess.run(
        [sys.executable, "-c", KILLED_AT_STEP, str(big_db), str(archive), step, NOW.isoformat()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert every_row(big_db) == before  # even before the clean-up: the views read committed batches
    report = archive_data(big_db, archive, 0, now=NOW)
    assert (report.batch_id is None) == (step == "committed")
    assert bool(report.cleaned_up) == (step != "committed")
    assert_intact(big_db, archive, before)


# Says when its imports are done, so that the parent times its kill from the work's start.
ARCHIVE_ONCE = """
import sys, time
from datetime import datetime
from pathlib import Path
from benchdb_pipeline.maintenance.archive import archive_data
print("ready", flush=True)
started = time.monotonic()
archive_data(Path(sys.argv[1]), Path(sys.argv[2]), 0, now=datetime.fromisoformat(sys.argv[3]))
print(time.monotonic() - started, flush=True)
"""


def test_killed_at_arbitrary_moments_loses_and_doubles_nothing(big_db, tmp_path):
    """SIGKILL at moments spread over a run (in COPY, moves, DELETE or commit alike), each on a
    fresh copy of the warehouse, then a run to the end."""
    before = every_row(big_db)

    def archive_in_child(db: Path, archive: Path) -> subprocess.Popen:
        child = subprocess.Popen(
            [sys.executable, "-c", ARCHIVE_ONCE, str(db), str(archive), NOW.isoformat()],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout.readline() == "ready\n"
        return child

    uninterrupted = tmp_path / "whole.duckdb"
    uninterrupted.write_bytes(big_db.read_bytes())
    child = archive_in_child(uninterrupted, tmp_path / "whole")
    duration = float(child.stdout.readline())
    assert child.wait(60) == 0
    outcomes = []
    for n, fraction in enumerate((0.0, 0.25, 0.5, 0.7, 0.85, 0.95)):
        db, archive = tmp_path / f"killed{n}.duckdb", tmp_path / f"archive{n}"
        db.write_bytes(big_db.read_bytes())
        child = archive_in_child(db, archive)
        time.sleep(duration * fraction)
        child.send_signal(signal.SIGKILL)
        outcomes.append(child.wait(60))
        assert every_row(db) == before
        archive_data(db, archive, 0, now=NOW)
        assert_intact(db, archive, before)
    assert outcomes.count(-signal.SIGKILL) >= 4, outcomes


def test_a_moved_archive_is_reported_not_crashed_on(sample_db, tmp_path):
    archive_data(sample_db, tmp_path / "archive", 0)
    (tmp_path / "archive").rename(tmp_path / "moved")
    check = benchdb("maintenance", "--db", str(sample_db), "--check-integrity")
    assert check.returncode == 1
    views = json.loads(check.stdout)["operations"][0]["checks"]["views"]["offending"]
    assert "all_performance_results" in views
    query_result = benchdb(
        "query", "--db", str(sample_db), "--sql", "SELECT count(*) FROM all_performance_results"
    )
    assert query_result.returncode == 2 and "No files found" in query_result.stderr
    export = benchdb("export", "--db", str(sample_db), "--parquet-dir", str(tmp_path / "export"))
    assert export.returncode == 2 and "database error" in export.stderr and "Traceback" not in export.stderr
