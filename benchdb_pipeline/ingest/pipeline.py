"""Ingest files end to end: discover, parse in parallel, load batch by batch.

Parsing runs in one process per core (a fork server's pool: ``pool``); in a large ingest,
plain row lists are read as whole columns there (``columnar``), every other file one by
one. Each batch of files is loaded in one transaction. A DuckDB file is opened only to read
the ledger's hashes and to load, never held while a pool parses (a few files parsed in this
process keep one connection, and a lake's, which blocks nobody, is kept: see
``store.sessions``).
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from benchdb_pipeline.config import formats_dir, is_lake
from benchdb_pipeline.ingest import columnar, pool
from benchdb_pipeline.ingest.batch import KEY_SPACE, build_batch
from benchdb_pipeline.ingest.discovery import Discovered, discover
from benchdb_pipeline.ingest.files import content_hashes
from benchdb_pipeline.ingest.formats import declared
from benchdb_pipeline.ingest.parse import ParsedFile, parse_file
from benchdb_pipeline.ingest.pool import POOL_THRESHOLD
from benchdb_pipeline.warehouse.schema import ensure_schema
from benchdb_pipeline.warehouse.staging import StagedBatch
from benchdb_pipeline.warehouse.store import LoadReport, known_hashes, load_batch, sessions

log = logging.getLogger(__name__)

CHUNK_FILES = 250
# From this many files, plain row lists are read as whole columns (``columnar``), in chunks
# large enough to pay for what a chunk costs however small (~40 ms: its SQL, one Arrow read).
COLUMNAR_FROM = 4000
COLUMNAR_CHUNK_FILES = 5000
# Files a transaction stores. A DuckDB file checkpoints as each batch's connection closes,
# rewriting the last part-filled row groups: fewer, larger batches cost less (~0.6 core-s
# less at 100,000 files than batches of 20,000), and the last batch is kept to a quarter.
BATCH_FILES = 40_000


@dataclass(slots=True)
class FileOutcome:
    """One file's outcome, for progress, logs and the CLI's report."""

    path: str
    status: str
    format: str | None
    records: int
    error: str | None

    def __reduce__(self) -> tuple[type[FileOutcome], tuple[str, str, str | None, int, str | None]]:
        """Pickled as its fields (a pool sends one a file): half the default's time to unpickle."""
        return FileOutcome, (self.path, self.status, self.format, self.records, self.error)


@dataclass
class ParsedChunk:
    """What a worker returns: the staged batch and a light summary per file."""

    batch: StagedBatch
    outcomes: list[FileOutcome]


_KNOWN: frozenset[str] = frozenset()
_CATEGORIES: frozenset[str] = frozenset()  # empty: every category
_PARSED: Mapping[str, ParsedFile] = {}  # files parsed already, by path
_COLUMNAR = False  # whether plain row lists are read as whole columns


def _init_worker(
    known: frozenset[str],
    categories: frozenset[str] = frozenset(),
    parsed: Mapping[str, ParsedFile] | None = None,
    by_columns: bool = False,
) -> None:
    global _KNOWN, _CATEGORIES, _PARSED, _COLUMNAR
    _KNOWN, _CATEGORIES, _PARSED, _COLUMNAR = known, categories, parsed or {}, by_columns


def _start_worker(*settings) -> None:
    """A pool worker's initializer. What it holds from the start (modules, the known hashes)
    is never garbage: it is left out of the collections that parsing's many short-lived
    objects set off (~1 % of a worker's time)."""
    _init_worker(*settings)
    gc.freeze()


def _chosen(parsed: ParsedFile) -> bool:
    """Whether a file is of a chosen category (a file of several, or of none we could tell,
    always is)."""
    return not _CATEGORIES or parsed.category in (None, "mixed") or parsed.category in _CATEGORIES


def _parse_chunk(job: tuple[int, Sequence[str]]) -> ParsedChunk:
    chunk_no, paths = job
    by_columns = None
    if _COLUMNAR:
        # the upper half of the chunk's keys; build_batch numbers from the lower
        by_columns = columnar.read_row_lists(
            [p for p in paths if p not in _PARSED], _KNOWN, chunk_no * KEY_SPACE + KEY_SPACE // 2
        )
        rest = set(by_columns.rest)
        paths = [p for p in paths if p in rest or p in _PARSED]
    parsed = [_PARSED.get(path) or parse_file(path, _KNOWN) for path in paths]
    for file in parsed:
        if not _chosen(file):
            file.status = "skipped"
    outcomes = [FileOutcome(p.path, p.status, p.format, p.record_count, p.error) for p in parsed]
    batch = build_batch([p for p in parsed if p.status != "skipped"], chunk_no)
    if by_columns is None:
        return ParsedChunk(batch, outcomes)
    outcomes += [FileOutcome(*outcome, None) for outcome in by_columns.outcomes]
    return ParsedChunk(StagedBatch.concat([by_columns.batch, batch]), outcomes)


def pooled(files: int, workers: int | None) -> bool:
    """Whether ``parse_files`` parses this many files in a pool of worker processes."""
    return (workers or os.cpu_count() or 1) > 1 and files >= POOL_THRESHOLD


def parse_files(
    paths: Sequence[str],
    known: frozenset[str] = frozenset(),
    *,
    workers: int | None = None,
    on_chunk: Callable[[ParsedChunk], None] | None = None,
    categories: frozenset[str] = frozenset(),
    parsed: Mapping[str, ParsedFile] | None = None,
    chunk_files: int = CHUNK_FILES,
    columnar_from: int = COLUMNAR_FROM,
    columnar_chunk_files: int = COLUMNAR_CHUNK_FILES,
) -> Iterator[ParsedChunk]:
    """Parse files into staged chunks of ``chunk_files``, in order, one worker process per
    core. With ``categories``, files of other categories are left out (status ``skipped``),
    unrecorded. From ``columnar_from`` files on, plain row lists are read as whole columns,
    in chunks of ``columnar_chunk_files`` (when no declared format could claim them and the
    categories include theirs)."""
    by_columns = (
        len(paths) >= columnar_from and columnar.chosen(categories) and not declared.current(formats_dir())
    )
    if by_columns:
        chunk_files = columnar_chunk_files
    jobs = [(n, paths[i : i + chunk_files]) for n, i in enumerate(range(0, len(paths), chunk_files))]
    workers = workers or os.cpu_count() or 1
    if not pooled(len(paths), workers):
        _init_worker(known, categories, parsed, by_columns)
        results: Iterable[ParsedChunk] = map(_parse_chunk, jobs)
        yield from _notify(results, on_chunk)
        return
    with ProcessPoolExecutor(
        workers,
        mp_context=pool.context(),
        initializer=_start_worker,
        initargs=(known, categories, parsed, by_columns),
    ) as executor:
        yield from _notify(executor.map(_parse_chunk, jobs), on_chunk)


def _notify(chunks: Iterable[ParsedChunk], on_chunk) -> Iterator[ParsedChunk]:
    for chunk in chunks:
        if on_chunk:
            on_chunk(chunk)
        yield chunk


def _batches(
    chunks: Iterable[ParsedChunk], batch_files: int, total: int
) -> Iterator[tuple[list[ParsedChunk], bool]]:
    """Chunks (of ``total`` files in all) grouped into batches of at least ``batch_files``
    files, each with whether it is the last (every chunk parsed). The last batch holds at
    most a quarter as many: its load, which no parsing overlaps, is the one a bulk ingest waits
    for (the one before it is stored while the last files are parsed)."""
    batch: list[ParsedChunk] = []
    files = seen = 0
    for chunk in chunks:
        batch.append(chunk)
        files += len(chunk.outcomes)
        seen += len(chunk.outcomes)
        left = total - seen
        if left > 0 and (files >= batch_files or left <= batch_files // 4 < left + len(chunk.outcomes)):
            yield batch, False
            batch, files = [], 0
    if batch:
        yield batch, True


@contextmanager
def _one_thread(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """DuckDB on one thread for the block: while the pool parses, its processes hold the
    cores, and a second DuckDB thread only contends with them (~3 core-s per 100,000 files)."""
    con.execute("SET threads = 1")
    try:
        yield
    finally:
        con.execute("RESET threads")


@dataclass
class IngestReport:
    """What an ingest did: files by outcome, rows by table, and every problem file."""

    files: int = 0
    load: LoadReport = field(default_factory=LoadReport)
    outcomes: list[FileOutcome] = field(default_factory=list)
    dry_run: bool = False

    @property
    def quarantined(self) -> list[FileOutcome]:
        """Files with quarantined input: refused whole, or ingested with records refused."""
        return [o for o in self.outcomes if o.error is not None]

    def by_format(self) -> dict[str, tuple[int, int]]:
        """Files read and records found per format (files stored or duplicates of stored ones)."""
        found: dict[str, tuple[int, int]] = {}
        for outcome in self.outcomes:
            if outcome.format and outcome.status in ("ingested", "duplicate", "empty"):
                files, records = found.get(outcome.format, (0, 0))
                found[outcome.format] = (files + 1, records + outcome.records)
        return dict(sorted(found.items()))

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    def summary(self) -> str:
        parts = [f"{self.files} files"]
        for status in ("ingested", "duplicate", "empty", "quarantined", "unreadable", "known", "skipped"):
            n = self.count(status)
            if n:
                label = {
                    "known": "already in the ledger",
                    "skipped": "left out: not of the chosen categories",
                    "unreadable": "paths not read",
                    "duplicate": "duplicates of results already stored",
                }.get(status, status)
                parts.append(f"{n} {label}")
        partial = sum(1 for o in self.outcomes if o.status == "ingested" and o.error is not None)
        if partial:
            parts.append(f"{partial} of them with records quarantined")
        if not self.dry_run:
            if self.load.duplicates - self.count("known") > 0:
                parts.append(f"{self.load.duplicates - self.count('known')} duplicate copies skipped")
            if self.load.superseded:
                parts.append(f"{self.load.superseded} earlier versions superseded")
            rows = ", ".join(f"{n} {t}" for t, n in sorted(self.load.rows.items()) if n)
            parts.append(f"rows: {rows or 'none'}")
        else:
            parts.append(f"{sum(o.records for o in self.outcomes)} records (dry run, nothing stored)")
        return "; ".join(parts)


def ingest(db: str | Path, paths: Iterable[str | Path], **options) -> IngestReport:
    """Ingest every result file under ``paths`` (see ``discover`` and ``ingest_files``)."""
    return ingest_files(db, discover(paths), **options)


def ingest_files(
    db: str | Path,
    files: Sequence[str],
    *,
    dry_run: bool = False,
    retry_quarantined: bool = False,
    workers: int | None = None,
    batch_files: int = BATCH_FILES,
    progress: Callable[[int], None] | None = None,
    lock_timeout: float | None = None,
    annotate: Callable[[StagedBatch], StagedBatch] | None = None,
    categories: Sequence[str] = (),
    read_ledger: bool = True,
    preparsed: Mapping[str, ParsedFile] | None = None,
    columnar_from: int = COLUMNAR_FROM,
) -> IngestReport:
    """Ingest the given result files into the warehouse at ``db``.

    Each batch of ``batch_files`` files is one transaction. ``progress`` is called with
    the number of files finished as chunks complete. A dry run parses and validates but
    writes nothing (it reads the ledger when the database exists). ``lock_timeout`` bounds
    the wait for another process's lock (default ``BENCHDB_LOCK_TIMEOUT``). ``annotate``
    adjusts each staged batch before it is stored (CI integration records ledger paths per
    CI run, and the commit, branch and CI metadata on the runs). With ``categories``, only
    files of those ledger categories are stored; the others stay unrecorded for a later ingest.
    ``read_ledger`` reads the ledger's content hashes first, to skip parsing files already
    stored; a caller whose files are new (the API's writer) saves that read, which grows
    with the ledger: a file stored already is still stored once. ``preparsed`` holds files
    their caller parsed already (the API's, parsed when validated), by path: not read again.
    From ``columnar_from`` files on, plain lists of performance rows are read as whole
    columns (``columnar``), the other files as before.
    """
    declared.declared_adapters(formats_dir())  # a declared mapping that cannot be used stops here, named
    report = IngestReport(files=len(files), dry_run=dry_run)
    if isinstance(files, Discovered):  # what discovery could not read counts as refused input
        report.outcomes.extend(
            FileOutcome(u.path, "unreadable", None, 0, f"{u.path}: {u.reason}") for u in files.unreadable
        )
    in_pool = pooled(len(files), workers)
    # Fewer files than make a pool are parsed in well under a second: one connection serves
    # the ledger's read and the load.
    few = len(files) < POOL_THRESHOLD
    with sessions(db, read_only=dry_run, lock_timeout=lock_timeout, hold=few) as opened:
        known: frozenset[str] = frozenset()
        # The ledger of an existing warehouse is read first. A writer that reads none, or
        # whose DuckDB file is not made yet, leaves the schema to the first load (a file
        # opened once, not twice: ~45 ms; a new one's schema made while the pool parses on:
        # ~0.3 s).
        if read_ledger and (is_lake(db) or Path(db).exists()):
            with opened() as con:
                if not dry_run:
                    ensure_schema(con)
                among = content_hashes(files) if few else None  # not the whole ledger for a few
                known = frozenset(known_hashes(con, retry_quarantined=retry_quarantined, among=among))
        chunks = parse_files(
            list(files),
            known,
            workers=workers,
            on_chunk=(lambda c: progress(len(c.outcomes))) if progress else None,
            categories=frozenset(categories),
            parsed=preparsed,
            chunk_files=min(CHUNK_FILES, batch_files),
            columnar_from=columnar_from,
            columnar_chunk_files=min(COLUMNAR_CHUNK_FILES, batch_files),
        )
        # The pool parses ahead while a batch is stored: one pool for every batch.
        for batch, last in _batches(chunks, batch_files, len(files)):
            started = time.perf_counter()
            for chunk in batch:
                report.outcomes.extend(chunk.outcomes)
            if dry_run:
                continue
            staged = StagedBatch.concat(chunk.batch for chunk in batch)
            if annotate:
                staged = annotate(staged)
            with opened() as con, _one_thread(con) if in_pool and not last else nullcontext():
                loaded = load_batch(con, staged, retry_quarantined=retry_quarantined)
            report.load.merge(loaded)
            for outcome in report.outcomes if loaded.duplicate_of else ():
                if outcome.path in loaded.duplicate_of:
                    outcome.status = "duplicate"
                    log.info(
                        "%s holds the results of %s, already stored",
                        outcome.path,
                        loaded.duplicate_of[outcome.path],
                    )
            log.info(
                "batch of %d files stored in %.1f s (%d new, %d already known, %d superseded)",
                staged.rows("files"),
                time.perf_counter() - started,
                loaded.files_loaded,
                loaded.duplicates,
                loaded.superseded,
            )
        if not dry_run and not is_lake(db) and not Path(db).exists():
            with opened() as con:  # nothing was stored: the warehouse is made all the same
                ensure_schema(con)
    for outcome in report.quarantined:
        log.info("quarantined %s", outcome.error)
    return report
