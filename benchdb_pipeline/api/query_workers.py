"""`POST /query` runs in worker processes, so that its limits hold whatever the query does.

DuckDB can interrupt a query only between the steps of its work: one call such as
``list_sort(range(60000000))`` or ``levenshtein`` on long strings runs on for a minute, and a
thread of the server cannot be stopped. A process can. Each slot is a worker process that
opens the read snapshot itself (read-only, external access off), runs one checked SELECT at a
time, and lives under an address-space limit, so memory past its share fails the query inside
the worker and never grows the server. The server waits for the answer until the time limit
and a grace period, then kills the worker and starts another: every query is stopped within
its limit plus the grace. Workers run at a lower CPU priority, so the other endpoints answer
while every slot is busy.

The worker is this module run as a program: ``python -m benchdb_pipeline.api.query_workers FD
MEMORY file|lake``, speaking pickled tuples over the inherited socket FD.
"""

from __future__ import annotations

import logging
import os
import queue
import resource
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

import duckdb

from benchdb_pipeline.api.safe_query import READ_CONFIG, OutOfMemory, QueryResult, Refused, Watchdog, run
from benchdb_pipeline.api.snapshot import LATEST_SQL, LATEST_TABLE
from benchdb_pipeline.warehouse import lake
from benchdb_pipeline.warehouse.lake import LakeSnapshot

log = logging.getLogger(__name__)

GRACE_SECONDS = 1.0  # past the time limit, before the worker is killed
STARTUP_SECONDS = 30.0  # for a new worker to import what it needs; not counted in the limit
WORKER_NICENESS = 10
# Of a worker's address space, what DuckDB may use for data; the rest holds Python, the
# libraries and DuckDB's own bookkeeping.
DUCKDB_SHARE = 0.5


# What a worker reads: a DuckDB file, or a lake (whose extensions it loads before its cap).
FILE, LAKE = "file", "lake"


class Busy(RuntimeError):
    """Every slot is running a query."""


@dataclass(frozen=True)
class Limits:
    rows: int
    seconds: float
    answer_bytes: int
    memory_bytes: int  # what one query may add to its worker's address space: a hard cap


class Worker:
    """One worker process and the server's end of its socket."""

    def __init__(self, memory_bytes: int, lake: bool = False) -> None:
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", __name__, str(theirs.fileno()), str(memory_bytes), LAKE if lake else FILE],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
        )
        theirs.close()
        self.connection = Connection(ours.detach())
        self.ready = False  # it says so once it has started

    def ask(self, job: tuple, seconds: float) -> tuple[str, object]:
        """Send a job and wait ``seconds`` for its answer (counted once the worker has
        started); ``("killed", why)`` when the worker had to be stopped or died."""
        try:
            if not self.ready:
                if not self.connection.poll(STARTUP_SECONDS):
                    self.kill()
                    return "killed", f"the query worker did not start in {STARTUP_SECONDS:g} s"
                self.ready = self.connection.recv() == "ready"
            self.connection.send(job)
            if self.connection.poll(seconds):
                return self.connection.recv()
        except (EOFError, OSError):
            return "killed", "the worker running the query stopped (it ran out of memory or crashed)"
        self.kill()
        return "killed", "timeout"

    def kill(self) -> None:
        """Stop the process (a no-op once stopped) and close the socket."""
        self.process.kill()
        self.process.wait()
        self.connection.close()

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


class QueryWorkers:
    """At most ``slots`` queries at once, each in a worker process; more are ``Busy``."""

    def __init__(self, slots: int, limits: Limits, lake: bool = False) -> None:
        self.slots, self.limits, self.lake = slots, limits, lake
        self._idle: queue.SimpleQueue[Worker] = queue.SimpleQueue()
        self._free = threading.BoundedSemaphore(slots)
        self._lock = threading.Lock()
        self._workers: set[Worker] = set()
        self._closed = False

    def run(
        self, snapshot: Path | LakeSnapshot, sql: str, params: list | None, row_limit: int
    ) -> QueryResult:
        """The answer of a checked SELECT on ``snapshot`` (a file, or a lake's version), or
        Refused saying which limit."""
        if not self._free.acquire(blocking=False):
            raise Busy(f"{self.slots} queries are running; try again")
        try:
            worker = self._take()
            limits = self.limits
            job = (
                snapshot if isinstance(snapshot, LakeSnapshot) else str(snapshot),
                sql,
                params,
                min(row_limit, limits.rows),
                limits.seconds,
                limits.answer_bytes,
            )
            kind, answer = worker.ask(job, limits.seconds + GRACE_SECONDS)
            if kind == "killed":
                self._forget(worker)
                if answer == "timeout":
                    raise Refused(f"the query ran longer than {limits.seconds:g} s and was stopped")
                raise Refused(str(answer))
            if kind == "out of memory":  # what it freed may not come back: a fresh worker
                self._forget(worker)
                megabytes = limits.memory_bytes // 2**20
                raise Refused(
                    f"the query needed more than the {megabytes} MB a query may hold and was stopped"
                )
            self._idle.put(worker)
            if kind != "ok":
                raise Refused(str(answer))
            assert isinstance(answer, QueryResult)
            return answer
        finally:
            self._free.release()

    def _take(self) -> Worker:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                with self._lock:
                    if self._closed:
                        raise Refused("the server is stopping") from None
                    worker = Worker(self.limits.memory_bytes, self.lake)
                    self._workers.add(worker)
                return worker
            if worker.alive:
                return worker
            self._forget(worker)

    def _forget(self, worker: Worker) -> None:
        """Stop a worker, and start its successor now so that it is ready for the next query."""
        worker.kill()
        with self._lock:
            self._workers.discard(worker)
            if self._closed:
                return
            successor = Worker(self.limits.memory_bytes, self.lake)
            self._workers.add(successor)
        self._idle.put(successor)

    def close(self) -> None:
        """Stop every worker (the server is stopping)."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, set()
        for worker in workers:
            worker.kill()


def _serve(connection: Connection, memory_bytes: int, reads: str = FILE) -> None:
    """The worker's loop: one job at a time, on a cached connection to the newest snapshot."""
    watchdog = Watchdog()  # its thread before the limit, which could refuse it a stack
    if reads == LAKE:  # loaded under the cap, the extensions cannot start their threads
        with duckdb.connect() as preload:
            lake.load_extensions(preload)
    # The cap is on top of what the worker holds started (Python, DuckDB: ~0.4 GB of
    # address space), so that a small cap still leaves the query all of it.
    with open("/proc/self/statm") as statm:
        started = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (started + memory_bytes, started + memory_bytes))
    os.nice(WORKER_NICENESS)
    config = {
        **READ_CONFIG,
        "memory_limit": f"{int(memory_bytes * DUCKDB_SHARE) // 2**20}MB",
        "threads": 1,
        "temp_directory": "",  # nothing spilled to the server's disk
    }
    path, database = None, None
    connection.send("ready")
    while True:
        try:
            snapshot, sql, params, rows, seconds, answer_bytes = connection.recv()
        except EOFError:
            return
        try:
            if snapshot != path:
                if database is not None:
                    database.close()
                path, database = snapshot, None
                database = _open(snapshot, config)
            assert database is not None
            with database.cursor() if isinstance(path, str) else lake.cursor(database) as cursor:
                result = run(
                    cursor,
                    sql,
                    params,
                    row_limit=rows,
                    time_limit=seconds,
                    watchdog=watchdog,
                    byte_limit=answer_bytes,
                )
            connection.send(("ok", result))
        except OutOfMemory as exc:
            connection.send(("out of memory", str(exc)))
        except Refused as exc:
            connection.send(("refused", str(exc)))
        except (MemoryError, RuntimeError):  # Python itself out of address space
            connection.send(("out of memory", "the query needed more memory than a query may hold"))
        except duckdb.Error as exc:  # the snapshot could not be opened
            path, database = None, None
            connection.send(("refused", f"the query failed: {exc}"))


def _open(snapshot: str | LakeSnapshot, config: dict) -> duckdb.DuckDBPyConnection:
    """The snapshot's file, read-only; or the lake's version, attached as the lake's reader
    role (which can read the lake's metadata and nothing else of its catalog database) before
    external access is turned off, except for the lake's data folder, and settings locked."""
    if isinstance(snapshot, str):
        return duckdb.connect(snapshot, read_only=True, config=dict(config))
    settings = lake.LakeSettings.from_env(snapshot.address).as_reader()
    opening = {k: v for k, v in config.items() if k not in ("enable_external_access", "lock_configuration")}
    database = lake.connect(settings, read_only=True, config=opening, snapshot=snapshot.version)
    try:
        database.execute(f"CREATE TABLE memory.main.{LATEST_TABLE} AS {LATEST_SQL}")
        data_path = lake.describe(database)["data_path"]
        database.execute("SET allowed_directories = ?", [[data_path]])
        database.execute("SET enable_external_access = false")
        database.execute("SET lock_configuration = true")
    except BaseException:
        database.close()
        raise
    return database


if __name__ == "__main__":
    _serve(Connection(int(sys.argv[1])), int(sys.argv[2]), sys.argv[3])
