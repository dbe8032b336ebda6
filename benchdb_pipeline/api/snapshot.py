"""Reads from a private, read-only snapshot of the warehouse.

DuckDB lets one process write, and a writing process shuts every other process out, readers
too. So the API never reads the live file: it copies it (while holding a read-only
connection, which keeps writers out for the few hundred milliseconds of the copy) to a file
of its own, adds a precomputed table of the latest results, and serves every read from that
copy, whose connection it can keep open. A new snapshot is published after the API's own
writes and whenever the live file has changed and is free, at most once per
``min_interval`` seconds, and no more often than every four times as long as the last one
took to publish (so that snapshots never take more than a fifth of the time, however large
the warehouse); reads are behind the warehouse by about that interval plus the length of
another process's write, except that a client reads its own writes: a read that names the
writer's batches it has seen answered (``wait_for``) gets a snapshot that holds them.

On a lake there is nothing to copy: a snapshot is a read-only connection pinned to the lake's
newest snapshot version (``SNAPSHOT_VERSION``), published when that version changes; the
latest results are precomputed in its in-memory catalog. Workers of ``/query`` get the
version and attach it themselves, as the lake's reader role.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from benchdb_pipeline.api.safe_query import READ_CONFIG
from benchdb_pipeline.config import is_lake
from benchdb_pipeline.errors import DatabaseConnectionError
from benchdb_pipeline.warehouse import lake
from benchdb_pipeline.warehouse.store import CONNECTION_CONFIG, connect

log = logging.getLogger(__name__)

LATEST_TABLE = "api_latest_performance"
CONFIGURATION_ORDER = (
    "model_name, hardware_type, device_name, test_case, batch_size, sequence_length, precision"
)
LATEST_SQL = f"""SELECT *, row_number() OVER (ORDER BY {CONFIGURATION_ORDER}) AS position
    FROM latest_performance_metrics ORDER BY position"""


def _signature(db: Path) -> tuple:
    """What changes when the live file is written (the file and its write-ahead log)."""
    stats: list[tuple[int, int] | None] = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            stat = path.stat()
            stats.append((stat.st_mtime_ns, stat.st_size))
        except FileNotFoundError:
            stats.append(None)
    return tuple(stats)


class Generation:
    """One published snapshot: its connection, what a worker needs to open it (the file, or
    the lake's pinned version), and the readers still using it."""

    def __init__(
        self,
        database: duckdb.DuckDBPyConnection,
        reference: Path | lake.LakeSnapshot,
        published_at: float,
        commits: int = 0,
    ) -> None:
        self.database, self.reference, self.published_at = database, reference, published_at
        self.commits = commits  # the API writer's batches this snapshot holds, at least
        self.readers, self.retired = 0, False

    def cursor(self) -> duckdb.DuckDBPyConnection:
        if isinstance(self.reference, lake.LakeSnapshot):
            return lake.cursor(self.database)
        return self.database.cursor()

    def close(self) -> None:
        self.database.close()
        if isinstance(self.reference, Path):
            self.reference.unlink(missing_ok=True)


class Snapshots:
    """Publishes snapshots of ``db`` under ``folder`` and lends cursors on the newest."""

    def __init__(
        self,
        db: Path,
        folder: Path,
        db_lock: threading.Lock,
        min_interval: float = 1.0,
        commits: Callable[[], int] = lambda: 0,
    ) -> None:
        self.db, self.folder, self.db_lock, self.min_interval = db, folder, db_lock, min_interval
        self.commits = commits  # how many batches the API's writer has committed
        self._current: Generation | None = None
        self._guard = threading.Lock()  # the current generation and reader counts
        self._refreshing = threading.Lock()
        self._signature: object = None
        self._number = 0
        self.published = 0  # snapshots installed so far: what a cache of derived data keys on
        self._last = 0.0
        self._duration = 0.0  # how long the last publish took
        self._lake = lake.LakeSettings.from_env(db) if is_lake(db) else None

    @property
    def age_seconds(self) -> float | None:
        current = self._current
        return None if current is None else time.time() - current.published_at

    def refresh(self, *, force: bool = False, wait: bool = False) -> bool:
        """Publish a new snapshot if the live file changed (and is free); True if published.
        ``wait``: when another thread is publishing, wait for it and publish after it (a
        writer whose reader must see its write), instead of leaving it at that."""
        if not self._refreshing.acquire(blocking=wait):
            return False  # another thread is at it
        try:
            if not force and time.monotonic() - self._last < max(self.min_interval, 4 * self._duration):
                return False
            if self._lake is not None:
                commits = self.commits()  # counted before the version is read: at most what it holds
                version = lake.current_snapshot(self._lake)
                return (force or version != self._signature) and self._publish_version(version, commits)
            signature = _signature(self.db)
            if not force and signature == self._signature:
                return False
            return self._publish(signature)
        finally:
            self._refreshing.release()

    def _publish(self, signature: tuple) -> bool:
        began = time.monotonic()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._number += 1
        target = self.folder / f"snapshot-{self._number}.duckdb"
        partial = target.with_name(f".{target.name}.tmp")
        try:
            with self.db_lock:
                commits = self.commits()  # the writer commits under this lock too: exact
                live = connect(self.db, read_only=True, lock_timeout=0)
                try:
                    shutil.copyfile(self.db, partial)
                    wal = self.db.with_name(self.db.name + ".wal")
                    if wal.exists():
                        shutil.copyfile(wal, partial.with_name(partial.name + ".wal"))
                finally:
                    live.close()
        except DatabaseConnectionError as exc:
            log.debug("snapshot postponed: %s", exc)
            return False
        started = time.time()
        with duckdb.connect(str(partial)) as con:  # ours alone: precompute the latest results
            con.execute(f"CREATE OR REPLACE TABLE {LATEST_TABLE} AS {LATEST_SQL}")
            con.execute("CHECKPOINT")
        partial.replace(target)
        database = duckdb.connect(str(target), read_only=True, config=dict(READ_CONFIG))
        self._install(Generation(database, target, started, commits), signature, began)
        log.info("published snapshot %d (%.0f MB)", self._number, target.stat().st_size / 2**20)
        return True

    def _publish_version(self, version: int, commits: int) -> bool:
        began, started = time.monotonic(), time.time()
        settings = self._lake
        assert settings is not None  # a lake's snapshots only
        database = lake.connect(settings, read_only=True, config=dict(CONNECTION_CONFIG), snapshot=version)
        try:
            database.execute(f"CREATE TABLE memory.main.{LATEST_TABLE} AS {LATEST_SQL}")
        except BaseException:
            database.close()
            raise
        self._install(
            Generation(database, lake.LakeSnapshot(settings.address, version), started, commits),
            version,
            began,
        )
        log.info("published lake snapshot version %d", version)
        return True

    def wait_for(self, commits: int, timeout: float) -> bool:
        """Whether the newest snapshot holds the writer's first ``commits`` batches, publishing
        one at once (and waiting up to ``timeout`` seconds) when it does not: a client reads
        its own writes. A snapshot another thread is publishing is waited for, not doubled."""
        deadline = time.monotonic() + timeout
        while True:
            current = self._current
            if current is not None and current.commits >= commits:
                return True
            if time.monotonic() >= deadline:
                return False
            if not self.refresh(force=True):
                time.sleep(0.01)  # another thread is publishing, or the file is busy

    def _install(self, generation: Generation, signature: object, began: float) -> None:
        with self._guard:
            old, self._current = self._current, generation
            self.published += 1
        self._signature, self._last = signature, time.monotonic()
        self._duration = self._last - began
        if old is not None:
            self._retire(old)

    def _retire(self, generation: Generation) -> None:
        with self._guard:
            generation.retired = True
            idle = generation.readers == 0
        if idle:
            generation.close()

    @contextmanager
    def lease(self) -> Iterator[Path | lake.LakeSnapshot]:
        """What opens the newest snapshot (its file, or the lake's version), kept (not retired
        away) for the duration of the block; for a reader in another process."""
        with self._reader() as generation:
            yield generation.reference

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the newest snapshot, usable for the duration of the block."""
        with self._reader() as generation:
            cursor = generation.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    @contextmanager
    def _reader(self) -> Iterator[Generation]:
        with self._guard:
            generation = self._current
            if generation is None:
                raise DatabaseConnectionError("no snapshot of the warehouse is available yet")
            generation.readers += 1
        try:
            yield generation
        finally:
            with self._guard:
                generation.readers -= 1
                idle = generation.retired and generation.readers == 0
            if idle:
                generation.close()

    def close(self) -> None:
        with self._guard:
            current, self._current = self._current, None
        if current is not None:
            self._retire(current)
