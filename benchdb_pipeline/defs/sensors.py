"""A sensor on the incoming folder. It lists files and never opens the database; its cursor is
a high-water mark of a few dozen bytes (see ``ingest.incoming``)."""

from __future__ import annotations

import dagster as dg

from benchdb_pipeline.config import incoming_dir
from benchdb_pipeline.defs.jobs import AFTER_NEW_FILES, ingest_job
from benchdb_pipeline.ingest.incoming import Cursor, look, new_batches

MAX_FILES_PER_RUN = 5_000


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=2,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts ingest_job for new or changed *.json files under $BENCHDB_INCOMING.",
)
def incoming_files_sensor(context: dg.SensorEvaluationContext):
    root = incoming_dir()
    seen = look(root, Cursor.decode(context.cursor))
    context.update_cursor(seen.cursor.encode())
    batches = new_batches(root, seen.changed, MAX_FILES_PER_RUN)
    if not batches:
        return dg.SkipReason(f"no new or changed files under {root} ({seen.files} files there)")
    return [
        dg.RunRequest(
            run_key=batch.run_key,
            run_config={"ops": {"raw_result_files": {"config": {"paths": batch.paths}}}},
            asset_selection=list(AFTER_NEW_FILES.resolve(_asset_graph(context))),
            tags={"benchdb/files": str(len(batch.paths))},
        )
        for batch in batches
    ]


def _asset_graph(context: dg.SensorEvaluationContext):
    """The assets of the sensor's code location (given to every evaluation, in the daemon
    and in tests built with the definitions)."""
    repository = context.repository_def
    if repository is None:
        raise dg.DagsterInvariantViolationError("incoming_files_sensor needs its code location's definitions")
    return repository.asset_graph
