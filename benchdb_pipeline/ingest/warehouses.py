"""The adapter for this project's own warehouses: a per-job DuckDB file, or a Parquet export.

Their rows become a staged batch like any parsed file's: surrogate ids turn into batch-local
keys, dimensions are referred to by natural key (model name; hardware type + device), and
every fact keeps its source file. The store then merges the batch exactly as it merges
parsed files: files whose content the ledger has are skipped, dimensions merge by key, ids
are new. Rows that no source file owns cannot be merged by content and are counted apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from benchdb_pipeline.warehouse.schema import ARCHIVED_FACTS, FILE_FACT_TABLES
from benchdb_pipeline.warehouse.sql import fetch_value
from benchdb_pipeline.warehouse.staging import STAGING_SCHEMAS, StagedBatch

# A relation for each source table: "src.main.models", "read_parquet(...)", ...
Relation = Callable[[str], str]


@dataclass
class StagedWarehouse:
    batch: StagedBatch
    unowned_rows: int  # fact rows without a source file: not merged


def _column(name: str, row_id: str) -> str:
    """The source expression of one staging column of a fact (``f``)."""
    return {
        "row_key": f"f.{row_id}",
        "file_key": "f.source_file_id",
        "run_key_local": "f.run_id",
        "model_name": "m.model_name",
        "platform_key": "h.platform_key",
        "metrics": "f.metrics::VARCHAR",
        "metadata": "f.metadata::VARCHAR",
    }.get(name, f"f.{name}")


def stage_warehouse(con: duckdb.DuckDBPyConnection, source: Relation) -> StagedWarehouse:
    """Stage every live file of a source warehouse (with the paths it recorded) and the rows
    those files own. Batch keys are the source's ids, so one source makes one batch."""
    live = f"(SELECT file_id FROM {source('source_files')} WHERE status <> 'superseded')"
    queries = {
        "files": f"SELECT file_id AS file_key, * FROM {source('source_files')} WHERE file_id IN {live}",
        "quarantine": f"SELECT file_id AS file_key, * FROM {source('quarantine')} WHERE file_id IN {live}",
        "models": f"SELECT * REPLACE (metadata::VARCHAR AS metadata) FROM {source('models')}",
        "hardware_platforms": f"SELECT * REPLACE (metadata::VARCHAR AS metadata) "
        f"FROM {source('hardware_platforms')}",
        "test_runs": f"SELECT run_id AS run_key_local, source_file_id AS file_key, "
        f"* REPLACE (metadata::VARCHAR AS metadata) FROM {source('test_runs')} "
        f"WHERE source_file_id IN {live}",
    }
    for fact in ARCHIVED_FACTS:  # each fact's id is the row_key of its owned rows
        if fact.parent:
            queries[fact.table] = (
                f"SELECT o.{fact.key} AS row_key, o.* FROM {source(fact.table)} o "
                f"WHERE o.{fact.key} IN (SELECT {fact.key} FROM {source(fact.parent)} "
                f"WHERE source_file_id IN {live})"
            )
        else:
            select = ", ".join(f"{_column(c, fact.key)} AS {c}" for c in STAGING_SCHEMAS[fact.table].names)
            queries[fact.table] = (
                f"SELECT {select} FROM {source(fact.table)} f "
                f"LEFT JOIN {source('models')} m USING (model_id) "
                f"LEFT JOIN {source('hardware_platforms')} h USING (hardware_id) "
                f"WHERE f.source_file_id IN {live}"
            )
    tables = {}
    for name, sql in queries.items():
        schema = STAGING_SCHEMAS[name]
        # An export of an older schema lacks the newer columns: NULL, as a migration adds them.
        present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM ({sql})").fetchall()}
        select = ", ".join(c if c in present else f"NULL AS {c}" for c in schema.names)
        arrow = con.execute(f"SELECT {select} FROM ({sql})").to_arrow_table()
        tables[name] = arrow.cast(schema)
    unowned = sum(
        fetch_value(con, f"SELECT count(*) FROM {source(t)} WHERE source_file_id IS NULL")
        for t in FILE_FACT_TABLES
    )
    return StagedWarehouse(StagedBatch(tables), unowned)
