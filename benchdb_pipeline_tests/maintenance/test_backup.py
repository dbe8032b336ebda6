"""Backups an operator can trust: consistent while another process writes, exact on
restore, corruption detected, retention that never deletes the newest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from benchdb_pipeline.maintenance import backup as backups
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse.schema import ALL_TABLES
from benchdb_pipeline_tests.conftest import ingest_one, query, scalar, small_disk
from benchdb_pipeline_tests.test_cli import benchdb

WRITER = """
import json, sys, time
from pathlib import Path
from benchdb_pipeline.ingest.pipeline import ingest
db, folder, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
folder.mkdir(parents=True, exist_ok=True)
end, n = time.monotonic() + seconds, 0
while time.monotonic() < end:
    path = folder / f"batch_{n:05d}.json"
    path.write_text(json.dumps([{"model_name": f"m{n % 7}", "hardware_type": "cpu", "batch_size": 1 + i,
                                 "throughput": 10.0 + n + i, "test_case": f"case-{n}"} for i in range(50)]))
    ingest(db, [path], workers=1)
    if n == 0:
        print("writing", flush=True)  # the warehouse is there: backups of it may start
    n += 1
    time.sleep(0.05)  # a writer that keeps writing, as runs and the API do, with the gaps they leave
print(n, flush=True)
"""


def table_hashes(db: Path, where: dict[str, str] | None = None) -> dict[str, tuple]:
    """Row count and an order-independent hash of every column of every table."""
    return {
        table: tuple(
            query(db, f"SELECT count(*), sum(hash(t)) FROM {table} t {(where or {}).get(table, '')}")[0]
        )
        for table in ALL_TABLES
    }


@pytest.fixture
def sample_db(db, tmp_path):
    ingest_one(db, write_samples(tmp_path / "samples")[0].parent.parent)
    return db


def test_restore_round_trip_is_exact_row_for_row(sample_db, tmp_path):
    folder, manifest = backups.backup(sample_db, tmp_path / "backups")
    restored = tmp_path / "restored.duckdb"
    backups.restore(folder, restored)
    assert table_hashes(restored) == table_hashes(sample_db)
    assert manifest.rows["performance_results"] == scalar(
        sample_db, "SELECT count(*) FROM performance_results"
    )


def test_compressed_backups_restore_too(sample_db, tmp_path):
    folder, manifest = backups.backup(sample_db, tmp_path / "backups", compress=True)
    assert list(manifest.files) == ["warehouse.duckdb.gz"]
    backups.restore(folder, tmp_path / "restored.duckdb")
    assert table_hashes(tmp_path / "restored.duckdb") == table_hashes(sample_db)


def test_a_backup_taken_while_another_process_writes_is_consistent(db, tmp_path):
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(tmp_path / "files"), "6"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCHDB_LOCK_TIMEOUT": "30"},
    )
    assert writer.stdout.readline().strip() == "writing"
    taken = []
    for _ in range(3):
        # As patient as the writer: the test is of consistency, not of who gets the lock first.
        result = benchdb(
            "maintenance", "--db", str(db), "--backup", "--backup-dir", str(tmp_path / "b"), lock_timeout=30
        )
        assert result.returncode == 0, result.stderr
        taken.append(Path(json.loads(result.stdout)["operations"][0]["path"]))
    files_written = int(writer.stdout.readline())
    assert writer.wait(60) == 0
    assert files_written > 3
    restored_files = []
    for folder in taken:
        restored = tmp_path / f"{folder.name}.duckdb"
        backups.restore(folder, restored)
        # Complete files only: every ingested file has all its rows, nothing half-written …
        check = benchdb("maintenance", "--db", str(restored), "--check-integrity")
        assert check.returncode == 0, check.stdout
        assert scalar(restored, "SELECT count(*) FROM performance_results") == 50 * scalar(
            restored, "SELECT count(*) FROM source_files"
        )
        # … and those rows are exactly the source's rows for the same files.
        files = ", ".join(str(r[0]) for r in query(restored, "SELECT file_id FROM source_files")) or "NULL"
        where = {
            "performance_results": f"WHERE source_file_id IN ({files})",
            "source_files": f"WHERE file_id IN ({files})",
        }
        restricted = {t: table_hashes(restored, where)[t] for t in where}
        assert restricted == {t: table_hashes(db, where)[t] for t in where}
        restored_files.append(scalar(restored, "SELECT count(*) FROM source_files"))
    assert restored_files[-1] > 0  # backups were taken in the middle of the writing


def test_a_corrupted_backup_is_detected_and_refused(sample_db, tmp_path):
    folder, _ = backups.backup(sample_db, tmp_path / "backups")
    data = folder / "warehouse.duckdb"
    with open(data, "r+b") as handle:
        handle.seek(data.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, os.SEEK_CUR)
        handle.write(bytes([byte[0] ^ 0xFF]))
    verify = benchdb("maintenance", "--verify-backup", str(folder), "--db", str(sample_db))
    assert verify.returncode == 1 and "does not match its checksum" in verify.stdout
    restore = benchdb("maintenance", "--restore", str(folder), "--db", str(tmp_path / "new.duckdb"))
    assert restore.returncode == 1 and not (tmp_path / "new.duckdb").exists()
    assert not list(tmp_path.glob(".new.duckdb*"))


def test_restore_never_overwrites(sample_db, tmp_path):
    folder, _ = backups.backup(sample_db, tmp_path / "backups")
    with pytest.raises(backups.BackupError, match="exists"):
        backups.restore(folder, sample_db)


def test_purge_keeps_recent_backups_and_always_the_newest(sample_db, tmp_path):
    root = tmp_path / "backups"
    made = [backups.backup(sample_db, root)[0] for _ in range(3)]
    (root / "benchdb-backup-incomplete").mkdir()  # no manifest: not a backup, never touched
    newest = backups.backups(root)[-1][1].created_at
    assert backups.purge(root, 1, now=newest + timedelta(hours=1)) == []
    removed = backups.purge(root, 1, now=newest + timedelta(days=10))
    assert removed == made[:2] and [f for f, _ in backups.backups(root)] == [made[2]]
    assert (root / "benchdb-backup-incomplete").exists()


def test_integrity_problems_exit_1_with_a_json_report(sample_db, tmp_path):
    import duckdb

    con = duckdb.connect(str(sample_db))
    con.execute("INSERT INTO performance_samples VALUES (999999, 0, 1.0)")  # an orphan sample
    con.close()
    result = benchdb(
        "maintenance",
        "--db",
        str(sample_db),
        "--check-integrity",
        "--optimize-db",
        "--output",
        str(tmp_path / "report.json"),
    )
    assert result.returncode == 1
    report = json.loads((tmp_path / "report.json").read_text())
    integrity = next(op for op in report["operations"] if op["operation"] == "check-integrity")
    assert integrity["checks"]["references"]["offending"] == {
        "performance_samples.result_id → performance_results": 1
    }
    assert report["ok"] is False


HOLD_LOCK = """
import fcntl, sys, time
with open(sys.argv[1], "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("locked", flush=True)
    time.sleep(60)
"""


def test_remains_of_killed_backups_are_removed_and_running_ones_kept(sample_db, tmp_path):
    folder = tmp_path / "backups"
    backups.backup(sample_db, folder)
    # A backup killed mid-copy: its partial folder, its lock file nobody holds, half a file.
    killed = folder / ".benchdb-backup-20260101T000000000000Z.partial"
    killed.mkdir()
    (killed / ".lock").touch()
    (killed / "warehouse.duckdb").write_bytes(b"\0" * 4096)
    # A backup being written right now by another process.
    running = folder / ".benchdb-backup-20260101T000001000000Z.partial"
    running.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(running / ".lock")], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        purged = benchdb("maintenance", "--purge-backups", "--backup-dir", str(folder), db=sample_db)
        assert purged.returncode == 0, purged.stderr
        assert not killed.exists() and running.exists()
    finally:
        holder.kill()
        holder.wait()
    backups.backup(sample_db, folder)  # the next backup clears what the dead one left
    assert not running.exists() and len(backups.backups(folder)) == 2


def test_a_backup_onto_a_full_disk_fails_clearly_and_leaves_nothing(sample_db, tmp_path):
    with small_disk(tmp_path / "small", 256) as small:
        assert sample_db.stat().st_size > 256 * 1024
        done = benchdb("maintenance", "--backup", "--backup-dir", str(small), db=sample_db)
        assert done.returncode == 2, done.stdout + done.stderr
        message = done.stderr.strip().splitlines()[-1]
        assert "backup failed and was removed" in message and "No space left on device" in message
        assert "Traceback" not in done.stderr
        assert not any(small.iterdir())  # no partial folder left behind
