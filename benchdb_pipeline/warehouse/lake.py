"""The warehouse on DuckLake: its catalog in PostgreSQL, its data as Parquet files on a shared
path, so that many processes on many machines read and write one warehouse.

A lake's address is ``ducklake:<catalog>`` (``BENCHDB_BACKEND=ducklake`` makes
``BENCHDB_LAKE_CATALOG`` the default address); callers pass it where they pass a DuckDB file
and never see the difference, since a lake connection has the lake as its default catalog.
What DuckLake cannot declare is kept here: ids come in blocks from a counter table in
PostgreSQL, a writing transaction holds one PostgreSQL advisory lock (natural-key dedup and
deletes across processes need it), and keys, references and ranges are integrity checks.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from functools import cache
from importlib import import_module
from pathlib import Path
from typing import Any

import duckdb

from benchdb_pipeline.config import LAKE_PREFIX, lake_address
from benchdb_pipeline.errors import DatabaseConnectionError, SchemaError
from benchdb_pipeline.warehouse.schema import (
    MIGRATIONS,
    create_views,
    ensure_schema,
    existing_tables,
    utc_now,
)
from benchdb_pipeline.warehouse.sql import LAKE_DSN_VARIABLE, lake_dsn

ALIAS = "lake"
COUNTERS_SCHEMA = "benchdb"
# The one advisory lock every writing transaction of every lake holds (two lakes in one
# PostgreSQL database share it, which costs only concurrency).
LOCK_KEY = 0x62656E6368  # "bench"
# DuckLake's own package names and the extension names they load as.
EXTENSIONS = {"duckdb_extension_ducklake": "ducklake", "duckdb_extension_postgres": "postgres_scanner"}


@dataclass(frozen=True)
class LakeSettings:
    """Where a lake lives and how it is attached; from the environment by ``from_env``."""

    catalog: str  # DuckLake's catalog string, e.g. "postgres:host=127.0.0.1 dbname=benchdb"
    data_path: str  # where its Parquet files go; the lake remembers it, so only init needs it
    metadata_schema: str = "benchdb_lake"
    inlining_row_limit: int | None = None
    max_retry_count: int = 100
    # the PostgreSQL role of the API's /query: it may read the lake's metadata and nothing else
    reader_role: str = "benchdb_reader"

    @classmethod
    def from_env(cls, address: str | Path | None = None) -> LakeSettings:
        catalog = str(address)[len(LAKE_PREFIX) :] if address else os.environ.get("BENCHDB_LAKE_CATALOG", "")
        if not catalog:
            raise DatabaseConnectionError(
                "the lake needs BENCHDB_LAKE_CATALOG, e.g. 'postgres:host=127.0.0.1 dbname=benchdb user=bench'"
            )
        data = os.environ.get("BENCHDB_LAKE_DATA", "")
        inlining = os.environ.get("BENCHDB_LAKE_INLINING_ROWS")
        return cls(
            catalog=catalog,
            data_path=data.rstrip("/") + "/" if data else "",
            metadata_schema=os.environ.get("BENCHDB_LAKE_SCHEMA", cls.metadata_schema),
            inlining_row_limit=int(inlining) if inlining else None,
            max_retry_count=int(os.environ.get("BENCHDB_LAKE_RETRIES", cls.max_retry_count)),
            reader_role=os.environ.get("BENCHDB_LAKE_READER", cls.reader_role),
        )

    @property
    def address(self) -> str:
        return lake_address(self.catalog)

    @property
    def dsn(self) -> str:
        """The libpq connection string of the catalog database."""
        if not self.catalog.startswith("postgres:"):
            raise DatabaseConnectionError(
                f"lake catalog {self.catalog!r}: only a PostgreSQL catalog is supported"
            )
        return self.catalog[len("postgres:") :]

    def as_reader(self) -> LakeSettings:
        """The same lake reached as its reader role (password ``BENCHDB_LAKE_READER_PASSWORD``)."""
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", self.reader_role):
            raise DatabaseConnectionError(
                f"BENCHDB_LAKE_READER={self.reader_role!r} is not a plain role name"
            )
        kept = [p for p in self.dsn.split() if not p.startswith(("user=", "password="))]
        password = os.environ.get("BENCHDB_LAKE_READER_PASSWORD")
        parts = [*kept, f"user={self.reader_role}", *([f"password={password}"] if password else [])]
        return replace(self, catalog="postgres:" + " ".join(parts))


@dataclass(frozen=True)
class LakeSnapshot:
    """One snapshot version of a lake: what a reader in another process attaches."""

    address: str
    version: int


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckLake and the PostgreSQL scanner from their pip packages (no download); the
    first load installs them into DuckDB's extension folder."""
    for package, name in EXTENSIONS.items():
        try:
            con.execute(f"LOAD {name}")
            continue
        except duckdb.Error:
            pass
        try:
            folder = Path(import_module(package).__path__[0]) / "extensions" / f"v{duckdb.__version__}"
        except ImportError:
            raise DatabaseConnectionError(
                f"the lake needs {package.replace('_', '-')}: pip install -e '.[lake]'"
            ) from None
        files = list(folder.glob("*.duckdb_extension"))
        if not files:
            raise DatabaseConnectionError(
                f"{package} has no extension for duckdb {duckdb.__version__} (the lake extra pins duckdb)"
            )
        con.execute(f"INSTALL '{files[0]}'")
        con.execute(f"LOAD {name}")


def connect(
    settings: LakeSettings,
    *,
    read_only: bool,
    config: dict[str, Any],
    snapshot: int | None = None,
    creating: bool = False,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as its default catalog; ``snapshot`` pins a
    read-only connection to that snapshot of the lake (a consistent read that never moves).
    The data path is the lake's own (given only when ``creating`` it), so a machine whose
    ``BENCHDB_LAKE_DATA`` differs still opens it."""
    # Verifying the extensions' signatures costs 0.2 s a connection, half of a small ingest's
    # time. They are the pip packages' (checked by pip), installed from there into DuckDB's
    # extension folder; a /query worker turns external access off after attaching, so no
    # query can load another.
    con = duckdb.connect(config={**config, "allow_unsigned_extensions": True})
    try:
        load_extensions(con)
        con.execute(f"SET ducklake_max_retry_count = {settings.max_retry_count}")
        options = [f"METADATA_SCHEMA {_literal(settings.metadata_schema)}"]
        if creating and settings.data_path:
            options.append(f"DATA_PATH {_literal(settings.data_path)}")
        if settings.inlining_row_limit is not None:
            options.append(f"DATA_INLINING_ROW_LIMIT {settings.inlining_row_limit}")
        if read_only:
            options.append("READ_ONLY")
        if snapshot is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
        con.execute(f"ATTACH {_literal(settings.address)} AS {ALIAS} ({', '.join(options)})")
        con.execute(f"USE {ALIAS}")
        con.execute(f"SET VARIABLE {LAKE_DSN_VARIABLE} = {_literal(settings.dsn)}")
    except duckdb.Error as exc:
        con.close()
        if "data_path is not set" in str(exc):  # the catalog holds no lake: never made here
            raise SchemaError(
                f"{display(settings.address)} holds no lake yet: run `benchdb lake init`"
            ) from None
        raise DatabaseConnectionError(f"lake {display(settings.address)} could not be opened: {exc}") from exc
    except BaseException:
        con.close()
        raise
    return con


def postgres_connect(dsn: str) -> Any:
    try:
        import psycopg2
    except ImportError:
        raise DatabaseConnectionError("the lake needs psycopg2: pip install -e '.[lake]'") from None
    try:
        return psycopg2.connect(dsn)
    except psycopg2.Error as exc:
        raise DatabaseConnectionError(f"lake catalog {dsn!r} could not be reached: {exc}".strip()) from exc


# The catalog session that holds the writers' lock in this thread or task, and its database:
# the id counters are reached through it rather than through a session of their own.
_LOCKED: ContextVar[tuple[str, Any] | None] = ContextVar("benchdb_lake_locked", default=None)


@contextmanager
def writer_lock(dsn: str) -> Iterator[Any]:
    """Hold the lake's advisory lock (one writing transaction at a time across machines);
    yields the catalog session that holds it, in autocommit. Within a block that holds it
    already (an operation of several transactions), it is that block's session."""
    held = _LOCKED.get()
    if held is not None and held[0] == dsn:
        yield held[1]
        return
    pg = postgres_connect(dsn)
    token = None
    try:
        pg.autocommit = True
        with pg.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        token = _LOCKED.set((dsn, pg))
        yield pg
    finally:
        if token is not None:
            _LOCKED.reset(token)
        pg.close()  # ends the session, which releases the lock even if the unlock is never sent


def allocate_ids(dsn: str, table: str, count: int) -> int:
    """The first of ``count`` fresh ids of ``table``; blocks never overlap across machines and
    grow with time, so the newest id is still the latest row."""
    held = _LOCKED.get()
    if held is not None and held[0] == dsn:
        row = _next_block(held[1], table, count)
    else:
        pg = postgres_connect(dsn)
        try:
            pg.autocommit = True
            row = _next_block(pg, table, count)
        finally:
            pg.close()
    if row is None:
        raise SchemaError(f"the lake has no id counter for {table}: run `benchdb lake init`")
    return int(row[0])


def _next_block(pg: Any, table: str, count: int) -> tuple[int] | None:
    with pg.cursor() as cursor:
        cursor.execute(
            f"UPDATE {COUNTERS_SCHEMA}.id_counters SET next_id = next_id + %s "
            "WHERE table_name = %s RETURNING next_id - %s",
            [count, table, count],
        )
        return cursor.fetchone()


def postgres_program(name: str) -> Path | None:
    """A PostgreSQL program (pg_dump, psql, initdb, …): on PATH, else in Debian's newest
    /usr/lib/postgresql/N/bin, which is not on PATH."""
    found = shutil.which(name)
    if found:
        return Path(found)
    versions = sorted(
        Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parent.parent.name)
    )
    return versions[-1] if versions else None


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of a lake connection that sees what the connection sees: a cursor is a new
    session, whose default catalog is the in-memory one, so it is pointed at the lake (and,
    after it, at tables the connection made in memory)."""
    new = con.cursor()
    new.execute(f"USE {ALIAS}")
    new.execute(f"SET search_path = '{ALIAS}.main,memory.main'")
    return new


def current_snapshot(settings: LakeSettings) -> int:
    """The id of the lake's newest snapshot, asked of the catalog (cheap: one small query)."""
    pg = postgres_connect(settings.dsn)
    try:
        with pg.cursor() as cursor:
            cursor.execute(f'SELECT max(snapshot_id) FROM "{settings.metadata_schema}".ducklake_snapshot')
            row = cursor.fetchone()
    finally:
        pg.close()
    return int(row[0])


def compact(con: duckdb.DuckDBPyConnection, expire_after: str = "7 days") -> dict[str, Any]:
    """DuckLake's CHECKPOINT (inlined rows flushed, small files merged, snapshots older than
    ``expire_after`` expired, files nobody needs deleted), under the writers' lock since it
    rewrites what writers delete from; what it changed, for the maintenance record."""
    dsn = lake_dsn(con)
    if dsn is None:
        raise DatabaseConnectionError("compaction is for a lake; a DuckDB file has CHECKPOINT and VACUUM")
    before = _files(con)
    with writer_lock(dsn):
        con.execute(f"CALL {ALIAS}.set_option('expire_older_than', {_literal(expire_after)})")
        con.execute(f"CALL {ALIAS}.set_option('delete_older_than', {_literal(expire_after)})")
        con.execute("CHECKPOINT")
    after = _files(con)
    return {
        "data_files_before": before[0],
        "data_files": after[0],
        "data_mb": round(after[1] / 2**20, 2),
        "snapshots_before": before[2],
        "snapshots": after[2],
    }


def _files(con: duckdb.DuckDBPyConnection) -> tuple[int, int, int]:
    files, size = con.execute(
        f"SELECT coalesce(sum(file_count), 0), coalesce(sum(file_size_bytes), 0) FROM ducklake_table_info('{ALIAS}')"
    ).fetchone() or (0, 0)
    snapshots = con.execute(f"SELECT count(*) FROM ducklake_snapshots('{ALIAS}')").fetchone()
    return int(files), int(size), int(snapshots[0] if snapshots else 0)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Parquet has no 128-bit integer: DuckDB writes a HUGEINT as a DOUBLE when the lake flushes
# its inlined rows, so an archive checksum would lose its low digits. DECIMAL(38,0) is exact.
LAKE_TYPES = {"HUGEINT": "DECIMAL(38,0)"}


@dataclass(frozen=True)
class FileSchema:
    """The current schema as the DuckDB file builds it: the lake's tables are made from it
    and its constraints become the lake's checks, so nothing is written twice."""

    # table -> (column, type, NOT NULL, literal default or None)
    tables: dict[str, tuple[tuple[str, str, bool, str | None], ...]]
    # (table, PRIMARY KEY / UNIQUE / CHECK, CHECK expression, columns)
    rules: tuple[tuple[str, str, str, tuple[str, ...]], ...]
    # table -> its generated id column
    ids: dict[str, str]

    def ddl(self) -> list[str]:
        """CREATE TABLE statements in the subset DuckLake accepts."""
        statements = []
        for table, columns in self.tables.items():
            parts = [
                f'"{column}" {LAKE_TYPES.get(data_type, data_type)}'
                + (" NOT NULL" if not_null else "")
                + (f" DEFAULT {default}" if default is not None else "")
                for column, data_type, not_null, default in columns
            ]
            statements.append(f"CREATE TABLE {table} ({', '.join(parts)})")
        return statements


@cache
def file_schema() -> FileSchema:
    with duckdb.connect() as con:
        ensure_schema(con)
        columns = con.execute(
            "SELECT table_name, column_name, data_type, NOT is_nullable, column_default "
            "FROM duckdb_columns() c JOIN duckdb_tables() USING (database_name, schema_name, table_name) "
            "WHERE database_name = current_database() AND schema_name = 'main' "
            "ORDER BY table_name, column_index"
        ).fetchall()
        rules = con.execute(
            "SELECT table_name, constraint_type, coalesce(expression, ''), constraint_column_names "
            "FROM duckdb_constraints() WHERE database_name = current_database() "
            "AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'CHECK') ORDER BY ALL"
        ).fetchall()
    tables: dict[str, list[tuple[str, str, bool, str | None]]] = {}
    ids = {}
    for table, column, data_type, not_null, default in columns:
        generated = default is not None and default.startswith("nextval")
        if generated:
            ids[table] = column
        tables.setdefault(table, []).append((column, data_type, not_null, None if generated else default))
    return FileSchema(
        tables={t: tuple(c) for t, c in tables.items()},
        rules=tuple((t, kind, text, tuple(cols)) for t, kind, text, cols in rules),
        ids=ids,
    )


def init(settings: LakeSettings, config: dict[str, Any]) -> bool:
    """Create the lake once: its id counters in PostgreSQL, then its tables, views and schema
    version; False (and nothing changed) when it exists already. Either way its reader role
    is granted what it may read. Under the writers' lock, so that machines starting together
    create it once."""
    if not settings.data_path:
        raise DatabaseConnectionError(
            "a new lake needs BENCHDB_LAKE_DATA: the shared folder of its Parquet files"
        )
    schema = file_schema()
    with writer_lock(settings.dsn) as pg, pg.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {COUNTERS_SCHEMA}")
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {COUNTERS_SCHEMA}.id_counters "
            "(table_name TEXT PRIMARY KEY, next_id BIGINT NOT NULL)"
        )
        for table in schema.ids:
            cursor.execute(
                f"INSERT INTO {COUNTERS_SCHEMA}.id_counters VALUES (%s, 1) ON CONFLICT DO NOTHING", [table]
            )
        con = connect(settings, read_only=False, config=config, creating=True)
        try:
            created = "schema_version" not in existing_tables(con)
            if created:
                con.execute("BEGIN TRANSACTION")
                for statement in schema.ddl():
                    con.execute(statement)
                create_views(con)
                now = utc_now()
                con.executemany(
                    "INSERT INTO schema_version VALUES (?, ?, ?)",
                    [[m.version, m.description, now] for m in MIGRATIONS],
                )
                con.execute("COMMIT")
        finally:
            con.close()
        _grant_reader(cursor, settings)
        return created


def _grant_reader(cursor: Any, settings: LakeSettings) -> None:
    """The reader role (made when missing) may log in and SELECT the lake's metadata, now and
    as DuckLake adds tables to it; nothing else of the catalog database (not the counters)."""
    role, schema = settings.as_reader().reader_role, settings.metadata_schema
    password = os.environ.get("BENCHDB_LAKE_READER_PASSWORD")
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    if cursor.fetchone() is None:
        cursor.execute(f"CREATE ROLE {role} LOGIN")
    if password:
        cursor.execute(f"ALTER ROLE {role} PASSWORD %s", [password])
    cursor.execute("SELECT current_database()")
    (database,) = cursor.fetchone()
    cursor.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role}')
    cursor.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO {role}')
    cursor.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO {role}')
    cursor.execute(f'ALTER DEFAULT PRIVILEGES IN SCHEMA "{schema}" GRANT SELECT ON TABLES TO {role}')


def display(address: str) -> str:
    """An address fit to print or log: a password in the catalog string is not repeated."""
    return re.sub(r"password=\S+", "password=…", address)


def describe(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Which backend a connection is on and where: for ``benchdb status`` and the API."""
    if not lake_dsn(con):
        path = con.execute(
            "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
        ).fetchone()
        return {"backend": "duckdb", "path": path[0] if path else None}
    options = dict(con.execute(f"SELECT option_name, value FROM ducklake_options('{ALIAS}')").fetchall())
    snapshot = con.execute(f"SELECT * FROM ducklake_current_snapshot('{ALIAS}')").fetchone()
    catalog = con.execute(f"SELECT path FROM duckdb_databases() WHERE database_name = '{ALIAS}'").fetchone()
    return {
        "backend": "ducklake",
        # a password given in the catalog string is not repeated
        "catalog": display(catalog[0] if catalog else ""),
        "data_path": options.get("data_path"),
        "snapshot": snapshot[0] if snapshot else None,
    }
