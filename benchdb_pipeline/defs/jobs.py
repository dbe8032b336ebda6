"""Jobs and schedules. ``ingest_job`` runs the ingestion assets and everything downstream of
them; the sensor's runs leave out the retrospective analyses, which ``analytics_job`` runs
nightly.

On a DuckDB file every job runs in-process: a sensor-launched run then costs about 4 s
instead of about 9 s with the multiprocess executor, parsing already uses one process per
core, and the file admits one writer anyway. On a lake (``BENCHDB_BACKEND=ducklake``) writers
need not queue, so jobs take the multiprocess executor by default (steps of the warehouse
pool side by side, up to the instance's pool limit), and a run may still choose
``execution: {config: {in_process: {}}}``.
"""

from __future__ import annotations

import calendar

import dagster as dg

from benchdb_pipeline.config import on_lake

# Chosen when the definitions load, from the backend of the environment they load in.
EXECUTOR = dg.multi_or_in_process_executor if on_lake() else dg.in_process_executor

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("raw_result_files").downstream(),
    executor_def=EXECUTOR,
    description="Ingest result files (run config: ops.raw_result_files.config.paths) and "
    "refresh everything downstream.",
)

# Retrospective analyses read every series' history: nightly, not after every file.
RETROSPECTIVE = dg.AssetSelection.assets(
    "change_points", "anomalies", "performance_model", "performance_predictions"
)

# Ingestion, checks, reports and the regression check: everything after new files except the
# retrospective analyses, which would hold the warehouse while the next files wait.
AFTER_NEW_FILES = dg.AssetSelection.assets("raw_result_files").downstream() - RETROSPECTIVE

benchmark_job = dg.define_asset_job(
    "benchmark_job",
    selection=dg.AssetSelection.assets("benchmark_results") | AFTER_NEW_FILES,
    executor_def=EXECUTOR,
    description="Measure models with the runner (run config: ops.benchmark_results.config), then "
    "ingest the file it wrote (and only that) and refresh the reports and the regression check.",
)

analytics_job = dg.define_asset_job(
    "analytics_job",
    selection=RETROSPECTIVE,
    executor_def=EXECUTOR,
    description="Change points, anomalies and the performance model over all history.",
)


def _schedule(job, cron: str, when: str) -> dg.ScheduleDefinition:
    """A running schedule in UTC (the cron and the zone show in the UI)."""
    return dg.ScheduleDefinition(
        job=job,
        cron_schedule=cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=when,
    )


def nightly(job, hour: int, why: str = "") -> dg.ScheduleDefinition:
    """``job`` every night at ``hour``:00 UTC."""
    return _schedule(job, f"0 {hour} * * *", f"Nightly at {hour:02d}:00 UTC{why}.")


def weekly(job, weekday: int, hour: int, why: str = "") -> dg.ScheduleDefinition:
    """``job`` once a week, on ``weekday`` (0 = Sunday, as cron counts) at ``hour``:00 UTC."""
    day = calendar.day_name[(weekday - 1) % 7]
    return _schedule(job, f"0 {hour} * * {weekday}", f"Weekly on {day} at {hour:02d}:00 UTC{why}.")


analytics_schedule = nightly(analytics_job, 3)
