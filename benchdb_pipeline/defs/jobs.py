"""Jobs. ``ingest_job`` runs the ingestion assets and everything downstream of them.

It runs in-process: a sensor-launched run then costs about 4 s instead of about 9 s with
the multiprocess executor, and parsing already uses one process per core.
"""

from __future__ import annotations

import dagster as dg

ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("raw_result_files").downstream(),
    executor_def=dg.in_process_executor,
    description="Ingest result files (run config: ops.raw_result_files.config.paths) and "
    "refresh everything downstream.",
)
