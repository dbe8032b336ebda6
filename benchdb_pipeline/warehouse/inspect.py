"""Read-only views of the warehouse's state: table counts, the ledger, quarantine."""

from __future__ import annotations

from typing import Any

import duckdb

from benchdb_pipeline.warehouse.lake import describe
from benchdb_pipeline.warehouse.schema import ALL_TABLES, ARCHIVED_FACTS, current_version, existing_tables
from benchdb_pipeline.warehouse.sql import fetch_one


def _per_table(con: duckdb.DuckDBPyConnection, value: str) -> dict[str, Any]:
    """One aggregate ``value`` over the rows ``r`` of every table the warehouse has, in one
    query; none for a DuckDB file that is not (yet) a warehouse."""
    have = existing_tables(con)
    tables = [t for t in ALL_TABLES if t in have]
    if not tables:
        return {}
    union = " UNION ALL ".join(f"SELECT '{t}' AS name, {value} FROM {t} r" for t in tables)
    found = dict(con.execute(union).fetchall())
    return {table: found[table] for table in tables}


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table, in schema order."""
    return _per_table(con, "count(*)")


def table_hashes(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """An order-free digest of every table's rows (the sum of the rows' hashes): a restored
    copy holds the same rows exactly when its digests and counts match."""
    return _per_table(con, "coalesce(sum(hash(r)), 0)::VARCHAR")


def archived_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per fact table that committed archive batches moved to Parquet."""
    if "archive_batches" not in existing_tables(con):
        return {}
    return dict(
        con.execute(
            "SELECT table_name, sum(rows)::BIGINT FROM archive_batches GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    )


def fact_fingerprints(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per fact table, the count and order-independent hash of its live and archived rows
    together: equal before and after archiving, whatever moved where."""
    return {
        fact.table: fetch_one(
            con, f"SELECT count(*), sum(hash(r)) FROM (SELECT * EXCLUDE (archived) FROM all_{fact.table}) r"
        )
        for fact in ARCHIVED_FACTS
    }


def ledger_by_status(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(
        con.execute("SELECT status, count(*) FROM source_files GROUP BY status ORDER BY status").fetchall()
    )


def status_report(con: duckdb.DuckDBPyConnection) -> dict:
    """Where the warehouse is (backend), schema version, rows per table, files by status,
    simulated runs and time range."""
    simulated, real, first, last = fetch_one(
        con,
        "SELECT count(*) FILTER (WHERE is_simulated), count(*) FILTER (WHERE NOT is_simulated), "
        "min(started_at), max(started_at) FROM test_runs",
    )
    return {
        "warehouse": describe(con),
        "schema_version": current_version(con),
        "tables": table_counts(con),
        "archived": archived_counts(con),
        "files_by_status": ledger_by_status(con),
        "runs": {
            "simulated": simulated,
            "measured": real,
            "first_started_at": first,
            "last_started_at": last,
        },
    }


QUARANTINE_COLUMNS = ("path", "record", "field", "reason", "quarantined_at")


# Quarantined problems of live ledger rows: files refused whole, and records refused from
# files otherwise ingested (a NaN that left a record without a measurement).
QUARANTINE_PROBLEMS = (
    "quarantine q JOIN source_files f USING (file_id) WHERE f.status IN ('quarantined', 'ingested')"
)


def quarantine_rows(con: duckdb.DuckDBPyConnection, limit: int | None = None) -> list[tuple]:
    """Quarantined problems of live ledger rows (files refused whole, and records refused
    from files otherwise ingested), newest first: file, record, field, reason."""
    sql = (
        "SELECT f.path, q.record_locator, q.field, q.reason, q.quarantined_at "
        f"FROM {QUARANTINE_PROBLEMS} ORDER BY q.quarantined_at DESC, f.path, q.quarantine_id"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return con.execute(sql).fetchall()
