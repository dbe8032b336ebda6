"""The warehouse as Parquet: one dataset per table, readable by any Parquet reader and by
``benchdb ci-integrate``, which merges it into another warehouse by natural keys.

Fact tables are exported with their archived rows (the ``all_`` views), so an export holds
the whole history. Partitions are Hive folders (``hardware_id=3/``), as pyarrow, pandas,
Spark and DuckDB read them; the partition column lives in the folder names only.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path

import duckdb
import orjson

from benchdb_pipeline import __version__
from benchdb_pipeline.warehouse.schema import (
    ANALYTICS_TABLES,
    DIMENSION_TABLES,
    FACT_TABLES,
    LEDGER_TABLES,
    current_version,
    sql_string,
    utc_now,
)
from benchdb_pipeline.warehouse.sql import fetch_value

EXPORT_MANIFEST = "benchdb_export.json"
EXPORTED_TABLES = LEDGER_TABLES + DIMENSION_TABLES + FACT_TABLES + ANALYTICS_TABLES


def table_glob(folder: Path, table: str) -> str:
    """Every Parquet file of one table of an export."""
    return f"{folder}/{table}/**/*.parquet"


def read_exported(folder: Path, table: str) -> str:
    """A FROM-clause relation over one exported table (partition columns from the folders)."""
    return f"read_parquet({sql_string(table_glob(folder, table))}, hive_partitioning = true)"


def is_export(folder: Path) -> bool:
    return (folder / EXPORT_MANIFEST).is_file()


def export_parquet(
    con: duckdb.DuckDBPyConnection, folder: Path, partition_by: Sequence[str] = ()
) -> dict[str, int]:
    """Write every table under ``folder/<table>/``, partitioned by those of ``partition_by``
    it has; replaces an earlier export there. Returns rows per table."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / EXPORT_MANIFEST).unlink(missing_ok=True)  # absent until the export is whole
    rows = {}
    for table in EXPORTED_TABLES:
        source = f"(SELECT * EXCLUDE (archived) FROM all_{table})" if table in FACT_TABLES else table
        columns = {c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()}
        parts = [c for c in partition_by if c in columns]
        target = folder / table
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        rows[table] = fetch_value(con, f"SELECT count(*) FROM {source}")
        if parts and rows[table]:
            con.execute(
                f"COPY (SELECT * FROM {source}) TO {sql_string(target)} (FORMAT parquet, "
                f"PARTITION_BY ({', '.join(parts)}), OVERWRITE_OR_IGNORE true)"
            )
        else:
            con.execute(
                f"COPY (SELECT * FROM {source}) TO {sql_string(target / 'data.parquet')} (FORMAT parquet)"
            )
    (folder / EXPORT_MANIFEST).write_bytes(
        orjson.dumps(
            {
                "benchdb_version": __version__,
                "schema_version": current_version(con),
                "exported_at": utc_now().isoformat(),
                "partition_by": list(partition_by),
                "rows": rows,
            },
            option=orjson.OPT_INDENT_2,
        )
    )
    return rows
