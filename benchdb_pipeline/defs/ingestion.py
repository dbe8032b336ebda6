"""The ingestion assets: result files → ledger, quarantine, dimensions and facts.

One route: the load is ``ingest_files``, exactly what `benchdb ingest` calls (known content
skipped by hash, new files parsed in parallel, each batch stored in one transaction), so
the counts in the UI, the CLI and the ledger are the same numbers. Nothing staged passes
between steps: the only value handed on is the list of paths.
"""

from collections import Counter
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field

from benchdb_pipeline.config import incoming_dir
from benchdb_pipeline.defs.catalog import table_metadata
from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.ingest.discovery import discover
from benchdb_pipeline.ingest.pipeline import IngestReport, ingest_files
from benchdb_pipeline.reports.render import render
from benchdb_pipeline.warehouse.inspect import table_counts
from benchdb_pipeline.warehouse.schema import DIMENSION_TABLES, FACT_TABLES, TABLE_DESCRIPTIONS

PREVIEW_ROWS = 20
RUNNER_ASSET = dg.AssetKey("benchmark_results")
RESULT_FILE = "result file"


class IncomingConfig(dg.Config):
    """Which files to ingest."""

    paths: list[str] = Field(
        default_factory=list,
        description="Files or folders (recursive). Empty: the file the runner wrote in this run "
        "(benchmark_job), else the incoming folder, $BENCHDB_INCOMING.",
    )


class LoadConfig(dg.Config):
    retry_quarantined: bool = Field(
        default=False, description="Read again content that was quarantined before."
    )


def _runner_file(context: dg.AssetExecutionContext) -> str | None:
    """The result file benchmark_results wrote in this run, when the runner is part of it.

    The runner is not upstream of this asset (ingesting never needs it); in benchmark_job it
    runs first by its priority, and a run whose runner wrote nothing must not ingest the
    incoming folder instead.
    """
    if RUNNER_ASSET not in context.job_def.asset_layer.selected_asset_keys:
        return None
    event = context.instance.get_latest_materialization_event(RUNNER_ASSET)
    if event is None or event.run_id != context.run_id or event.asset_materialization is None:
        raise dg.Failure("the runner (benchmark_results) wrote no result file in this run: see its step")
    value = event.asset_materialization.metadata[RESULT_FILE]
    return str(getattr(value, "value", value))


@dg.asset(group_name="raw_files", kinds={"json"})
def raw_result_files(context: dg.AssetExecutionContext, config: IncomingConfig) -> list[str]:
    """Result files found under the configured paths (default: the incoming folder)."""
    runner_file = None if config.paths else _runner_file(context)
    paths = config.paths or [runner_file or str(incoming_dir())]
    missing = [p for p in paths if not Path(p).exists()]
    if missing and (config.paths or runner_file):
        raise dg.Failure(f"no such file or folder: {', '.join(missing)}")
    files = discover([p for p in paths if Path(p).exists()])
    context.log.info("found %d result files under %s", len(files), ", ".join(paths))
    context.add_output_metadata(
        {
            "files": len(files),
            "paths": ", ".join(paths),
            "preview": dg.MetadataValue.md(
                "\n".join(f"- `{f}`" for f in files[:PREVIEW_ROWS]) or "_no files_"
            ),
        }
    )
    return files


def _spec(name: str, group: str, deps: tuple[str, ...]) -> dg.AssetSpec:
    return dg.AssetSpec(
        name, group_name=group, deps=list(deps), description=TABLE_DESCRIPTIONS[name], kinds={"duckdb"}
    )


WAREHOUSE_SPECS = [
    _spec("source_files", "ledger", ("raw_result_files",)),
    _spec("quarantine", "ledger", ("raw_result_files",)),
    *(_spec(name, "dimensions", ("source_files",)) for name in DIMENSION_TABLES),
    *(_spec(name, "facts", DIMENSION_TABLES) for name in FACT_TABLES),
]


def _ledger_metadata(report: IngestReport) -> dict[str, Any]:
    """What the ledger asset shows: the same summary line and counts as `benchdb ingest`."""
    statuses = Counter(o.status for o in report.outcomes)
    formats = Counter(o.format for o in report.outcomes if o.format)
    quarantined = [(o.path, o.error) for o in report.quarantined]
    return {
        "summary": report.summary(),
        "files": report.files,
        **{f"files {status}": n for status, n in sorted(statuses.items())},
        "superseded files": report.load.superseded,
        "formats": dg.MetadataValue.md(render(["format", "files"], sorted(formats.items()), "markdown")),
        "quarantined": dg.MetadataValue.md(
            render(["file", "reason"], quarantined[:PREVIEW_ROWS], "markdown") if quarantined else "_none_"
        ),
    }


@dg.multi_asset(specs=WAREHOUSE_SPECS, pool=WAREHOUSE_POOL, ins={"raw_result_files": dg.AssetIn()})
def warehouse_tables(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    raw_result_files: list[str],
    warehouse: WarehouseResource,
):
    """Ingest the listed files as `benchdb ingest` does: ledger, supersede, dimensions, facts."""
    report = ingest_files(warehouse.address, raw_result_files, retry_quarantined=config.retry_quarantined)
    for outcome in report.quarantined:
        context.log.warning("quarantined %s", outcome.error)
    context.log.info(report.summary())
    with warehouse.get_connection(read_only=True) as con:
        counts = table_counts(con)
    added = {"source_files": report.load.files_loaded, **report.load.rows}
    for spec in WAREHOUSE_SPECS:
        table = spec.key.to_user_string()
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={
                **table_metadata(counts[table], added.get(table, 0)),
                **(_ledger_metadata(report) if table == "source_files" else {}),
            },
        )
