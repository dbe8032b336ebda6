"""The warehouse as a Dagster resource."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from benchdb_pipeline.config import DEFAULT_DB
from benchdb_pipeline.warehouse.store import session

# Every asset, check and op that opens the warehouse runs in this pool; the instance
# limits it to one step at a time (data/dagster_home/dagster.yaml), as DuckDB admits
# one writing process.
WAREHOUSE_POOL = "benchdb_duckdb"


class WarehouseResource(DuckDBResource):
    """DuckDBResource that always closes its connection and waits out other writers.

    The stock resource leaves the connection open when the body raises; this one closes it
    in every case, and a lock held by another process is waited for (BENCHDB_LOCK_TIMEOUT).
    """

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with session(self.database, read_only=read_only) as con:
            yield con


def warehouse_resource() -> WarehouseResource:
    """The warehouse at $BENCHDB_DB (shown as an env var in the UI), else the default file."""
    if os.environ.get("BENCHDB_DB"):
        return WarehouseResource(database=dg.EnvVar("BENCHDB_DB"))
    return WarehouseResource(database=str(DEFAULT_DB))
