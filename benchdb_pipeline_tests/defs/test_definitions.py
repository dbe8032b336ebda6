"""The Dagster definitions load, show the flow, and keep every DuckDB step in one pool."""

from __future__ import annotations

import shutil

import dagster as dg

from benchdb_pipeline.definitions import defs
from benchdb_pipeline.defs.checks import warehouse_checks
from benchdb_pipeline.defs.ingestion import warehouse_tables
from benchdb_pipeline.defs.reports import (
    compatibility_matrix,
    hardware_comparison_charts,
    performance_report,
)
from benchdb_pipeline.defs.resources import WAREHOUSE_POOL
from benchdb_pipeline_tests.conftest import FIXTURES


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_groups_show_the_flow():
    graph = defs.resolve_asset_graph()
    group = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert group["raw_result_files"] == "raw_files"
    assert "staged_results" not in group  # nothing staged is stored between steps
    assert group["source_files"] == group["quarantine"] == "ledger"
    assert group["models"] == group["hardware_platforms"] == group["test_runs"] == "dimensions"
    assert group["performance_results"] == group["performance_samples"] == "facts"
    parents = {p.to_user_string() for p in graph.get(dg.AssetKey("performance_results")).parent_keys}
    assert parents == {"models", "hardware_platforms", "test_runs"}


def test_every_database_step_is_in_the_pool():
    for definition in (warehouse_tables, warehouse_checks):
        assert definition.op.pool == WAREHOUSE_POOL
    # Reports only read (briefly, read-only) and must not hold back the next ingestion.
    for definition in (performance_report, compatibility_matrix, hardware_comparison_charts):
        assert definition.op.pool is None


def test_run_processes_do_not_load_plotting_libraries():
    import subprocess
    import sys

    code = (
        "import sys, benchdb_pipeline.definitions; "
        "print(sorted(m for m in ('matplotlib', 'seaborn') if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]"


def test_ingest_job_covers_everything_downstream_of_the_raw_files():
    job = defs.resolve_job_def("ingest_job")
    assert {n.name for n in job.graph.node_defs} == {
        "raw_result_files",
        "warehouse_tables",
        "warehouse_checks",
        "performance_report",
        "compatibility_matrix",
        "hardware_comparison_charts",
        "regressions",
        "regressions_untriaged_regressions",
        "change_points",
        "anomalies",
        "performance_model",
        "performance_predictions",
    }
    runner = dg.AssetKey("benchmark_results")
    assert job.asset_layer.selected_asset_keys == defs.resolve_asset_graph().get_all_asset_keys() - {runner}
    assert len(job.asset_layer.selected_asset_keys) == 1 + 2 + 3 + 6 + 3 + 5


def test_benchmark_job_runs_the_runner_then_what_new_files_trigger():
    job = defs.resolve_job_def("benchmark_job")
    keys = {key.to_user_string() for key in job.asset_layer.selected_asset_keys}
    assert {
        "benchmark_results",
        "raw_result_files",
        "performance_results",
        "performance_report",
        "regressions",
    } <= keys
    assert not keys & {"change_points", "anomalies", "performance_model", "performance_predictions"}
    # Ingesting never needs the runner (no "upstream never materialized" in the UI); the runner
    # runs first in its job by priority.
    assert not defs.resolve_asset_graph().get(dg.AssetKey("raw_result_files")).parent_keys
    priority = {n.name: int(n.definition.tags.get("dagster/priority", 0)) for n in job.graph.nodes}
    assert priority["benchmark_results"] > max(
        p for name, p in priority.items() if name != "benchmark_results"
    )


def test_a_failed_measurement_ingests_nothing_else(tmp_path, monkeypatch):
    """benchmark_job ingests what the runner wrote; when it wrote nothing, not the incoming folder."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    shutil.copy(FIXTURES / "canonical_rows.json", incoming)
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("BENCHDB_DB", str(db))
    monkeypatch.setenv("BENCHDB_INCOMING", str(incoming))
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    config = {"ops": {"benchmark_results": {"config": {"models": ["no-such-model"]}}}}
    with dg.instance_for_test() as instance:
        job = defs.resolve_job_def("benchmark_job")
        result = job.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
    assert not result.success
    failures = {e.step_key: e.step_failure_data.error.message for e in result.all_events if e.is_step_failure}
    assert "unknown model 'no-such-model'" in failures["benchmark_results"]
    assert "wrote no result file in this run" in failures["raw_result_files"]
    assert not db.exists()


def test_tables_say_what_a_row_is():
    graph = defs.resolve_asset_graph()
    for spec in warehouse_tables.specs:
        description = graph.get(spec.key).description
        assert description.startswith(("One row", "The ledger")), description


def test_blocking_checks():
    blocking = {
        (spec.asset_key.to_user_string(), spec.name): spec.blocking for spec in warehouse_checks.check_specs
    }
    assert {k: v for k, v in blocking.items() if k[1] != "references_resolve"} == {
        ("models", "natural_keys_unique"): True,
        ("performance_results", "declared_constraints_hold"): True,
        ("source_files", "ledger_matches_facts"): True,
        ("performance_results", "values_consistent"): False,
        ("test_runs", "views_compile"): False,
    }
    guarded = {asset for asset, name in blocking if name == "references_resolve"}
    assert guarded == {
        "performance_results",
        "performance_samples",
        "hardware_compatibility",
        "integration_test_results",
        "integration_test_assertions",
        "web_platform_results",
    }
    assert all(v for (_, name), v in blocking.items() if name == "references_resolve")


def test_sensor_runs_by_default():
    sensor = defs.resolve_sensor_def("incoming_files_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.job_name == "ingest_job"


def test_retrospective_analyses_run_nightly():
    schedule = defs.resolve_schedule_def("analytics_job_schedule")
    assert schedule.cron_schedule == "0 3 * * *" and schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    job = defs.resolve_job_def("analytics_job")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == {
        "change_points",
        "anomalies",
        "performance_model",
        "performance_predictions",
    }
