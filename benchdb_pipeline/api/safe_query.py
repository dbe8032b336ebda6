"""One read-only SELECT from a user, with a row limit and a time limit.

Locks, each enough on its own for most attacks: the text is parsed (by DuckDB's parser alone,
which touches no file: ``IMPORT DATABASE`` is never expanded) to exactly one SELECT that calls
none of the functions that reveal the server (its settings, paths, databases, logs); it runs on
a read-only snapshot whose settings are locked with external access off (no files, no ATTACH,
no extensions); it is interrupted after ``time_limit`` seconds and cut at ``row_limit`` rows
and ``byte_limit`` bytes; and the server runs it in a worker process it can kill
(``query_workers``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import duckdb
import orjson

from benchdb_pipeline.warehouse.sql import fetch_value


class Refused(ValueError):
    """The query is not a single read-only SELECT, or it broke a limit."""


class OutOfMemory(Refused):
    """The query needed more memory than it may hold."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool


# Reads only: no files, no extensions, no network, settings fixed.
READ_CONFIG: dict[str, str | int | float | list[str]] = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "lock_configuration": True,
    "memory_limit": "2GB",
    "threads": 2,
}

# The system functions and views a query may use: they describe the warehouse's tables. Every
# other ``duckdb_*`` and ``pragma_*`` name is refused, with the settings' readers: they show
# the server's paths, settings, databases, extensions, secrets, memory and logs.
SYSTEM_ALLOWED = frozenset(
    f"duckdb_{name}"
    for name in (
        "columns constraints dependencies functions indexes keywords schemas sequences tables types views"
    ).split()
) | {"pragma_table_info", "pragma_show", "pragma_version", "pragma_platform"}
REFUSED_NAMES = frozenset({"current_setting", "getenv", "pg_settings"})
# A lake's functions (they show its paths and files), the PostgreSQL scanner's (they reach the
# catalog database) and the lake's metadata catalog itself.
REFUSED_PREFIXES = ("ducklake_", "postgres_", "__ducklake_metadata")

_parser = duckdb.connect(config={"enable_external_access": False})


def check(sql: str) -> None:
    """Refused, saying why, unless ``sql`` is one SELECT that reveals nothing of the server."""
    with _parser.cursor() as cursor:
        parsed = orjson.loads(fetch_value(cursor, "SELECT json_serialize_sql(?::VARCHAR)", [sql]))
    if parsed["error"]:
        message = parsed.get("error_message", "")
        if message.startswith("Only SELECT"):
            raise Refused("only a SELECT is allowed")
        raise Refused(f"the query does not parse: {message}")
    statements = parsed["statements"]
    if len(statements) != 1:
        raise Refused(f"exactly one statement is allowed, found {len(statements)}")
    refused = sorted(name for name in _names(statements[0]) if _refused(name))
    if refused:
        raise Refused(
            f"the query uses {', '.join(refused)}, which a query may not use: it reveals the server"
        )


def _refused(name: str) -> bool:
    name = name.lower()
    system = name.startswith(("duckdb_", "pragma_"))
    return (
        name in REFUSED_NAMES or name.startswith(REFUSED_PREFIXES) or (system and name not in SYSTEM_ALLOWED)
    )


def _names(node: object) -> set[str]:
    """Every function, table and catalog name a parsed statement refers to, at any depth."""
    names: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key in ("function_name", "table_name", "catalog_name"):
                if isinstance(item.get(key), str):
                    names.add(item[key])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return names


MAX_ANSWER_BYTES = 16 * 2**20  # the rows of one answer, as JSON


class Watchdog:
    """One thread that interrupts the running query at its deadline. Started once, before a
    worker takes on its memory limit, under which a thread per query may fail to start."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self._deadline = 0.0
        threading.Thread(target=self._watch, name="benchdb-query-watchdog", daemon=True).start()

    @contextmanager
    def limit(self, cursor: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[None]:
        with self._changed:
            self._cursor, self._deadline = cursor, time.monotonic() + seconds
            self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                self._cursor = None
                self._changed.notify()

    def _watch(self) -> None:
        with self._changed:
            while True:
                if self._cursor is None:
                    self._changed.wait()
                elif (left := self._deadline - time.monotonic()) > 0:
                    self._changed.wait(left)
                else:
                    self._cursor.interrupt()
                    self._cursor = None


def run(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: list | None,
    *,
    row_limit: int,
    time_limit: float,
    watchdog: Watchdog,
    byte_limit: int = MAX_ANSWER_BYTES,
) -> QueryResult:
    """Run a SELECT that passed ``check`` (the server checks it before it takes a slot) on
    ``cursor`` (a read-only snapshot cursor) within the limits: at most ``row_limit`` rows and
    ``byte_limit`` bytes of answer (``truncated`` says it was cut), interrupted by ``watchdog``
    after ``time_limit`` seconds."""
    rows: list[tuple] = []
    size, truncated = 0, False
    try:
        with watchdog.limit(cursor, time_limit):
            result = cursor.execute(sql, params or [])
            while not truncated and (chunk := result.fetchmany(1000)):
                for row in chunk:
                    value = tuple(map(plain, row))
                    size += len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
                    if len(rows) == row_limit or size > byte_limit:
                        truncated = True
                        break
                    rows.append(value)
    except (duckdb.OutOfMemoryException, MemoryError):
        raise OutOfMemory("the query needed more memory than a query may hold and was stopped") from None
    except duckdb.InterruptException:
        raise Refused(f"the query ran longer than {time_limit:g} s and was stopped") from None
    except duckdb.Error as exc:
        raise Refused(f"the query failed: {exc}") from None
    return QueryResult([d[0] for d in result.description], rows, truncated)


def plain(value: object) -> object:
    """A value JSON can carry: DECIMAL as a number where a float holds it exactly (else its
    text), BLOB as ``\\x`` and hex, INTERVAL as its text, whole numbers beyond 64 bits as
    text, nested lists and structs alike."""
    if value is None or isinstance(value, (str, float, bool)):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, Decimal):
        number = float(value)
        return number if Decimal(repr(number)) == value else str(value)
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value  # dates, times, UUIDs: orjson writes them
