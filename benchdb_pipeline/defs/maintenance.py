"""The maintenance jobs: optimize, check integrity, back up, purge old backups (nightly);
archive old fact rows to Parquet (weekly); clean up ingested result files.

Every op opens the warehouse, so every op is in the warehouse pool. A failed integrity
check stops the job before the backup and the purge, so the last good backups are kept.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from benchdb_pipeline.config import archive_root, backups_dir, incoming_dir
from benchdb_pipeline.defs.jobs import EXECUTOR, nightly, weekly
from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.maintenance import housekeeping
from benchdb_pipeline.maintenance import operations as ops


class BackupConfig(dg.Config):
    backup_dir: str = Field(
        default="", description="Where backups go. Empty: $BENCHDB_BACKUPS or data/backups."
    )
    compress: bool = Field(default=False, description="gzip the backed-up file.")
    retention_days: float = Field(default=30, description="Days to keep backups (the newest is always kept).")

    @property
    def folder(self) -> Path:
        return Path(self.backup_dir) if self.backup_dir else backups_dir()


def _metadata(record: dict) -> dict:
    return {
        k: v if isinstance(v, (int, float, str, bool)) else dg.MetadataValue.json(v)
        for k, v in record.items()
        if v is not None
    }


@dg.op(pool=WAREHOUSE_POOL, out=dg.Out(dg.Nothing))
def optimize_warehouse(context: dg.OpExecutionContext, warehouse: WarehouseResource):
    """ANALYZE and CHECKPOINT."""
    record = ops.optimize(Path(warehouse.address))
    context.add_output_metadata(_metadata(record))


@dg.op(pool=WAREHOUSE_POOL, ins={"start": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
def check_warehouse_integrity(context: dg.OpExecutionContext, warehouse: WarehouseResource):
    """Every integrity check; fails the job when one finds a problem."""
    record = ops.check_integrity(Path(warehouse.address))
    if not record["ok"]:
        raise dg.Failure("integrity check failed", metadata=_metadata(record))
    context.add_output_metadata(_metadata(record))


@dg.op(pool=WAREHOUSE_POOL, ins={"start": dg.In(dg.Nothing)}, out=dg.Out(dg.Nothing))
def back_up_warehouse(context: dg.OpExecutionContext, config: BackupConfig, warehouse: WarehouseResource):
    """A consistent, checksummed backup, verified before the job goes on."""
    record = ops.take_backup(Path(warehouse.address), config.folder, config.compress)
    verified = ops.verify_backup(Path(record["path"]))
    if not verified["ok"]:
        raise dg.Failure(f"the new backup does not verify: {verified['error']}")
    context.log.info("backup %s (%.2f MB, sha256 %s)", record["path"], record["size_mb"], record["sha256"])
    context.add_output_metadata({**_metadata(record), "path": dg.MetadataValue.path(record["path"])})


@dg.op(pool=WAREHOUSE_POOL, ins={"start": dg.In(dg.Nothing)})
def purge_old_backups(context: dg.OpExecutionContext, config: BackupConfig):
    """Backups older than the retention, never the newest."""
    record = ops.purge_backups(config.folder, config.retention_days)
    context.log.info("removed %d backups, kept %d", len(record["removed"]), record["kept"])
    context.add_output_metadata(_metadata(record))


@dg.job(
    executor_def=EXECUTOR,
    description="Optimize, check integrity, back up (verified) and purge old backups. Run config: "
    "ops.back_up_warehouse.config and ops.purge_old_backups.config (backup_dir, …).",
)
def maintenance_job():
    purge_old_backups(back_up_warehouse(check_warehouse_integrity(optimize_warehouse())))


maintenance_schedule = nightly(maintenance_job, 2, ", before the analytics at 03:00")


class CleanJsonConfig(dg.Config):
    json_dir: str = Field(default="", description="The folder to clean. Empty: $BENCHDB_INCOMING.")
    older_than_days: float = Field(default=30)
    action: str = Field(default="archive", description="archive or remove")
    archive_dir: str = Field(default="", description="For archive. Empty: $BENCHDB_ARCHIVE/json.")


@dg.op(pool=WAREHOUSE_POOL)
def clean_result_files(context: dg.OpExecutionContext, config: CleanJsonConfig, warehouse: WarehouseResource):
    """Archive (or remove) old result files whose exact content the ledger holds."""
    folder = Path(config.json_dir) if config.json_dir else incoming_dir()
    archive = Path(config.archive_dir) if config.archive_dir else archive_root() / "json"
    record = housekeeping.clean_json(
        Path(warehouse.address), [folder], config.older_than_days, config.action, archive
    )
    context.log.info(
        "%s %d files; %d not in the warehouse were left",
        config.action,
        record["files"],
        record["not_in_the_warehouse"],
    )
    context.add_output_metadata(_metadata(record))


@dg.job(
    executor_def=EXECUTOR,
    description="Archive or remove old result files the warehouse holds (ops.clean_result_files.config).",
)
def clean_json_job():
    clean_result_files()


class ArchiveConfig(dg.Config):
    archive_dir: str = Field(
        default="", description="Where the Parquet archive lives. Empty: $BENCHDB_ARCHIVE/warehouse."
    )
    older_than_days: float = Field(default=365, description="Archive fact rows measured longer ago.")


@dg.op(pool=WAREHOUSE_POOL)
def archive_old_fact_rows(
    context: dg.OpExecutionContext, config: ArchiveConfig, warehouse: WarehouseResource
):
    """Old fact rows to verified Parquet; the all_* views still read them."""
    folder = Path(config.archive_dir) if config.archive_dir else archive_root() / "warehouse"
    record = ops.archive_old_rows(Path(warehouse.address), folder, config.older_than_days)
    if not record["ok"]:
        raise dg.Failure(record["error"], metadata=_metadata(record))
    context.log.info("archived %d rows (batch %s) to %s", record["rows_archived"], record["batch_id"], folder)
    context.add_output_metadata(_metadata(record))


@dg.job(
    executor_def=EXECUTOR,
    description="Move fact rows older than a year (ops.archive_old_fact_rows.config) to Parquet.",
)
def archive_job():
    archive_old_fact_rows()


archive_schedule = weekly(archive_job, 0, 4, ", after the nightly backup")
