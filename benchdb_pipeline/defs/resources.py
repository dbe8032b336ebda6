"""The warehouse as a Dagster resource."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from benchdb_pipeline.config import DEFAULT_DB, lake_address, on_lake
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

    # "ducklake": the warehouse is the lake whose catalog ``lake_catalog`` names (``database``
    # then only labels it), see ``warehouse.lake``.
    backend: str = "duckdb"
    lake_catalog: str | None = None

    @classmethod
    def _is_dagster_maintained(cls) -> bool:
        return False

    @property
    def address(self) -> str:
        """What the domain functions take: the file's path or the lake's address."""
        return lake_address(self.lake_catalog or "") if self.backend == "ducklake" else self.database

    @contextmanager
    def get_connection(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with session(self.address, read_only=read_only) as con:
            yield con


def warehouse_resource() -> WarehouseResource:
    """The lake when $BENCHDB_BACKEND is ducklake (its catalog string, which may hold a
    password, stays an env var), else the file at $BENCHDB_DB or the default one."""
    if on_lake():
        return WarehouseResource(
            database="the lake of $BENCHDB_LAKE_CATALOG",
            backend="ducklake",
            lake_catalog=dg.EnvVar("BENCHDB_LAKE_CATALOG"),
        )
    if os.environ.get("BENCHDB_DB"):
        return WarehouseResource(database=dg.EnvVar("BENCHDB_DB"))
    return WarehouseResource(database=str(DEFAULT_DB))
