"""CI consolidation: ``ci_consolidate_job`` integrates an artifacts folder (as CI runs it with
``dagster job execute``), and a sensor starts it for each complete folder under
``$BENCHDB_ARTIFACTS``. The sensor only lists files; the op, in the warehouse pool, writes.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from benchdb_pipeline.config import artifacts_dir
from benchdb_pipeline.defs.jobs import EXECUTOR
from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.ingest.artifacts import CIContext, find_artifacts, integrate
from benchdb_pipeline.ingest.incoming import complete_folders


class ConsolidateConfig(dg.Config):
    artifacts_dir: str = Field(description="The artifacts folder: one sub-folder per job.")
    commit: str = Field(default="", description="Empty: sha in the CI metadata.")
    branch: str = Field(default="", description="Empty: from ref in the CI metadata.")
    build_id: str = Field(default="", description="Empty: run_id in the CI metadata.")
    ci_platform: str = Field(default="", description="github-actions, gitlab, … Empty: from the metadata.")
    ci_metadata: str = Field(default="", description="Empty: ci_metadata.json in the artifacts folder.")
    archive_dir: str = Field(default="", description="Move the artifacts here afterwards. Empty: leave them.")


@dg.op(pool=WAREHOUSE_POOL)
def consolidate_artifacts(
    context: dg.OpExecutionContext, config: ConsolidateConfig, warehouse: WarehouseResource
) -> None:
    """Merge every job's results of one CI run into the warehouse, with its commit and branch."""
    folder = Path(config.artifacts_dir)
    ci = CIContext.resolve(
        folder,
        Path(config.ci_metadata) if config.ci_metadata else None,
        commit=config.commit or None,
        branch=config.branch or None,
        build_id=config.build_id or None,
        platform=config.ci_platform or None,
    )
    report = integrate(
        Path(warehouse.address),
        find_artifacts(folder),
        ci,
        archive_dir=Path(config.archive_dir) if config.archive_dir else None,
    )
    record = report.record()
    context.log.info(
        "integrated %s (jobs: %s; commit %s, branch %s); %d files quarantined",
        folder,
        ", ".join(report.jobs) or "none",
        ci.commit,
        ci.branch,
        report.quarantined,
    )
    context.add_output_metadata(
        {
            "jobs": len(report.jobs),
            "quarantined_files": report.quarantined,
            "commit": ci.commit or "",
            "branch": ci.branch or "",
            "report": dg.MetadataValue.json(record),
        }
    )


@dg.job(
    executor_def=EXECUTOR,
    description="Integrate a CI artifacts folder (ops.consolidate_artifacts.config.artifacts_dir).",
)
def ci_consolidate_job():
    consolidate_artifacts()


@dg.sensor(
    job=ci_consolidate_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts ci_consolidate_job for each artifacts folder under $BENCHDB_ARTIFACTS "
    "once complete: a .complete marker in it, or nothing changed for a while.",
)
def ci_artifacts_sensor(context: dg.SensorEvaluationContext):
    root = artifacts_dir()
    folders = complete_folders(root)
    if not folders:
        return dg.SkipReason(f"no complete artifacts folder under {root}")
    return [
        dg.RunRequest(
            run_key=f"{name}:{signature}",
            run_config={"ops": {"consolidate_artifacts": {"config": {"artifacts_dir": str(root / name)}}}},
            tags={"benchdb/artifacts": name},
        )
        for name, signature in folders.items()
    ]
