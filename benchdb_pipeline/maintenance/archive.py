"""Old fact rows to Parquet, in an order that loses and doubles nothing when a run is killed.

A batch goes: mark pending → write Parquet to a staging folder → move the files into place →
verify them (row count and a hash of every row) against the rows chosen → one transaction
that deletes those rows and records the batch. The archive views read only files of recorded
batches, so until that commit the Parquet copies are invisible and after it the DuckDB copies
are gone. The pending marker lets the next run remove what a killed run left behind.

The log lines name each step; the reliability test kills the process at them.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import orjson

from benchdb_pipeline.errors import BenchdbError
from benchdb_pipeline.warehouse.checks import batch_contents
from benchdb_pipeline.warehouse.schema import (
    ARCHIVED_FACTS,
    ArchivedFact,
    archive_glob,
    create_archive_views,
    ensure_schema,
    sql_string,
    utc_now,
)
from benchdb_pipeline.warehouse.sql import fetch_one, fetch_value
from benchdb_pipeline.warehouse.store import exclusive, session, transaction

log = logging.getLogger(__name__)

PENDING = ".pending"
STAGING = ".staging"
# The time a row belongs to: when it was measured, or when it was ingested if the data has no time.
ROW_TIME = "coalesce(measured_at, created_at)"


class ArchiveError(BenchdbError):
    """Archived Parquet files do not match the rows they should hold; nothing was deleted."""

    code = "DB006"


@dataclass
class ArchiveReport:
    archive_dir: Path
    cutoff: datetime
    batch_id: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    size_bytes: int = 0
    cleaned_up: list[str] = field(default_factory=list)

    def record(self) -> dict:
        return {
            "operation": "archive-data",
            "ok": True,
            "archive_dir": str(self.archive_dir),
            "cutoff": self.cutoff.isoformat(),
            "batch_id": self.batch_id,
            "rows": self.rows,
            "rows_archived": sum(self.rows.values()),
            "files": self.files,
            "size_mb": round(self.size_bytes / 2**20, 2),
            "interrupted_batches_cleaned_up": self.cleaned_up,
        }


def archive_data(
    db: Path, archive_dir: Path, older_than_days: float, *, now: datetime | None = None
) -> ArchiveReport:
    """Move fact rows measured (else ingested) more than ``older_than_days`` ago to Parquet
    under ``archive_dir``, partitioned by table, year and month; owned rows go with theirs."""
    archive_dir = archive_dir.resolve()
    report = ArchiveReport(archive_dir, (now or utc_now()) - timedelta(days=older_than_days))
    with session(db, create=False) as con, exclusive(con):
        ensure_schema(con)
        report.cleaned_up = clean_up_interrupted(con, archive_dir, db)
        expected = _choose(con, report.cutoff)
        if not expected:
            log.info("no fact rows older than %s: nothing to archive", report.cutoff)
            return report
        batch = report.batch_id = uuid.uuid4().hex
        _mark_pending(archive_dir, batch, db)
        try:
            files = _write_and_verify(con, archive_dir, batch, expected)
            with transaction(con):
                for fact in reversed(ARCHIVED_FACTS):
                    if fact.table in expected:
                        _delete(con, fact, expected[fact.table][0])
                archived_at = utc_now()
                con.executemany(
                    "INSERT INTO archive_batches VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        [batch, table, str(archive_dir), rows, checksum, report.cutoff, archived_at]
                        for table, (rows, checksum) in expected.items()
                    ],
                )
                create_archive_views(con)
        except Exception:
            _discard(archive_dir, batch)  # not committed: the rows are all still in the warehouse
            raise
        log.info("committed batch %s: rows deleted from the warehouse", batch)
        (archive_dir / PENDING / f"{batch}.json").unlink()
        con.execute("CHECKPOINT")
    report.rows = {table: rows for table, (rows, _) in expected.items()}
    report.files, report.size_bytes = len(files), sum(f.stat().st_size for f in files)
    return report


def _write_and_verify(
    con: duckdb.DuckDBPyConnection, archive_dir: Path, batch: str, expected: dict[str, tuple[int, int]]
) -> list[Path]:
    """Stage the batch's Parquet files, move them into place, check them against ``expected``."""
    staging = archive_dir / STAGING / batch
    for fact in ARCHIVED_FACTS:
        if fact.table in expected:
            _copy(con, fact, staging / fact.table, batch)
    log.info("staged batch %s: %s", batch, {t: n for t, (n, _) in expected.items()})
    files = _move_into_place(staging, archive_dir)
    log.info("moved %d files of batch %s into %s", len(files), batch, archive_dir)
    for table, (rows, checksum) in expected.items():
        _verify(con, archive_dir, table, batch, rows, checksum)
    log.info("verified batch %s: every row and checksum matches", batch)
    return files


def _chosen(fact: ArchivedFact) -> str:
    return f"t_archive_{fact.parent or fact.table}"


def _rows_sql(fact: ArchivedFact, extra: str = "") -> str:
    """The table's chosen rows, all columns in table order (plus ``extra``)."""
    return f"SELECT t.*{extra} FROM {fact.table} t JOIN {_chosen(fact)} c ON t.{fact.key} = c.key"


def _choose(con: duckdb.DuckDBPyConnection, cutoff: datetime) -> dict[str, tuple[int, int]]:
    """Pick the rows to archive (temp tables of keys and partitions); per table, the row count
    and the sum of every row's hash, which the Parquet files must reproduce."""
    expected = {}
    for fact in ARCHIVED_FACTS:
        if not fact.parent:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_chosen(fact)} AS "
                f"SELECT {fact.key} AS key, year({ROW_TIME}) AS year, month({ROW_TIME}) AS month "
                f"FROM {fact.table} WHERE {ROW_TIME} < ?",
                [cutoff],
            )
        rows, checksum = fetch_one(con, f"SELECT count(*), sum(hash(r)) FROM ({_rows_sql(fact)}) r")
        if rows:
            expected[fact.table] = (rows, int(checksum))
    return expected


def _copy(con: duckdb.DuckDBPyConnection, fact: ArchivedFact, target: Path, batch: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute(
        f"COPY ({_rows_sql(fact, ', c.year, c.month')}) TO {sql_string(target)} "
        f"(FORMAT parquet, COMPRESSION zstd, PARTITION_BY (year, month), "
        f"FILENAME_PATTERN '{batch}_{{i}}')"
    )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _move_into_place(staging: Path, archive_dir: Path) -> list[Path]:
    """Move staged files to the same table/year/month folders of the archive, durably."""
    moved = []
    for staged in sorted(staging.glob("*/*/*/*.parquet")):
        target = archive_dir / staged.relative_to(staging)
        target.parent.mkdir(parents=True, exist_ok=True)
        _fsync(staged)
        os.replace(staged, target)
        _fsync(target.parent)
        moved.append(target)
    shutil.rmtree(staging)
    return moved


def _verify(
    con: duckdb.DuckDBPyConnection, archive_dir: Path, table: str, batch: str, rows: int, checksum: int
) -> None:
    try:
        got_rows, got_sum = batch_contents(con, str(archive_dir), table, batch)
    except duckdb.Error as exc:
        raise ArchiveError(f"batch {batch}: the Parquet files of {table} cannot be read: {exc}") from exc
    if (got_rows, got_sum) != (rows, checksum):
        raise ArchiveError(
            f"batch {batch}: the Parquet files of {table} hold {got_rows} rows "
            f"(checksum {got_sum}); expected {rows} (checksum {checksum})"
        )


def _delete(con: duckdb.DuckDBPyConnection, fact: ArchivedFact, rows: int) -> None:
    (deleted,) = fetch_one(
        con, f"DELETE FROM {fact.table} WHERE {fact.key} IN (SELECT key FROM {_chosen(fact)})"
    )
    if deleted != rows:
        raise ArchiveError(f"{fact.table}: {deleted} rows to delete, but {rows} were archived")


def _mark_pending(archive_dir: Path, batch: str, db: Path) -> None:
    """Record, before any file is written, that this batch has begun (for the clean-up)."""
    pending = archive_dir / PENDING / f"{batch}.json"
    pending.parent.mkdir(parents=True, exist_ok=True)
    partial = pending.parent / f"{batch}.{_owner(db)}.partial"
    partial.write_bytes(
        orjson.dumps({"batch_id": batch, "db": str(db.resolve()), "started_at": utc_now().isoformat()})
    )
    _fsync(partial)
    os.replace(partial, pending)  # a marker is whole or absent; absent, no file was written yet
    _fsync(pending.parent)


def _owner(db: Path) -> str:
    """A short name for the database a marker belongs to (several may share an archive)."""
    return hashlib.sha256(str(db.resolve()).encode()).hexdigest()[:16]


def clean_up_interrupted(con: duckdb.DuckDBPyConnection, archive_dir: Path, db: Path) -> list[str]:
    """Finish what killed runs of this database left: a batch that committed only loses its
    marker; one that did not loses its files (its rows are still in the warehouse); a marker
    killed while being written (no file was written after it) is removed."""
    cleaned = []
    for partial in (archive_dir / PENDING).glob(f"*.{_owner(db)}.partial"):
        partial.unlink()
    for marker in sorted((archive_dir / PENDING).glob("*.json")):
        pending = orjson.loads(marker.read_bytes())
        if pending["db"] != str(db.resolve()):
            continue
        batch = pending["batch_id"]
        committed = fetch_value(con, "SELECT count(*) FROM archive_batches WHERE batch_id = ?", [batch])
        if committed:
            marker.unlink()
        else:
            _discard(archive_dir, batch)
            cleaned.append(batch)
    return cleaned


def _discard(archive_dir: Path, batch: str) -> None:
    """Remove every file of a batch that did not commit, then its marker."""
    leftovers = [Path(p) for p in glob.glob(archive_glob(archive_dir, batch=batch))]
    for leftover in leftovers:
        leftover.unlink()
    shutil.rmtree(archive_dir / STAGING / batch, ignore_errors=True)
    log.warning(
        "removed %d Parquet files of batch %s, which did not commit "
        "(its rows were never deleted from the warehouse)",
        len(leftovers),
        batch,
    )
    (archive_dir / PENDING / f"{batch}.json").unlink()
