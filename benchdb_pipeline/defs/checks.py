"""Asset checks on the warehouse: thin wrappers over ``warehouse.checks``.

References (on every fact table), natural keys, the declared keys and checks (asserted on a
lake, which cannot declare them) and the ledger block downstream work, the reports
included, when they fail; value ranges and views warn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import dagster as dg
import duckdb

from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.warehouse import checks

# (check name, asset it guards, domain check, blocking)
CHECKS: tuple[tuple[str, str, Callable[[duckdb.DuckDBPyConnection], checks.CheckResult], bool], ...] = (
    ("natural_keys_unique", "models", checks.check_natural_keys, True),
    ("declared_constraints_hold", "performance_results", checks.check_declared, True),
    ("ledger_matches_facts", "source_files", checks.check_ledger, True),
    ("values_consistent", "performance_results", checks.check_value_ranges, False),
    ("views_compile", "test_runs", checks.check_views, False),
)
# Every fact table's references are checked on that table, blocking what reads it.
REFERENCE_CHECKED = (
    "performance_results",
    "performance_samples",
    "hardware_compatibility",
    "integration_test_results",
    "integration_test_assertions",
    "web_platform_results",
)


def _references_of(table: str, result: checks.CheckResult) -> checks.CheckResult:
    mine = {k: n for k, n in result.offending.items() if k.startswith(f"{table}.")}
    return checks.CheckResult(f"references of {table}", not any(mine.values()), mine)


@dg.multi_asset_check(
    specs=[
        *(
            dg.AssetCheckSpec(name, asset=asset, blocking=blocking, description=fn.__doc__)
            for name, asset, fn, blocking in CHECKS
        ),
        *(
            dg.AssetCheckSpec(
                "references_resolve", asset=table, blocking=True, description=checks.check_references.__doc__
            )
            for table in REFERENCE_CHECKED
        ),
    ],
    pool=WAREHOUSE_POOL,
)
def warehouse_checks(warehouse: WarehouseResource) -> Iterator[dg.AssetCheckResult]:
    """Integrity of the warehouse after each load, on one read-only connection."""
    with warehouse.get_connection(read_only=True) as con:
        results = [(name, asset, fn(con), blocking) for name, asset, fn, blocking in CHECKS]
        references = checks.check_references(con)
    results += [
        ("references_resolve", table, _references_of(table, references), True) for table in REFERENCE_CHECKED
    ]
    for name, asset, result, blocking in results:
        yield dg.AssetCheckResult(
            check_name=name,
            asset_key=asset,
            passed=result.passed,
            severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
            description=result.description,
            metadata={label: n for label, n in result.offending.items()},
        )
