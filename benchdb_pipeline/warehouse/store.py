"""Connections, transactions and the set-based load of a staged batch, on either backend.

A warehouse is a DuckDB file or a lake (``ducklake:<catalog>``, see ``lake``); the same SQL
runs on both, and the few differences (how ids are made, the writers' lock) live here.
A DuckDB file admits one writing process at a time, so connections are short-lived: open,
do the work, close; a connection that meets another process's lock waits with backoff for
up to ``BENCHDB_LOCK_TIMEOUT`` seconds (default 60) instead of failing at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from benchdb_pipeline.config import is_lake
from benchdb_pipeline.errors import ConversionError, DatabaseConnectionError
from benchdb_pipeline.warehouse import lake
from benchdb_pipeline.warehouse.dimensions import HARDWARE_ATTRIBUTES, MODEL_ATTRIBUTES
from benchdb_pipeline.warehouse.identity import fingerprint, platform_key
from benchdb_pipeline.warehouse.schema import (
    FILE_FACT_TABLES,
    LIVE_FILE_STATUSES,
    ensure_schema,
    utc_now,
)
from benchdb_pipeline.warehouse.sql import fetch_value, lake_dsn
from benchdb_pipeline.warehouse.staging import STAGING_SCHEMAS, StagedBatch

CONNECTION_CONFIG = {
    # Halves bulk-insert time and memory; no query here relies on insertion order.
    "preserve_insertion_order": False,
}


def _lock_timeout() -> float:
    return float(os.environ.get("BENCHDB_LOCK_TIMEOUT", "60"))


def _ready(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    # DuckDB's own bar draws on stdout, into the JSON and tables the CLI prints there.
    con.execute("SET enable_progress_bar = false")
    return con


def connect(
    path: str | Path, *, read_only: bool = False, lock_timeout: float | None = None, create: bool = True
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting out another process's lock; raises DB001 on failure. A
    missing file (and its folder) is made for a writer unless ``create`` is off: work on a
    warehouse that must already be there, such as maintenance, is refused rather than run on
    an empty file. (``create`` is a file's: a lake's catalog is never made here.)"""
    if is_lake(path):
        settings = lake.LakeSettings.from_env(path)
        return _ready(lake.connect(settings, read_only=read_only, config=dict(CONNECTION_CONFIG)))
    path = str(path)
    if path != ":memory:":
        if (read_only or not create) and not Path(path).exists():
            raise DatabaseConnectionError(f"database {path} does not exist; run `benchdb schema create`")
        if not read_only:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + (_lock_timeout() if lock_timeout is None else lock_timeout)
    delay = 0.02
    while True:
        try:
            return _ready(duckdb.connect(path, read_only=read_only, config=dict(CONNECTION_CONFIG)))
        except duckdb.IOException as exc:
            locked = "lock" in str(exc).lower()
            if not locked or time.monotonic() >= deadline:
                why = "held by another process" if locked else "could not be opened"
                raise DatabaseConnectionError(f"database {path} {why}: {exc}") from exc
            time.sleep(delay)
            # Short polls: a writer that keeps writing leaves gaps of tens of milliseconds.
            delay = min(delay * 2, 0.1)
        except duckdb.Error as exc:
            raise DatabaseConnectionError(f"database {path} could not be opened: {exc}") from exc


@contextmanager
def session(
    path: str | Path, *, read_only: bool = False, lock_timeout: float | None = None, create: bool = True
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection that is closed when the work is done, whatever happens."""
    con = connect(path, read_only=read_only, lock_timeout=lock_timeout, create=create)
    try:
        yield con
    finally:
        con.close()


@contextmanager
def sessions(
    path: str | Path, *, read_only: bool = False, lock_timeout: float | None = None, hold: bool = False
) -> Iterator[Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]]:
    """Sessions for work that opens the warehouse several times with work between (read the
    ledger, parse, load). On a DuckDB file each is a connection of its own, closed when its
    block ends, since an open read-write connection keeps every other process out, unless the
    work between is short (``hold``: a few files parsed in this process), where one saves an
    open and a closing checkpoint (~40 ms); a lake's connection keeps nobody out, so one
    serves them all (attaching a lake costs ~60 ms). A held connection is opened when first
    needed and closed when the block ends."""
    if not is_lake(path) and not hold:
        yield lambda: session(path, read_only=read_only, lock_timeout=lock_timeout)
        return
    held: list[duckdb.DuckDBPyConnection] = []

    def opened() -> AbstractContextManager[duckdb.DuckDBPyConnection]:
        if not held:
            held.append(connect(path, read_only=read_only, lock_timeout=lock_timeout))
        return nullcontext(held[0])

    try:
        yield opened
    finally:
        for con in held:
            con.close()


# One writing block at a time in this process: a DuckDB file admits one writing process, and
# its threads take turns here, so that what a block reads is still so when it writes.
_FILE_WRITER = threading.RLock()


@contextmanager
def exclusive(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Nobody else writes for the duration of the block, for operations that read, then write
    what they read (natural keys stay unique: no index of the ledger's hashes or the runs'
    keys holds them, see schema migration 11). On a file, other processes are kept out by
    the read-write connection and this process's other threads by a lock; on a lake the block
    holds the writers' lock (the transactions inside it share it)."""
    dsn = lake_dsn(con)
    with lake.writer_lock(dsn) if dsn else _FILE_WRITER:
        yield con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """BEGIN … COMMIT, or ROLLBACK on any exception. On a lake the transaction holds the
    writers' lock from before it begins (so that it reads every commit before it) until it
    has committed: natural keys stay unique and deletes never conflict."""
    with exclusive(con):
        con.execute("BEGIN TRANSACTION")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")


def new_ids(
    con: duckdb.DuckDBPyConnection, table: str, rows_sql: str, params: list | dict | None = None
) -> str:
    """A SQL expression that gives each row of ``SELECT … FROM (rows_sql)`` a fresh id of
    ``table``: its sequence on a DuckDB file; on a lake (no sequences) a block reserved for
    that many rows, numbered by ``row_number()``, so use it only in the outermost SELECT over
    exactly those rows."""
    dsn = lake_dsn(con)
    if not dsn:
        return f"nextval('seq_{table}')"
    rows = fetch_value(con, f"SELECT count(*) FROM ({rows_sql})", params or [])
    first = lake.allocate_ids(dsn, table, max(rows, 1))
    return f"({first - 1} + row_number() OVER ())"


def known_hashes(
    con: duckdb.DuckDBPyConnection, *, retry_quarantined: bool = False, among: Sequence[str] | None = None
) -> set[str]:
    """Content hashes that need no reading: live in the ledger (optionally not quarantined).
    ``among``: of those hashes alone (a few files' ledger rows, not the whole ledger's)."""
    statuses = [s for s in LIVE_FILE_STATUSES if not (retry_quarantined and s == "quarantined")]
    sql, params = "SELECT sha256 FROM source_files WHERE list_contains(?, status)", [statuses]
    if among is not None:
        sql, params = sql + " AND sha256 IN (SELECT unnest(?::VARCHAR[]))", [statuses, list(among)]
    return {r[0] for r in con.execute(sql, params).fetchall()}


@dataclass
class LoadReport:
    """What one batch did to the warehouse."""

    files_staged: int = 0
    files_loaded: int = 0
    duplicates: int = 0
    superseded: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    # path of each file whose results were already stored -> path of the file they came from
    duplicate_of: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def merge(self, other: LoadReport) -> None:
        self.files_staged += other.files_staged
        self.files_loaded += other.files_loaded
        self.duplicates += other.duplicates
        self.superseded += other.superseded
        self.duplicate_of.update(other.duplicate_of)
        for key, value in other.by_status.items():
            self.by_status[key] = self.by_status.get(key, 0) + value
        for key, value in other.rows.items():
            self.rows[key] = self.rows.get(key, 0) + value


# The rows each fact table's rows own (staged with their owner's row_key).
_OWNED = {
    "performance_results": "performance_samples",
    "integration_test_results": "integration_test_assertions",
}
# Fact tables loaded from staging: (table, id column, model required, hardware required).
_FACTS = (
    ("performance_results", "result_id", True, True),
    ("hardware_compatibility", "compatibility_id", False, True),
    ("integration_test_results", "test_result_id", False, False),
    ("web_platform_results", "result_id", True, True),
)
_KEY_COLUMNS = {"row_key", "run_key_local", "file_key", "model_name", "platform_key"}
_ID_COLUMNS = {"models": "model_id", "hardware_platforms": "hardware_id"}


def load_batch(
    con: duckdb.DuckDBPyConnection,
    batch: StagedBatch,
    *,
    retry_quarantined: bool = False,
    now: datetime | None = None,
) -> LoadReport:
    """Load one staged batch in one transaction: ledger, supersede, dimensions, facts.

    Files whose content is already live in the ledger are skipped; a path that now holds
    new content supersedes its earlier version (its fact rows are deleted, its ledger row
    kept). Nothing of the batch is visible unless all of it commits.
    """
    now = now or utc_now()
    ensure_schema(con)
    names = [f"s_{name}" for name in STAGING_SCHEMAS]
    with _memory_default(con):
        for name, table in batch.tables.items():
            con.register(f"s_{name}", table)
    try:
        with transaction(con):
            return _load(con, retry_quarantined, now, batch)
    except duckdb.Error as exc:
        raise ConversionError(f"batch of {batch.rows('files')} files was not stored: {exc}") from exc
    finally:
        with _memory_default(con):
            for name in names:
                con.unregister(name)
        for temp in ("t_files", "t_superseded", "t_file_ids", "t_duplicates", "t_runs", "t_run_ids") + tuple(
            f"t_{table}_ids" for table, *_ in _FACTS
        ):
            # qualified in full: a bare name is looked up in the lake's catalog first
            con.execute(f"DROP TABLE IF EXISTS temp.main.{temp}")


@contextmanager
def _memory_default(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Registering a view looks its name up in the default catalog first: on a lake that is
    a catalog read (~5 ms a view), in memory nothing."""
    if not lake_dsn(con):
        yield
        return
    con.execute("USE memory")
    try:
        yield
    finally:
        con.execute(f"USE {lake.ALIAS}")


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> int:
    return fetch_value(con, sql, params or [])


def _load(
    con: duckdb.DuckDBPyConnection, retry_quarantined: bool, now: datetime, batch: StagedBatch
) -> LoadReport:
    report = LoadReport(files_staged=batch.rows("files"))
    # 1. Which staged files are new content (first copy in the batch, not live in the ledger).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE t_files AS
        WITH staged AS (
            SELECT *, row_number() OVER (PARTITION BY sha256 ORDER BY file_key) AS copy_no
            FROM s_files
        )
        SELECT s.* EXCLUDE (copy_no), sf.file_id AS existing_id
        FROM staged s LEFT JOIN source_files sf ON sf.sha256 = s.sha256
        WHERE s.copy_no = 1 AND s.status <> 'known'
          AND (sf.file_id IS NULL OR sf.status = 'superseded'
               OR (? AND sf.status = 'quarantined'))
        """,
        [retry_quarantined],
    )
    # 2. Earlier versions of the staged paths, unless that content is still staged somewhere.
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE t_superseded AS
        SELECT DISTINCT sf.file_id
        FROM source_files sf JOIN s_files s ON sf.path = s.path
        WHERE sf.status IN ('ingested', 'empty', 'quarantined', 'duplicate') AND sf.sha256 <> s.sha256
          AND sf.sha256 NOT IN (SELECT sha256 FROM s_files)
        """
    )
    # ... and the duplicates of a superseded file: their results are no longer stored, so
    # they are released to be read again (their ledger rows marked superseded as well).
    con.execute(
        """
        INSERT INTO t_superseded
        SELECT file_id FROM source_files
        WHERE status = 'duplicate' AND duplicate_of IN (SELECT file_id FROM t_superseded)
          AND file_id NOT IN (SELECT file_id FROM t_superseded)
        """
    )
    report.superseded = _count(con, "SELECT count(*) FROM t_superseded")
    if report.superseded:
        release_files(con, "SELECT file_id FROM t_superseded", now)
    # 3. Ledger rows: new content gets a new row, returning content revives its old row.
    ids = new_ids(con, "source_files", "SELECT * FROM t_files")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE t_file_ids AS
        SELECT file_key, coalesce(existing_id, {ids}) AS file_id, existing_id IS NOT NULL AS revived
        FROM t_files
        """
    )
    _find_duplicates(con)
    con.execute(
        """
        INSERT INTO source_files (file_id, path, sha256, size_bytes, format, category, status,
                                  record_count, error, file_modified_at, first_seen_at, ingested_at,
                                  results_sha256, duplicate_of)
        SELECT i.file_id, f.path, f.sha256, f.size_bytes, f.format, f.category, f.status,
               f.record_count, f.error, f.file_modified_at, $now, $now, f.results_sha256, d.duplicate_of
        FROM t_files f JOIN t_file_ids i USING (file_key) LEFT JOIN t_duplicates d USING (file_key)
        WHERE NOT i.revived
        """,
        {"now": now},
    )
    if _count(con, "SELECT count(*) FROM t_file_ids WHERE revived"):
        _revive(con, now)
    reasons = "SELECT i.file_id, q.* FROM s_quarantine q JOIN t_file_ids i USING (file_key)"
    report.rows["quarantine"] = (
        _count(
            con,
            f"""
            INSERT INTO quarantine (quarantine_id, file_id, record_locator, field, reason, quarantined_at)
            SELECT {new_ids(con, "quarantine", reasons)}, file_id, record_locator, field, reason, ?
            FROM ({reasons})
            """,
            [now],
        )
        if batch.rows("quarantine")
        else 0
    )
    report.files_loaded = _count(con, "SELECT count(*) FROM t_files")
    report.duplicates = report.files_staged - report.files_loaded
    report.by_status = dict(con.execute("SELECT status, count(*) FROM t_files GROUP BY ALL").fetchall())
    if _count(con, "SELECT count(*) FROM t_duplicates"):
        report.duplicate_of = dict(
            con.execute(
                "SELECT f.path, o.path FROM t_duplicates d JOIN t_files f USING (file_key) "
                "JOIN source_files o ON o.file_id = d.duplicate_of"
            ).fetchall()
        )
    # 4. Dimensions: insert new ones; attributes merge so that the smallest non-null value
    #    wins, which makes the result independent of the order files arrive in.
    #    A table with nothing staged costs no statement: on a lake each one reaches the catalog.
    if batch.rows("models"):
        _upsert_dimension(con, "models", "model_name", [*MODEL_ATTRIBUTES, "metadata"], now)
    if batch.rows("hardware_platforms"):
        _upsert_dimension(
            con, "hardware_platforms", "platform_key", [*HARDWARE_ATTRIBUTES, "fingerprint", "metadata"], now
        )
    # 5. Runs, by natural key: a revived file finds the run rows it had before.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE t_runs AS "
        "SELECT r.*, i.file_id FROM s_test_runs r JOIN t_file_ids i USING (file_key) "
        "WHERE file_key NOT IN (SELECT file_key FROM t_duplicates)"
    )
    run_columns = [c for c in STAGING_SCHEMAS["test_runs"].names if c not in ("run_key_local", "file_key")]
    cols = ", ".join(run_columns)
    select = ", ".join("metadata::JSON" if c == "metadata" else c for c in run_columns)
    # A run already stored (its file revived, or the same run in two files) is not added again;
    # the stored keys are looked for among the batch's (no hash table of every run's key).
    new_runs = (
        "SELECT DISTINCT ON (run_key) * FROM t_runs WHERE run_key NOT IN "
        "(SELECT run_key FROM test_runs WHERE run_key IN (SELECT run_key FROM t_runs))"
    )
    report.rows["test_runs"] = _count(
        con,
        f"INSERT INTO test_runs (run_id, {cols}, source_file_id, created_at) "
        f"SELECT {new_ids(con, 'test_runs', new_runs)}, {select}, file_id, ? FROM ({new_runs})",
        [now],
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE t_run_ids AS "
        "SELECT t.run_key_local, tr.run_id, t.file_id FROM t_runs t JOIN test_runs tr USING (run_key)"
    )
    # 6. Facts and their owned rows.
    for table, id_col, model_required, hardware_required in _FACTS:
        report.rows[table] = (
            _insert_fact(
                con,
                table,
                id_col,
                batch.tables[table],
                model_required,
                hardware_required,
                now,
                owns=table in _OWNED and bool(batch.rows(_OWNED[table])),
            )
            if batch.rows(table)
            else 0
        )
    report.rows["performance_samples"] = (
        _count(
            con,
            """
            INSERT INTO performance_samples (result_id, iteration, latency_ms)
            SELECT i.id, s.iteration, s.latency_ms
            FROM s_performance_samples s JOIN t_performance_results_ids i USING (row_key)
            """,
        )
        if batch.rows("performance_samples")
        else 0
    )
    assertions = (
        "SELECT i.id AS test_result_id, a.* FROM s_integration_test_assertions a "
        "JOIN t_integration_test_results_ids i USING (row_key)"
    )
    report.rows["integration_test_assertions"] = (
        _count(
            con,
            f"""
            INSERT INTO integration_test_assertions
                (assertion_id, test_result_id, assertion_name, passed, expected_value, actual_value,
                 message, created_at)
            SELECT {new_ids(con, "integration_test_assertions", assertions)}, test_result_id,
                   assertion_name, passed, expected_value, actual_value, message, ?
            FROM ({assertions})
            """,
            [now],
        )
        if batch.rows("integration_test_assertions")
        else 0
    )
    return report


def _revive(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Ledger rows of content that returns (superseded, or quarantined and retried) live again,
    their old quarantine reasons gone."""
    con.execute(
        """
        UPDATE source_files
        SET path = f.path, format = f.format, category = f.category, status = f.status,
            record_count = f.record_count, error = f.error,
            file_modified_at = f.file_modified_at, ingested_at = $now, superseded_at = NULL,
            results_sha256 = f.results_sha256, duplicate_of = d.duplicate_of
        FROM t_files f LEFT JOIN t_duplicates d USING (file_key)
        WHERE source_files.file_id = f.existing_id
        """,
        {"now": now},
    )
    con.execute(
        "DELETE FROM quarantine WHERE file_id IN "
        "(SELECT existing_id FROM t_files WHERE existing_id IS NOT NULL)"
    )


def _find_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """t_duplicates: the new files whose results (``results_sha256``) are already stored, from
    a file of the ledger still live or from the first (by path) of this batch, and that file;
    they become status 'duplicate' and add no rows. A duplicate merged from another warehouse
    finds its original here by the same identity."""
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE t_duplicates AS
        WITH candidates AS (
            SELECT f.file_key, f.results_sha256, f.path, f.status, i.file_id
            FROM t_files f JOIN t_file_ids i USING (file_key)
            WHERE f.status IN ('ingested', 'duplicate') AND f.results_sha256 IS NOT NULL
        ), stored AS (
            SELECT results_sha256, min(file_id) AS file_id FROM source_files
            WHERE status = 'ingested' AND results_sha256 IN (SELECT results_sha256 FROM candidates)
              AND file_id NOT IN (SELECT file_id FROM t_superseded)
              AND file_id NOT IN (SELECT file_id FROM candidates)
            GROUP BY results_sha256
        ), first_in_batch AS (
            SELECT results_sha256, arg_min(file_id, (path, file_key)) AS file_id FROM candidates
            WHERE status = 'ingested' GROUP BY results_sha256
        )
        SELECT c.file_key, coalesce(s.file_id, b.file_id) AS duplicate_of
        FROM candidates c
        LEFT JOIN stored s USING (results_sha256)
        LEFT JOIN first_in_batch b USING (results_sha256)
        WHERE c.status = 'duplicate' OR s.file_id IS NOT NULL OR b.file_id <> c.file_id
        """
    )
    con.execute(
        "UPDATE t_files SET status = 'duplicate' WHERE file_key IN (SELECT file_key FROM t_duplicates)"
    )


def _upsert_dimension(
    con: duckdb.DuckDBPyConnection, table: str, key: str, attributes: list[str], now: datetime
) -> None:
    def value(col: str) -> str:
        return f"min({col})::JSON" if col == "metadata" else f"min({col})"

    staged = (
        f"SELECT {key}, {', '.join(f'{value(c)} AS {c}' for c in attributes)} FROM s_{table} GROUP BY {key}"
    )
    columns = ", ".join(attributes)
    con.execute(
        f"""
        MERGE INTO {table} USING (SELECT {new_ids(con, table, staged)} AS new_id, * FROM ({staged})) s
        ON {table}.{key} = s.{key}
        WHEN MATCHED THEN UPDATE SET {", ".join(f"{c} = least({table}.{c}, s.{c})" for c in attributes)}
        WHEN NOT MATCHED THEN INSERT ({_ID_COLUMNS[table]}, {key}, {columns}, created_at)
            VALUES (s.new_id, s.{key}, {", ".join(f"s.{c}" for c in attributes)}, ?)
        """,
        [now],
    )


def _insert_fact(
    con: duckdb.DuckDBPyConnection,
    table: str,
    id_col: str,
    staged: pa.Table,
    model_required: bool,
    hardware_required: bool,
    now: datetime,
    *,
    owns: bool,
) -> int:
    """Insert a fact table's staged rows of the batch's runs; where they own rows of the
    batch (``owns``: samples, assertions), t_<table>_ids keeps each row's id by its row_key."""
    resolved = _resolved(con, table, staged, model_required, hardware_required)
    view = f"r_{table}"
    with _memory_default(con):
        con.register(view, resolved)
    try:
        direct = [c for c in STAGING_SCHEMAS[table].names if c not in _KEY_COLUMNS]
        if owns:
            keys = f"SELECT row_key FROM {view}"
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE t_{table}_ids AS "
                f"SELECT {new_ids(con, table, keys)} AS id, row_key FROM ({keys})"
            )
        values = ", ".join(f"s.{c}::JSON" if c in ("metrics", "metadata") else f"s.{c}" for c in direct)
        rows = f"""
            SELECT {"i.id, " if owns else ""}s.run_id, s.model_id, s.hardware_id, s.file_id, {values}
            FROM {view} s {f"JOIN t_{table}_ids i USING (row_key)" if owns else ""}"""
        ids = "" if owns else f"{new_ids(con, table, rows)}, "
        return _count(
            con,
            f"""
            INSERT INTO {table} ({id_col}, run_id, model_id, hardware_id, source_file_id,
                                 {", ".join(direct)}, created_at)
            SELECT {ids}*, ? FROM ({rows})
            """,
            [now],
        )
    finally:
        with _memory_default(con):
            con.unregister(view)


def _resolved(
    con: duckdb.DuckDBPyConnection,
    table: str,
    staged: pa.Table,
    model_required: bool,
    hardware_required: bool,
) -> pa.Table:
    """The staged rows of the batch's runs (t_run_ids) with their run, file, model and platform
    ids, looked up in Arrow: joining every row on its text keys in SQL cost ~4x the insert."""
    runs = con.execute("SELECT run_key_local, run_id, file_id FROM t_run_ids").to_arrow_table()
    at = pc.index_in(staged["run_key_local"], value_set=runs["run_key_local"])
    of_runs = pc.is_valid(at)
    staged, at = staged.filter(of_runs), at.filter(of_runs)
    columns = {"run_id": runs["run_id"].take(at), "file_id": runs["file_id"].take(at)}
    for id_col, dimension, key, required in (
        ("model_id", "models", "model_name", model_required),
        ("hardware_id", "hardware_platforms", "platform_key", hardware_required),
    ):
        known = con.execute(
            f"SELECT {key}, {id_col} FROM {dimension} WHERE {key} IN (SELECT {key} FROM s_{table})"
        ).to_arrow_table()
        ids = known[id_col].take(pc.index_in(staged[key], value_set=known[key]))
        if required and ids.null_count:
            raise ConversionError(
                f"{table}: {staged.num_rows} staged rows resolved to {staged.num_rows - ids.null_count}; "
                "a dimension was missing"
            )
        columns[id_col] = ids
    for name, values in columns.items():
        staged = staged.append_column(name, values)
    return staged


def release_files(con: duckdb.DuckDBPyConnection, file_ids_sql: str, now: datetime) -> None:
    """Mark the given files superseded and delete their fact rows: their content is read
    again, as new, by the next ingest that finds it."""
    _delete_file_facts(con, file_ids_sql)
    con.execute(
        f"UPDATE source_files SET status = 'superseded', superseded_at = ? WHERE file_id IN ({file_ids_sql})",
        [now],
    )


def _delete_file_facts(con: duckdb.DuckDBPyConnection, file_ids_sql: str) -> None:
    """Delete every fact row that came from the given files, owned rows first."""
    con.execute(
        f"DELETE FROM performance_samples WHERE result_id IN (SELECT result_id FROM "
        f"performance_results WHERE source_file_id IN ({file_ids_sql}))"
    )
    con.execute(
        f"DELETE FROM integration_test_assertions WHERE test_result_id IN (SELECT test_result_id "
        f"FROM integration_test_results WHERE source_file_id IN ({file_ids_sql}))"
    )
    for table in FILE_FACT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE source_file_id IN ({file_ids_sql})")


def ensure_model(con: duckdb.DuckDBPyConnection, model_name: str, **attributes) -> int:
    """The id of a model by name, adding it (with the given attributes) when new."""
    return _ensure(con, "models", "model_name", {"model_name": model_name, **attributes})


def ensure_hardware(
    con: duckdb.DuckDBPyConnection, hardware_type: str, device_name: str | None, **attributes
) -> int:
    """The id of a hardware platform by its identity (see ``identity``), adding it when new."""
    key = platform_key({"hardware_type": hardware_type, "device_name": device_name, **attributes})
    values = {"platform_key": key, "fingerprint": fingerprint(key), "hardware_type": hardware_type}
    return _ensure(
        con, "hardware_platforms", "platform_key", {**values, "device_name": device_name, **attributes}
    )


def _ensure(con: duckdb.DuckDBPyConnection, table: str, key: str, values: dict) -> int:
    """The id of the ``table`` row whose ``key`` is ``values[key]``, inserted when absent."""
    columns = [*values, "created_at"]
    missing = f"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {key} = $key)"
    params = {"key": values[key]}
    con.execute(
        f"INSERT INTO {table} ({_ID_COLUMNS[table]}, {', '.join(columns)}) "
        f"SELECT {new_ids(con, table, missing, params)}, {', '.join(f'${c}' for c in columns)} FROM ({missing})",
        {**params, **values, "created_at": utc_now()},
    )
    return fetch_value(con, f"SELECT {_ID_COLUMNS[table]} FROM {table} WHERE {key} = ?", [values[key]])
