"""Group commit for API writes: one thread ingests spooled records in batches.

A request's record is already durable in the spool when it is handed over here; the writer
ingests every waiting file in one transaction, so many concurrent requests cost one
connection and one commit. When another process holds the database, the batch stays in the
spool (the request is answered 202) and is tried again until it is stored; the sensor or
the next ingest may store it first, which the ledger makes harmless.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from benchdb_pipeline.errors import DatabaseConnectionError
from benchdb_pipeline.ingest.parse import ParsedFile
from benchdb_pipeline.ingest.pipeline import ingest_files

log = logging.getLogger(__name__)

STORED, SPOOLED, QUARANTINED = "stored", "spooled", "quarantined"
MAX_BATCH = 2_000


class Writer:
    """Ingests handed-over spool files; ``db_lock`` keeps this process's own readers of the
    file (the snapshot copier) out while it writes."""

    def __init__(
        self,
        db: Path,
        db_lock: threading.Lock,
        *,
        lock_timeout: float = 0.1,
        retry_interval: float = 1.0,
        linger: float = 0.005,
        pace: float = 0.25,
        on_stored: Callable[[], None] = lambda: None,
    ) -> None:
        self.db, self.db_lock = db, db_lock
        self.lock_timeout, self.retry_interval, self.linger = lock_timeout, retry_interval, linger
        self.pace = pace
        self.on_stored = on_stored
        self._queue: queue.Queue[tuple[Path, Future]] = queue.Queue()
        self._pending: set[Path] = set()  # spooled, not yet stored
        self._parsed: dict[str, ParsedFile] = {}  # handed-over files parsed already, by path
        self._stop = threading.Event()
        self._busy = threading.Event()
        # batches committed so far: a reader that has seen this many has seen every record
        # answered 201 before it was read (see ``Snapshots.wait_for``)
        self.commits = 0
        self._thread = threading.Thread(target=self._loop, name="benchdb-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after a last attempt to store what is pending or handed over (it stays spooled
        otherwise)."""
        self._stop.set()
        self._thread.join(timeout)

    @property
    def busy(self) -> bool:
        """A batch is being written (new submissions will wait for the next one)."""
        return self._busy.is_set()

    @property
    def pending(self) -> int:
        return len(self._pending) + self._queue.qsize()

    def submit(self, path: Path, parsed: ParsedFile | None = None) -> Future:
        """Hand over a spooled file (and what it parses to, when known); the future resolves
        to stored, spooled or quarantined."""
        future: Future = Future()
        if parsed is not None:
            self._parsed[str(path)] = parsed
        self._queue.put((path, future))
        return future

    def _take(self) -> list[tuple[Path, Future]]:
        try:
            first = self._queue.get(timeout=self.retry_interval)
        except queue.Empty:
            return []
        self._busy.set()  # what arrives from now on is answered 202 and joins a batch
        self._stop.wait(self.linger)  # let concurrent requests join this batch
        return [first, *self._queued(MAX_BATCH - 1)]

    def _queued(self, most: int | None = None) -> list[tuple[Path, Future]]:
        """What is handed over and not yet taken (at most ``most``), without waiting."""
        batch: list[tuple[Path, Future]] = []
        while most is None or len(batch) < most:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _loop(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            self._busy.set()
            started = time.monotonic()
            try:
                self._write(batch)
                # Under load (records arriving together, or waiting already) commit at most
                # every ``pace`` seconds, staying busy meanwhile, so that what arrives is
                # answered 202 and joins the next batch: a commit costs ~0.1 s of CPU
                # whatever its size, and batches grow instead of commits eating a core. One
                # client writing record after record is not under load: each is answered 201.
                if len(batch) > 1 or not self._queue.empty():
                    self._stop.wait(max(0.0, started + self.pace - time.monotonic()))
            finally:
                self._busy.clear()
        # Files still spooled get one more try: those the database refused and those handed
        # over since the last batch was taken (a stop set while a batch was written ends the loop
        # before they are taken; their requests were answered 202).
        self._write(self._queued())

    def _write(self, batch: list[tuple[Path, Future]]) -> None:
        paths = sorted({*self._pending, *(path for path, _ in batch)})
        if not paths:
            return
        # Parsed files are used once: a batch that fails reads its files again, afresh.
        preparsed = {str(p): self._parsed.pop(str(p)) for p in paths if str(p) in self._parsed}
        try:
            with self.db_lock:
                # spool files are new: reading every hash of the ledger first would only grow
                report = ingest_files(
                    self.db,
                    [str(p) for p in paths],
                    workers=1,
                    lock_timeout=self.lock_timeout,
                    read_ledger=False,
                    preparsed=preparsed,
                )
                self.commits += 1  # in the lock, so a snapshot's copy counts exactly what it holds
        except DatabaseConnectionError as exc:
            log.info("database busy, %d records stay spooled: %s", len(paths), exc)
            self._pending.update(paths)
            for _, future in batch:
                future.set_result(SPOOLED)
            return
        except Exception as exc:  # noqa: BLE001 — keep serving; isolate the file that fails
            if len(paths) == 1:
                log.exception("storing %s failed; it stays in the spool for an operator", paths[0])
                self._pending.discard(paths[0])
                for _, future in batch:
                    future.set_exception(exc)
                return
            log.warning("a batch of %d records failed (%s); storing them one by one", len(paths), exc)
            self._pending.clear()
            futures = dict(batch)
            for path in paths:
                self._write([(path, futures.get(path, Future()))])
            return
        status = {outcome.path: outcome.status for outcome in report.outcomes}
        self._pending.clear()
        for path, future in batch:
            future.set_result(QUARANTINED if status.get(str(path)) == "quarantined" else STORED)
        self.on_stored()
