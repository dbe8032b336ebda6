"""The queries behind the REST API's GET endpoints, over a snapshot cursor.

Every filter is a bound parameter (``Filters.where``); every listing is ordered, so pages
are stable, and paged with LIMIT and OFFSET.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from benchdb_pipeline.api.snapshot import CONFIGURATION_ORDER, LATEST_TABLE
from benchdb_pipeline.ingest.rules import norm_hardware_type, norm_model_name
from benchdb_pipeline.reports.filters import Filters
from benchdb_pipeline.reports.queries import HISTORY

_PERFORMANCE_COLUMNS = """model_name, model_family, hardware_type, device_name, test_case, batch_size,
    sequence_length, precision, average_latency_ms, latency_p50_ms, latency_p90_ms, latency_p95_ms,
    latency_p99_ms, throughput_items_per_second, memory_peak_mb, measured_at, is_simulated,
    result_id, run_id"""


@dataclass
class Page:
    """One page of rows as dictionaries, and where the next page starts (None at the end)."""

    items: list[dict]
    limit: int
    offset: int

    def body(self) -> dict:
        more = len(self.items) == self.limit
        return {
            "items": self.items,
            "count": len(self.items),
            "limit": self.limit,
            "offset": self.offset,
            "next_offset": self.offset + self.limit if more else None,
        }


def _page(cursor: duckdb.DuckDBPyConnection, sql: str, params: list, limit: int, offset: int) -> Page:
    result = cursor.execute(f"{sql} LIMIT ? OFFSET ?", [*params, limit, offset])
    columns = [d[0] for d in result.description]
    return Page([dict(zip(columns, row, strict=True)) for row in result.fetchall()], limit, offset)


def performance(
    cursor, filters: Filters, *, latest_only: bool, limit: int, offset: int, latest: str = LATEST_TABLE
) -> Page:
    """Results, or only the latest of each configuration (by default from the snapshot's
    precomputed table; ``latest_performance_metrics`` on the live warehouse)."""
    where, params = filters.where()
    source = latest if latest_only else f"({HISTORY})"
    if not latest_only:
        order = "measured_at DESC NULLS LAST, result_id DESC"
    else:  # the snapshot's table carries its position in this order: a top-N on one integer
        order = "position" if latest == LATEST_TABLE else CONFIGURATION_ORDER
    return _page(
        cursor, f"SELECT {_PERFORMANCE_COLUMNS} FROM {source}{where} ORDER BY {order}", params, limit, offset
    )


def _simple(columns: str, source: str, order: str, filters: dict[str, object]) -> tuple[str, list]:
    """SELECT with equality filters on named columns (names are ours, values are bound)."""
    given = {name: value for name, value in filters.items() if value is not None}
    where = " WHERE " + " AND ".join(f"{name} = ?" for name in given) if given else ""
    return f"SELECT {columns} FROM {source}{where} ORDER BY {order}", list(given.values())


def compatibility(cursor, *, model: str | None, hardware: str | None, limit: int, offset: int) -> Page:
    sql, params = _simple(
        "*",
        "model_hardware_compatibility",
        "model_family, model_name, hardware_type",
        {
            "model_name": model and norm_model_name(model),
            "hardware_type": hardware and norm_hardware_type(hardware),
        },
    )
    return _page(cursor, sql, params, limit, offset)


def integration(cursor, *, test_module: str | None, status: str | None, limit: int, offset: int) -> Page:
    sql, params = _simple(
        "*",
        "integration_test_status",
        "test_module, test_class, test_name",
        {"test_module": test_module, "latest_status": status},
    )
    return _page(cursor, sql, params, limit, offset)


def hardware(cursor, *, hardware_type: str | None, limit: int, offset: int) -> Page:
    sql, params = _simple(
        "* EXCLUDE (platform_key)",
        "hardware_platforms",
        "hardware_type, device_name",
        {"hardware_type": hardware_type and norm_hardware_type(hardware_type)},
    )
    return _page(cursor, sql, params, limit, offset)


def models(cursor, *, family: str | None, limit: int, offset: int) -> Page:
    sql, params = _simple("*", "models", "model_name", {"model_family": family})
    return _page(cursor, sql, params, limit, offset)


def runs(cursor, *, test_type: str | None, simulated: bool | None, limit: int, offset: int) -> Page:
    sql, params = _simple(
        "*", "test_runs", "run_id DESC", {"test_type": test_type, "is_simulated": simulated}
    )
    return _page(cursor, sql, params, limit, offset)
