"""A real materialization of the ingestion graph into a temporary warehouse."""

from __future__ import annotations

import dagster as dg

from benchdb_pipeline.defs.checks import warehouse_checks
from benchdb_pipeline.defs.ingestion import raw_result_files, warehouse_tables
from benchdb_pipeline.defs.reports import (
    compatibility_matrix,
    hardware_comparison_charts,
    performance_report,
)
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.conftest import FIXTURES, scalar, write_mixed_results

ASSETS = [raw_result_files, warehouse_tables, warehouse_checks]
REPORTS = [performance_report, compatibility_matrix, hardware_comparison_charts]


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
    # 4 warehouse-wide checks and the references of 6 fact tables; 10 before the lake's
    # declared constraints, which pass on a file by construction.
    assert len(checks) == 11 and all(c.passed for c in checks)
    meta = _table_metadata(result)
    assert meta["performance_results"]["dagster/row_count"].value == scalar(
        db, "SELECT count(*) FROM performance_results"
    )
    assert meta["source_files"]["rows added"].value == len(list(FIXTURES.glob("*.json")))
    assert (
        meta["source_files"]["files quarantined"].value
        == 7
        == scalar(db, "SELECT count(*) FROM source_files WHERE status = 'quarantined'")
    )


def _table_metadata(result) -> dict:
    return {
        m.asset_key.to_user_string(): m.metadata
        for m in result.asset_materializations_for_node("warehouse_tables")
    }


def test_ui_counts_equal_the_cli_for_the_same_files(db, tmp_path):
    """The asset's summary is the CLI's line: a second run reports the files as known, not
    as ingested, and adds nothing, exactly as `benchdb ingest` would."""
    first = _table_metadata(materialize(db, [FIXTURES]))["source_files"]
    again = _table_metadata(materialize(db, [FIXTURES]))["source_files"]
    cli_db = tmp_path / "cli.duckdb"
    cli_first = ingest(cli_db, [FIXTURES])
    cli_again = ingest(cli_db, [FIXTURES])
    assert first["summary"].value == cli_first.summary()
    assert again["summary"].value == cli_again.summary()
    files = len(list(FIXTURES.glob("*.json")))
    assert again["files known"].value == files and "files ingested" not in again
    assert again["rows added"].value == 0


def test_materialize_again_adds_nothing(db):
    assert materialize(db, [FIXTURES]).success
    before = scalar(db, "SELECT count(*) FROM performance_results")
    again = materialize(db, [FIXTURES])
    assert again.success
    assert scalar(db, "SELECT count(*) FROM performance_results") == before


def test_missing_configured_path_fails_the_run(db, tmp_path):
    result = dg.materialize(
        ASSETS,
        resources={"warehouse": WarehouseResource(database=str(db))},
        run_config={"ops": {"raw_result_files": {"config": {"paths": [str(tmp_path / "nope")]}}}},
        raise_on_error=False,
    )
    assert not result.success


def test_report_assets_write_files_with_previews(db, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("BENCHDB_DASHBOARD_URL", "http://bench.internal:8000")
    result = dg.materialize(
        ASSETS + REPORTS,
        resources={"warehouse": WarehouseResource(database=str(db))},
        run_config={"ops": {"raw_result_files": {"config": {"paths": [str(FIXTURES)]}}}},
    )
    assert result.success
    report = result.asset_materializations_for_node("performance_report")[0].metadata
    assert report["path"].value.endswith("benchmark_report.html")
    assert report["dashboard"].value == "http://bench.internal:8000/ui"
    assert "Benchmark report" in report["preview"].value and "data:image/png" in report["preview"].value
    assert (tmp_path / "reports" / "benchmark_summary.md").exists()
    assert (tmp_path / "reports" / "compatibility_matrix.png").stat().st_size > 1000
    charts = result.asset_materializations_for_node("hardware_comparison_charts")[0].metadata
    assert charts["charts"].value == len(list((tmp_path / "reports" / "hardware").glob("*.png"))) >= 2


def test_hardware_charts_say_what_they_show(db, tmp_path, monkeypatch):
    """Simulated results outnumber measured ones: the asset's chart of cuda shows the measured
    precision and hides the simulated results, and its caption (on the chart and in the
    preview) says so."""
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    write_mixed_results(tmp_path / "in")
    result = dg.materialize(
        [*ASSETS, hardware_comparison_charts],
        resources={"warehouse": WarehouseResource(database=str(db))},
        run_config={"ops": {"raw_result_files": {"config": {"paths": [str(tmp_path / "in")]}}}},
    )
    assert result.success
    preview = result.asset_materializations_for_node("hardware_comparison_charts")[0].metadata["preview"]
    line = next(line for line in preview.value.splitlines() if line.startswith("- cuda (throughput)"))
    assert "Shows hardware cuda; precision fp16 (the most measured results, 1 other left out)" in line
    assert "measured results only (3 simulated hidden" in line
