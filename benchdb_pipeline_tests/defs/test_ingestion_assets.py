"""A real materialization of the ingestion graph into a temporary warehouse."""

from __future__ import annotations

import dagster as dg

from benchdb_pipeline.defs.checks import warehouse_checks
from benchdb_pipeline.defs.ingestion import raw_result_files, staged_results, warehouse_tables
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline_tests.conftest import FIXTURES, scalar

ASSETS = [raw_result_files, staged_results, warehouse_tables, warehouse_checks]


def materialize(db, paths, instance=None):
    return dg.materialize(
        ASSETS,
        resources={"warehouse": WarehouseResource(database=str(db))},
        run_config={"ops": {"raw_result_files": {"config": {"paths": [str(p) for p in paths]}}}},
        instance=instance,
    )


def test_materialize_loads_and_checks(db):
    result = materialize(db, [FIXTURES])
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 5 and all(c.passed for c in checks)
    meta = {m.asset_key.to_user_string(): m.metadata
            for m in result.asset_materializations_for_node("warehouse_tables")}
    assert meta["performance_results"]["rows"].value == scalar(db, "SELECT count(*) FROM performance_results")
    assert meta["source_files"]["rows added"].value == len(list(FIXTURES.glob("*.json")))
    staged = result.output_for_node("staged_results")
    assert sum(o.status == "quarantined" for o in staged.outcomes) == 7


def test_materialize_again_adds_nothing(db):
    assert materialize(db, [FIXTURES]).success
    before = scalar(db, "SELECT count(*) FROM performance_results")
    again = materialize(db, [FIXTURES])
    assert again.success
    assert scalar(db, "SELECT count(*) FROM performance_results") == before


def test_missing_configured_path_fails_the_run(db, tmp_path):
    result = dg.materialize(
        ASSETS, resources={"warehouse": WarehouseResource(database=str(db))},
        run_config={"ops": {"raw_result_files": {"config": {"paths": [str(tmp_path / "nope")]}}}},
        raise_on_error=False,
    )
    assert not result.success
