"""One read-only SELECT from a user, with a row limit and a time limit.

Three locks, each enough on its own for most attacks: the text must parse (with DuckDB's own
parser) to exactly one SELECT statement; it runs on a read-only snapshot whose settings are
locked with external access off (no files, no ATTACH, no extensions); and it is interrupted
after ``time_limit`` seconds and cut at ``row_limit`` rows.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import duckdb
import orjson


class Refused(ValueError):
    """The query is not a single read-only SELECT, or it broke a limit."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool


def check(sql: str) -> str:
    """The one SELECT statement in ``sql``, or Refused saying why not."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise Refused(f"the query does not parse: {exc}") from None
    if len(statements) != 1:
        raise Refused(f"exactly one statement is allowed, found {len(statements)}")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        raise Refused(f"only SELECT is allowed, found {statement.type.name}")
    return statement.query


MAX_ANSWER_BYTES = 16 * 2**20  # the rows of one answer, as JSON


def run(
    cursor: duckdb.DuckDBPyConnection,
    sql: str,
    params: list | None,
    *,
    row_limit: int,
    time_limit: float,
    byte_limit: int = MAX_ANSWER_BYTES,
) -> QueryResult:
    """Run a checked SELECT on ``cursor`` (a read-only snapshot cursor) within the limits:
    at most ``row_limit`` rows and ``byte_limit`` bytes of answer (``truncated`` says it was
    cut), interrupted after ``time_limit`` seconds."""
    query = check(sql)
    timer = threading.Timer(time_limit, cursor.interrupt)
    timer.start()
    rows: list[tuple] = []
    size, truncated = 0, False
    try:
        result = cursor.execute(query, params or [])
        while not truncated and (chunk := result.fetchmany(1000)):
            for row in chunk:
                value = tuple(map(plain, row))
                size += len(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
                if len(rows) == row_limit or size > byte_limit:
                    truncated = True
                    break
                rows.append(value)
    except duckdb.InterruptException:
        raise Refused(f"the query ran longer than {time_limit:g} s and was stopped") from None
    except duckdb.Error as exc:
        raise Refused(f"the query failed: {exc}") from None
    finally:
        timer.cancel()
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
