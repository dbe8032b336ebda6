"""The ingestion assets: raw files → staged records and quarantine → dimensions → facts.

Parsing is kept apart from loading so the UI shows each stage, but the load of the ledger,
dimensions and facts is one multi-asset: one transaction, so no table is ever ahead of
another.
"""


from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pydantic import Field

from benchdb_pipeline.config import incoming_dir
from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.ingest.pipeline import FileOutcome, discover, parse_files
from benchdb_pipeline.reports.render import render
from benchdb_pipeline.warehouse.inspect import table_counts
from benchdb_pipeline.warehouse.schema import DIMENSION_TABLES, FACT_TABLES
from benchdb_pipeline.warehouse.staging import StagedBatch
from benchdb_pipeline.warehouse.store import load_batch

PREVIEW_ROWS = 20


class IncomingConfig(dg.Config):
    """Which files to ingest."""

    paths: list[str] = Field(
        default_factory=list,
        description="Files or folders (recursive). Empty: the incoming folder, $BENCHDB_INCOMING.",
    )


class LoadConfig(dg.Config):
    retry_quarantined: bool = Field(
        default=False, description="Read again content that was quarantined before."
    )


@dataclass
class StagedResults:
    """The parsed, validated batch and what happened to each file."""

    batch: StagedBatch
    outcomes: list[FileOutcome]


# Runs of the benchmark runner come before the files are listed (benchmark_job); other
# jobs leave it out, and the files are listed all the same.
@dg.asset(group_name="raw_files", kinds={"json"}, deps=["benchmark_results"])
def raw_result_files(context: dg.AssetExecutionContext, config: IncomingConfig) -> list[str]:
    """Result files found under the configured paths (default: the incoming folder)."""
    paths = config.paths or [str(incoming_dir())]
    missing = [p for p in paths if not Path(p).exists()]
    if missing and config.paths:
        raise dg.Failure(f"no such file or folder: {', '.join(missing)}")
    files = discover([p for p in paths if Path(p).exists()])
    context.log.info("found %d result files under %s", len(files), ", ".join(paths))
    context.add_output_metadata({
        "files": len(files),
        "paths": ", ".join(paths),
        "preview": dg.MetadataValue.md("\n".join(f"- `{f}`" for f in files[:PREVIEW_ROWS])
                                       or "_no files_"),
    })
    return files


@dg.asset(group_name="staging", kinds={"python"})
def staged_results(context: dg.AssetExecutionContext, raw_result_files: list[str]) -> StagedResults:
    """Every file hashed, parsed, normalised and validated; bad files carry their reasons."""
    chunks = list(parse_files(raw_result_files))
    outcomes = [o for chunk in chunks for o in chunk.outcomes]
    statuses = Counter(o.status for o in outcomes)
    formats = Counter(o.format for o in outcomes if o.format)
    for outcome in outcomes:
        if outcome.status == "quarantined":
            context.log.warning("quarantined %s", outcome.error)
    quarantined = [(o.path, o.error) for o in outcomes if o.status == "quarantined"]
    context.add_output_metadata({
        "files": len(outcomes),
        "records": sum(o.records for o in outcomes),
        **{f"files {status}": n for status, n in sorted(statuses.items())},
        "formats": dg.MetadataValue.md(render(["format", "files"], sorted(formats.items()), "markdown")),
        "quarantined": dg.MetadataValue.md(
            render(["file", "reason"], quarantined[:PREVIEW_ROWS], "markdown") if quarantined
            else "_none_"
        ),
    })
    return StagedResults(StagedBatch.concat(c.batch for c in chunks), outcomes)


def _spec(name: str, group: str, deps: tuple[str, ...], description: str) -> dg.AssetSpec:
    return dg.AssetSpec(name, group_name=group, deps=list(deps), description=description,
                        kinds={"duckdb"})


WAREHOUSE_SPECS = [
    _spec("source_files", "ledger", ("staged_results",),
          "The ledger: every file's content hash, format, status and record count."),
    _spec("quarantine", "ledger", ("staged_results",),
          "Why each refused file was refused: record, field and reason."),
    *(_spec(name, "dimensions", ("source_files",), f"Dimension table {name}.")
      for name in DIMENSION_TABLES),
    *(_spec(name, "facts", DIMENSION_TABLES, f"Fact table {name}.") for name in FACT_TABLES),
]


@dg.multi_asset(specs=WAREHOUSE_SPECS, pool=WAREHOUSE_POOL,
                ins={"staged_results": dg.AssetIn()})
def warehouse_tables(
    context: dg.AssetExecutionContext,
    config: LoadConfig,
    staged_results: StagedResults,
    warehouse: WarehouseResource,
):
    """Load the staged batch in one transaction: ledger, supersede, dimensions, facts."""
    with warehouse.get_connection() as con:
        report = load_batch(con, staged_results.batch, retry_quarantined=config.retry_quarantined)
        counts = table_counts(con)
    context.log.info(
        "stored %d new files (%s), skipped %d already known, superseded %d; rows added: %s",
        report.files_loaded, dict(report.by_status), report.duplicates, report.superseded,
        {t: n for t, n in report.rows.items() if n},
    )
    added = {"source_files": report.files_loaded, **report.rows}
    for spec in WAREHOUSE_SPECS:
        table = spec.key.to_user_string()
        yield dg.MaterializeResult(asset_key=spec.key, metadata={
            "rows": counts[table],
            "rows added": added.get(table, 0),
            **({"superseded files": report.superseded} if table == "source_files" else {}),
        })
