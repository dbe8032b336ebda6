"""The ``benchdb`` command: the warehouse's powers outside the Dagster UI.

Exit status: 0 when everything went in, 1 when some input was quarantined, 2 for usage,
connection, schema or query errors (printed with their DB00x code).
"""

from __future__ import annotations

import functools
import logging
import sys
from pathlib import Path

import click
import orjson

from benchdb_pipeline import __version__
from benchdb_pipeline.config import DEFAULT_SAMPLES, db_path
from benchdb_pipeline.errors import BenchdbError, QueryError
from benchdb_pipeline.ingest.pipeline import discover, ingest, ingest_files
from benchdb_pipeline.reports.render import FORMATS, render
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse.inspect import QUARANTINE_COLUMNS, quarantine_rows, status_report
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION, ensure_schema
from benchdb_pipeline.warehouse.store import session

EXIT_OK, EXIT_QUARANTINED, EXIT_ERROR = 0, 1, 2
QUARANTINE_SHOWN = 20

db_option = click.option(
    "--db", type=click.Path(dir_okay=False, path_type=Path), default=lambda: str(db_path()),
    show_default="$BENCHDB_DB or data/warehouse/benchmarks.duckdb",
    help="The DuckDB warehouse file.",
)
format_option = click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True,
    help="Output format.",
)


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def reports_errors(command):
    """Turn domain errors into a one-line message and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except BenchdbError as exc:
            _fail(str(exc))
        except FileNotFoundError as exc:
            _fail(str(exc))

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             epilog="Exit status: 0 ok, 1 some input quarantined, 2 usage or database error.")
@click.version_option(__version__, prog_name="benchdb")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """benchdb: a benchmark-results database for ML performance engineering."""
    logging.basicConfig(
        level=max(logging.DEBUG, logging.WARNING - 10 * verbose),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )


@main.group()
def schema() -> None:
    """Create or migrate the warehouse schema."""


@schema.command("create")
@db_option
@click.option("--sample-data", is_flag=True,
              help="Also write the bundled (simulated) sample files and ingest them.")
@click.option("--samples-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where --sample-data writes the files [default: beside the database].")
@reports_errors
def schema_create(db: Path, sample_data: bool, samples_dir: Path | None) -> None:
    """Create the schema, or migrate it to this version; safe to run again."""
    with session(db) as con:
        applied = ensure_schema(con)
    click.echo(f"{db}: schema at version {SCHEMA_VERSION} "
               f"({applied} migration{'s' * (applied != 1)} applied)")
    if sample_data:
        target = samples_dir or db.parent / "samples"
        write_samples(target)
        report = ingest(db, [target])
        click.echo(f"sample data (simulated) from {target}: {report.summary()}")


@main.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@db_option
@click.option("--input-dir", "--scan-dir", "input_dirs", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="A folder to scan recursively for *.json (old spellings; repeatable).")
@click.option("--input-file", "input_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), help="One file (repeatable).")
@click.option("--incremental", is_flag=True,
              help="Accepted for the old tools; ingestion is always incremental by content hash.")
@click.option("--dry-run", is_flag=True, help="Parse and validate only; write nothing.")
@click.option("--retry-quarantined", is_flag=True,
              help="Read files again whose content was quarantined before.")
@click.option("--workers", type=click.IntRange(1), help="Parser processes [default: one per core].")
@click.option("--batch-files", type=click.IntRange(1), default=20_000, show_default=True,
              help="Files per transaction.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
@reports_errors
def ingest_command(paths, db, input_dirs, input_files, incremental, dry_run, retry_quarantined,
                   workers, batch_files, quiet) -> None:
    """Ingest result files and folders (recursively) into the warehouse.

    Every file is recorded in the ledger by content hash: the same content is never read
    twice, a path with new content supersedes its earlier version, and a file with any
    invalid record is quarantined whole with the reason.
    """
    from tqdm import tqdm

    everything = [*paths, *input_dirs, *input_files]
    if not everything:
        raise click.UsageError("give at least one PATH (or --input-dir / --input-file)")
    files = discover(everything)
    with tqdm(total=len(files), unit="file", disable=True if quiet else None,
              desc="dry run" if dry_run else "ingest", file=sys.stderr) as bar:
        report = ingest_files(db, files, dry_run=dry_run, retry_quarantined=retry_quarantined,
                              workers=workers, batch_files=batch_files, progress=bar.update)
    click.echo(report.summary())
    quarantined = report.quarantined
    for outcome in quarantined[:QUARANTINE_SHOWN]:
        click.echo(f"  quarantined: {outcome.error}")
    if len(quarantined) > QUARANTINE_SHOWN:
        click.echo(f"  … and {len(quarantined) - QUARANTINE_SHOWN} more; see `benchdb quarantine`")
    sys.exit(EXIT_QUARANTINED if quarantined else EXIT_OK)


@main.command("query")
@click.option("--sql", required=True, help="One SQL query, run on a read-only connection.")
@db_option
@format_option
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
@reports_errors
def query_command(sql: str, db: Path, fmt: str, output: Path | None) -> None:
    """Run a read-only SQL query against the warehouse."""
    import duckdb

    with session(db, read_only=True) as con:
        try:
            result = con.execute(sql)
            columns = [d[0] for d in result.description or []]
            rows = result.fetchall()
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from exc
    text = render(columns, rows, fmt)
    if output:
        output.write_text(text + "\n")
        click.echo(f"{len(rows)} rows written to {output}")
    else:
        click.echo(text)


@main.command("status")
@db_option
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")
@reports_errors
def status_command(db: Path, fmt: str) -> None:
    """Rows per table, files by ledger status, runs (measured and simulated)."""
    with session(db, read_only=True) as con:
        report = status_report(con)
    if fmt == "json":
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str).decode())
        return
    click.echo(f"{db} (schema version {report['schema_version']})")
    click.echo(render(["table", "rows"], list(report["tables"].items())))
    click.echo(render(["file status", "files"], list(report["files_by_status"].items())))
    runs = report["runs"]
    click.echo(f"runs: {runs['measured']} measured, {runs['simulated']} simulated; "
               f"started between {runs['first_started_at']} and {runs['last_started_at']}")


@main.command("quarantine")
@db_option
@format_option
@click.option("--limit", type=click.IntRange(1), help="Show at most this many problems.")
@reports_errors
def quarantine_command(db: Path, fmt: str, limit: int | None) -> None:
    """List quarantined files with the record, field and reason of each problem."""
    with session(db, read_only=True) as con:
        rows = quarantine_rows(con, limit)
    click.echo(render(QUARANTINE_COLUMNS, rows, fmt, max_cell=None))  # reasons in full


@main.command("samples")
@click.option("--output-dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_SAMPLES, show_default=True, help="Where to write the files.")
def samples_command(output_dir: Path) -> None:
    """Write the bundled sample files (simulated data, every supported format)."""
    written = write_samples(output_dir)
    click.echo(f"{len(written)} sample files (simulated) written under {output_dir}")


if __name__ == "__main__":
    main()
