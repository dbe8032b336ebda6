"""Keep the Dagster catalog true to the warehouse when something else writes to it.

`benchdb ingest`, `ci-integrate`, `run` and the maintenance commands write without a Dagster
run. Afterwards the tables whose row count differs from the last one the catalog recorded
get a runless materialization (``dagster/row_count`` and who wrote), so the UI shows when
each table last changed and by whom. Without ``DAGSTER_HOME`` there is no catalog to update.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dagster as dg

from benchdb_pipeline.warehouse.inspect import table_counts
from benchdb_pipeline.warehouse.schema import TABLE_DESCRIPTIONS
from benchdb_pipeline.warehouse.store import session

log = logging.getLogger(__name__)
ROW_COUNT = "dagster/row_count"


def table_metadata(count: int, added: int | None = None) -> dict[str, int]:
    """The standard metadata of a warehouse table's materialization."""
    return {ROW_COUNT: count, **({"rows added": added} if added is not None else {})}


def recorded_row_count(instance: dg.DagsterInstance, table: str) -> int | None:
    """The row count of a table's latest materialization in the catalog, if any."""
    event = instance.get_latest_materialization_event(dg.AssetKey(table))
    materialization = event.asset_materialization if event else None
    value = materialization.metadata.get(ROW_COUNT) if materialization else None
    return getattr(value, "value", None)


def record_outside_write(db: str | Path, writer: str) -> list[str]:
    """Report the tables that changed since the catalog last saw them; returns their names."""
    if not os.environ.get("DAGSTER_HOME") or not Path(db).exists():
        return []
    with session(db, read_only=True) as con:
        counts = table_counts(con)
    changed = []
    with dg.DagsterInstance.get() as instance:
        for table, count in counts.items():
            if table not in TABLE_DESCRIPTIONS:
                continue
            before = recorded_row_count(instance, table)
            if before == count or (before is None and count == 0):
                continue  # unchanged, or empty and never seen
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=table,
                    description=f"written by {writer}, outside Dagster",
                    metadata={
                        **table_metadata(count),
                        **({"row change": count - before} if before is not None else {}),
                        "written by": writer,
                        "database": dg.MetadataValue.path(str(db)),
                    },
                )
            )
            changed.append(table)
    if changed:
        log.info("recorded in the Dagster catalog: %s", ", ".join(changed))
    return changed
