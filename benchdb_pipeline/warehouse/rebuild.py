"""Recreating tables that DuckDB cannot alter in place.

DuckDB cannot change or drop a constraint, and refuses every ALTER of a table that another
references by foreign key. So a migration that must change such tables copies them and every
table that refers to them (directly or through others) aside, drops them (referencing tables
first), recreates each from its own stored DDL with its change applied, and copies the rows
back, in the migration's transaction. Ids, sequences and column order are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import duckdb

from benchdb_pipeline.warehouse.sql import fetch_value


def _references(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """For each table of the warehouse, the tables it references by foreign key."""
    found: dict[str, set[str]] = {}
    for table, referenced in con.execute(
        "SELECT table_name, referenced_table FROM duckdb_constraints() "
        "WHERE database_name = current_database() AND schema_name = 'main' "
        "AND constraint_type = 'FOREIGN KEY'"
    ).fetchall():
        found.setdefault(table, set()).add(referenced)
    return found


def dependents_in_order(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> list[str]:
    """``tables`` and every table that refers to them, each after the tables it references."""
    references = _references(con)
    changed = set(tables)
    group = set(changed)
    while grown := {t for t, refs in references.items() if refs & group} - group:
        group |= grown
    ordered: list[str] = []
    while len(ordered) < len(group):
        ready = sorted(
            t for t in group - set(ordered) if not (references.get(t, set()) & group) - set(ordered) - {t}
        )
        if not ready:
            raise ValueError(f"the tables referring to {sorted(changed)} refer to each other in a cycle")
        ordered += ready
    return ordered


def rebuild(con: duckdb.DuckDBPyConnection, changes: Mapping[str, Callable[[str], str]]) -> None:
    """Recreate each table of ``changes`` from ``change(its DDL)``, with its rows and every
    table referring to it; in the caller's transaction."""
    tables = dependents_in_order(con, changes)
    ddl = {
        name: fetch_value(
            con,
            "SELECT sql FROM duckdb_tables() WHERE database_name = current_database() "
            "AND schema_name = 'main' AND table_name = ?",
            [name],
        )
        for name in tables
    }
    for table, change in changes.items():
        changed = change(ddl[table])
        if changed == ddl[table]:
            raise ValueError(f"the change to {table} left its definition as it was")
        ddl[table] = changed
    for name in tables:
        con.execute(f"CREATE TABLE _rebuild_{name} AS SELECT * FROM {name}")
    for name in reversed(tables):
        con.execute(f"DROP TABLE {name}")
    for name in tables:
        con.execute(ddl[name])
        con.execute(f"INSERT INTO {name} SELECT * FROM _rebuild_{name}")
        con.execute(f"DROP TABLE _rebuild_{name}")
