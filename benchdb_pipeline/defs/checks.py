"""Asset checks on the warehouse: thin wrappers over ``warehouse.checks``.

References, natural keys and the ledger block downstream work when they fail; value
ranges and views warn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dagster as dg
import duckdb

from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.warehouse import checks

# (check name, asset it guards, domain check, blocking)
CHECKS: tuple[tuple[str, str, Callable[[duckdb.DuckDBPyConnection], checks.CheckResult], bool], ...] = (
    ("references_resolve", "performance_results", checks.check_references, True),
    ("natural_keys_unique", "models", checks.check_natural_keys, True),
    ("ledger_matches_facts", "source_files", checks.check_ledger, True),
    ("values_consistent", "performance_results", checks.check_value_ranges, False),
    ("views_compile", "test_runs", checks.check_views, False),
)


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=fn.__doc__)
        for name, asset, fn, blocking in CHECKS
    ],
    pool=WAREHOUSE_POOL,
)
def warehouse_checks(warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    """Integrity of the warehouse after each load, on one read-only connection."""
    with warehouse.get_connection(read_only=True) as con:
        results = [(name, asset, fn(con), blocking) for name, asset, fn, blocking in CHECKS]
    for name, asset, result, blocking in results:
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key=asset,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            description=result.description,
            metadata={label: n for label, n in result.offending.items()},
        )
