"""Reading one row or one value: DuckDB types ``fetchone()`` as optional, an aggregate's row
is always there."""

from __future__ import annotations

from typing import Any

import duckdb


def fetch_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> tuple[Any, ...]:
    """The first row of a query that returns one (an aggregate, a lookup of a known key)."""
    row = con.execute(sql, params or []).fetchone()
    if row is None:
        raise LookupError(f"the query returned no row: {sql.strip()[:120]}")
    return row


def fetch_value(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> Any:
    """The first column of ``fetch_one``'s row."""
    return fetch_one(con, sql, params)[0]


# Set on every connection to a lake (see ``lake.connect``): its catalog database, where the
# writers' lock and the id counters live.
LAKE_DSN_VARIABLE = "benchdb_catalog_dsn"


def lake_dsn(con: duckdb.DuckDBPyConnection) -> str | None:
    """The catalog database of a lake connection; None on a DuckDB file."""
    return con.execute(f"SELECT getvariable('{LAKE_DSN_VARIABLE}')").fetchone()[0]  # type: ignore[index]
