"""The Dagster definitions of benchdb (``dagster dev``, ``dagster job execute -m``)."""

from __future__ import annotations

import dagster as dg

from benchdb_pipeline.defs.analytics import (
    anomalies,
    change_points,
    performance_model,
    performance_predictions,
    regression_alert_sensor,
    regressions,
    untriaged_regressions,
)
from benchdb_pipeline.defs.checks import warehouse_checks
from benchdb_pipeline.defs.ci import ci_artifacts_sensor, ci_consolidate_job
from benchdb_pipeline.defs.ingestion import raw_result_files, warehouse_tables
from benchdb_pipeline.defs.jobs import analytics_job, analytics_schedule, benchmark_job, ingest_job
from benchdb_pipeline.defs.maintenance import (
    archive_job,
    archive_schedule,
    clean_json_job,
    maintenance_job,
    maintenance_schedule,
)
from benchdb_pipeline.defs.reports import compatibility_matrix, hardware_comparison_charts, performance_report
from benchdb_pipeline.defs.resources import warehouse_resource
from benchdb_pipeline.defs.runner import benchmark_results
from benchdb_pipeline.defs.sensors import incoming_files_sensor

defs = dg.Definitions(
    assets=[
        benchmark_results,
        raw_result_files,
        warehouse_tables,
        performance_report,
        compatibility_matrix,
        hardware_comparison_charts,
        regressions,
        change_points,
        anomalies,
        performance_model,
        performance_predictions,
    ],
    asset_checks=[warehouse_checks, untriaged_regressions],
    jobs=[
        ingest_job,
        benchmark_job,
        analytics_job,
        maintenance_job,
        clean_json_job,
        archive_job,
        ci_consolidate_job,
    ],
    schedules=[analytics_schedule, maintenance_schedule, archive_schedule],
    sensors=[incoming_files_sensor, regression_alert_sensor, ci_artifacts_sensor],
    resources={"warehouse": warehouse_resource()},
)
