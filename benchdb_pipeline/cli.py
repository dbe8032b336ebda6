"""The ``benchdb`` command: the warehouse's powers outside the Dagster UI.

Exit status: 0 when everything went in, 1 when some input was quarantined, 2 for usage,
connection, schema or query errors (printed with their DB00x code).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import sys
from dataclasses import replace
from pathlib import Path

import click
import duckdb
import orjson
from click.core import ParameterSource

from benchdb_pipeline import __version__
from benchdb_pipeline.analytics import ANALYSES
from benchdb_pipeline.analytics.features import FEATURES
from benchdb_pipeline.cli_options import Group, moved, option
from benchdb_pipeline.cli_progress import Steps, progress
from benchdb_pipeline.config import (
    DEFAULT_SAMPLES,
    archive_root,
    backups_dir,
    beside,
    db_path,
    incoming_dir,
    reports_dir,
)
from benchdb_pipeline.errors import BenchdbError, QueryError
from benchdb_pipeline.ingest.discovery import discover
from benchdb_pipeline.ingest.formats import CATEGORIES
from benchdb_pipeline.ingest.pipeline import BATCH_FILES, ingest, ingest_files
from benchdb_pipeline.reports import queries, selection
from benchdb_pipeline.reports.filters import METRICS, Filters
from benchdb_pipeline.reports.render import FORMATS, render
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse import lake as lakes
from benchdb_pipeline.warehouse.inspect import QUARANTINE_COLUMNS, quarantine_rows, status_report
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION, ensure_schema
from benchdb_pipeline.warehouse.store import CONNECTION_CONFIG, session
from benchdb_pipeline.warehouse.writes import announce_write

log = logging.getLogger(__name__)
# Long commands show progress on standard error (a bar on a terminal, lines elsewhere).
quiet_option = click.option("-q", "--quiet", is_flag=True, help="No progress bar or progress lines.")

EXIT_OK, EXIT_QUARANTINED, EXIT_ERROR = 0, 1, 2
REPORTS = ("performance", "hardware", "compatibility", "integration", "summary")
REPORT_QUERIES = {
    "performance": queries.performance,
    "hardware": queries.hardware,
    "compatibility": queries.compatibility,
    "integration": queries.integration,
    "summary": queries.summary_table,
}
QUARANTINE_SHOWN = 20


def db_option(*old: str):
    """``--db``, the warehouse file, under the old script's spelling too (``old``)."""
    return option(
        "--db",
        old=old,
        type=click.Path(dir_okay=False, path_type=Path),
        default=lambda: str(db_path()),
        show_default="$BENCHDB_DB or data/warehouse/benchmarks.duckdb",
        help="The DuckDB warehouse file.",
    )


def check_integrity_option(help: str):
    """``--check-integrity``, the old migration tool's ``--validate``."""
    return option("--check-integrity", is_flag=True, old=("--validate",), help=help)


def archive_dir_option(folder: str, help: str):
    """``--archive-dir``, by default this folder of the archive root ($BENCHDB_ARCHIVE)."""
    return click.option(
        "--archive-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=lambda: str(archive_root() / folder),
        show_default=f"$BENCHDB_ARCHIVE/{folder} or data/archive/{folder}",
        help=help,
    )


format_option = click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
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
        except duckdb.Error as exc:  # e.g. an archive view whose Parquet folder was moved
            _fail(f"database error: {exc}")

    return wrapper


@click.group(
    cls=Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="Exit status: 0 ok, 1 some input quarantined, 2 usage or database error.",
)
@click.version_option(__version__, prog_name="benchdb")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def main(verbose: int) -> None:
    """benchdb: a benchmark-results database for ML performance engineering."""
    logging.basicConfig(
        level=max(logging.DEBUG, logging.WARNING - 10 * verbose),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@main.group()
def schema() -> None:
    """Create or migrate the warehouse schema."""


@schema.command("create")
@db_option("--output")
@click.option(
    "--sample-data", is_flag=True, help="Also write the bundled (simulated) sample files and ingest them."
)
@click.option(
    "--samples-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where --sample-data writes the files [default: beside the database].",
)
@reports_errors
def schema_create(db: Path, sample_data: bool, samples_dir: Path | None) -> None:
    """Create the schema, or migrate it to this version; safe to run again."""
    with session(db) as con:
        applied = ensure_schema(con)
    click.echo(
        f"{db}: schema at version {SCHEMA_VERSION} ({applied} migration{'s' * (applied != 1)} applied)"
    )
    if sample_data:
        target = samples_dir or beside(db) / "samples"
        write_samples(target)
        report = ingest(db, [target])
        click.echo(f"sample data (simulated) from {target}: {report.summary()}")


@main.group()
def lake() -> None:
    """The warehouse on DuckLake: catalog in PostgreSQL, data as Parquet on a shared path.

    Configured by BENCHDB_LAKE_CATALOG (e.g. 'postgres:host=127.0.0.1 dbname=benchdb
    user=bench') and BENCHDB_LAKE_DATA (the data folder); BENCHDB_BACKEND=ducklake makes it
    the warehouse of every command."""


@lake.command("init")
@reports_errors
def lake_init() -> None:
    """Create the lake once (tables, views, id counters); safe to run again."""
    settings = lakes.LakeSettings.from_env()
    created = lakes.init(settings, dict(CONNECTION_CONFIG))
    with session(settings.address, read_only=True) as con:
        where = lakes.describe(con)
    state = "created" if created else "exists already"
    click.echo(f"lake {where['catalog']} ({where['data_path']}): {state}, schema version {SCHEMA_VERSION}")


@main.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@db_option("--output-db")
@option(
    "--input-dir",
    "input_dirs",
    old=("--input-dirs", "--scan-dir", "--auto-store-dir"),
    listing=Path,
    help="Folders to scan recursively for *.json (several after one flag, comma-separated or repeated).",
)
@option(
    "--input-file",
    "input_files",
    old=("--input-files",),
    listing=Path,
    help="Files (several after one flag, comma-separated or repeated).",
)
@option(
    "--incoming",
    is_flag=True,
    old=("--auto-store", "--migrate-all"),
    help="The incoming folder ($BENCHDB_INCOMING or data/incoming), where test runners, the "
    "pytest plugin and the API's spool write.",
)
@option(
    "--categories",
    listing=str,
    choices=CATEGORIES,
    help="Only files of these categories; the others are left unrecorded for a later ingest.",
)
@click.option(
    "--incremental",
    is_flag=True,
    help="Accepted for the old tools; ingestion is always incremental by content hash.",
)
@click.option(
    "--consolidate",
    is_flag=True,
    help="Accepted for the old converter; results are always stored once, by content and identity.",
)
@click.option("--dry-run", is_flag=True, help="Parse and validate only; write nothing.")
@click.option(
    "--retry-quarantined", is_flag=True, help="Read files again whose content was quarantined before."
)
@click.option(
    "--parquet-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Afterwards, export the warehouse to Parquet here (as `benchdb export`).",
)
@check_integrity_option("Afterwards, run the integrity checks (as `benchdb maintenance --check-integrity`).")
@click.option(
    "--action",
    type=click.Choice(("archive", "remove")),
    help="Afterwards, archive or remove the given files whose content the warehouse holds "
    "(as `benchdb maintenance --clean-json`); the others stay.",
)
@archive_dir_option("json", "Where --action archive moves the files (keeping their folders).")
@click.option("--workers", type=click.IntRange(1), help="Parser processes [default: one per core].")
@click.option(
    "--batch-files",
    type=click.IntRange(1),
    default=BATCH_FILES,
    show_default=True,
    help="Files per transaction.",
)
@quiet_option
@moved("--migrate-ci", instead="use `benchdb ci-integrate --artifacts-dir DIR`")
@moved("--artifacts-dir", is_flag=False, instead="use `benchdb ci-integrate --artifacts-dir DIR`")
@moved("--fix-inconsistencies", instead="use `benchdb maintenance --check-integrity --fix-inconsistencies`")
@reports_errors
def ingest_command(
    paths,
    db,
    input_dirs,
    input_files,
    incoming,
    categories,
    incremental,
    consolidate,
    dry_run,
    retry_quarantined,
    parquet_dir,
    check_integrity,
    action,
    archive_dir,
    workers,
    batch_files,
    quiet,
) -> None:
    """Ingest result files and folders (recursively) into the warehouse.

    Every file is recorded in the ledger by content hash: the same content is never read
    twice, a path with new content supersedes its earlier version, and a file with any
    invalid record is quarantined whole with the reason.

    Exit status: 0 when everything went in, 1 when some input was quarantined (or a check
    after it failed), 2 for usage or database errors.
    """
    everything = [*paths, *input_dirs, *input_files]
    if not (everything or incoming):
        raise click.UsageError("give at least one PATH (or --input-dir, --input-file, --incoming)")
    if incoming and incoming_dir().exists():
        everything.append(incoming_dir())
    elif incoming:  # nobody has written there yet: nothing waits
        click.echo(f"the incoming folder {incoming_dir()} does not exist yet: nothing waits there")
        if not everything:
            sys.exit(EXIT_OK)
    if dry_run and (parquet_dir or action):
        raise click.UsageError(
            "--dry-run writes nothing: it cannot be combined with --parquet-dir or --action"
        )
    files = discover(everything)
    with progress(len(files), "dry run" if dry_run else "ingest", "file", quiet) as bar:
        report = ingest_files(
            db,
            files,
            dry_run=dry_run,
            retry_quarantined=retry_quarantined,
            workers=workers,
            batch_files=batch_files,
            progress=bar.update,
            categories=categories,
        )
    if not dry_run:
        announce_write(db, "benchdb ingest")
    click.echo(report.summary())
    formats = report.by_format()
    if len(formats) > 1:
        click.echo(
            "  by format: "
            + "; ".join(f"{name} {n} files, {rows} records" for name, (n, rows) in formats.items())
        )
    if files.skipped:
        click.echo(f"  {files.skipped} files skipped: not *.json, hidden, or still being written")
        if files.skipped_text:
            from benchdb_pipeline.ingest.formats import TEXT_FORMATS

            click.echo(
                f"  {files.skipped_text} of them *.txt/*.log/*.out/*.xml files in no known text format "
                f"({TEXT_FORMATS})"
            )
    quarantined = report.quarantined
    for outcome in quarantined[:QUARANTINE_SHOWN]:
        click.echo(f"  {'unreadable' if outcome.status == 'unreadable' else 'quarantined'}: {outcome.error}")
    if len(quarantined) > QUARANTINE_SHOWN:
        click.echo(f"  … and {len(quarantined) - QUARANTINE_SHOWN} more; see `benchdb quarantine`")
    checks_ok = _after_ingest(db, everything, parquet_dir, check_integrity, action, archive_dir)
    sys.exit(EXIT_QUARANTINED if quarantined or not checks_ok else EXIT_OK)


def _after_ingest(
    db: Path,
    inputs: list[Path],
    parquet_dir: Path | None,
    check_integrity: bool,
    action: str | None,
    archive_dir: Path,
) -> bool:
    """What the old converter and migration tool did after converting: export, check, clean
    up. Returns whether the integrity checks (when asked for) passed."""
    from benchdb_pipeline.maintenance import housekeeping
    from benchdb_pipeline.maintenance import operations as ops

    if parquet_dir:
        from benchdb_pipeline.warehouse.export import export_parquet

        with session(db, read_only=True) as con:
            rows = export_parquet(con, parquet_dir, [])
        click.echo(f"exported {sum(rows.values())} rows of {len(rows)} tables to {parquet_dir}")
    passed = True
    if check_integrity:
        checked = ops.check_integrity(db)
        passed = checked["ok"]
        for name, check in checked["checks"].items():
            click.echo(f"integrity {name}: {'ok' if check['passed'] else check}")
    if action:
        cleaned = housekeeping.clean_json(db, inputs, 0, action, archive_dir)
        where = f" to {archive_dir}" if action == "archive" else ""
        click.echo(
            f"{action}d {cleaned['files']} files{where}; "
            f"{cleaned['not_in_the_warehouse']} not held by the warehouse stay"
        )
    return passed


def _hosts(host: str, loopback: bool, extra: tuple[str, ...]) -> tuple[str, ...]:
    """The Host headers `benchdb serve` accepts: the loopback names on loopback, else the
    bound address (any address when bound to all of them), and the configured names."""
    if loopback:
        bound: tuple[str, ...] = ("127.0.0.1", "localhost", "::1", "[::1]")
    elif host in ("0.0.0.0", "::"):
        bound = () if extra else ("*",)
    else:
        bound = (host,)
    return (*bound, *extra)


@main.command("run")
@option(
    "--models",
    listing=str,
    help="Models, several after one flag or comma-separated (e.g. bert-base-uncased t5-small vit-base).",
)
@click.option(
    "--models-set", type=click.Choice(("small", "key")), help="A named set of models instead of --models."
)
@option(
    "--hardware",
    listing=str,
    help="cpu, cuda, rocm, mps, openvino; several after one flag, comma-separated or repeated "
    "[default: cpu].",
)
@option("--batch-sizes", listing=int, help="Batch sizes (1 2 4 8, or 1,2,4,8) [default: 1,2,4,8].")
@option(
    "--precision",
    "precisions",
    listing=str,
    help="fp32, fp16, bf16; several after one flag or comma-separated [default: fp32].",
)
@click.option(
    "--iterations",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    help="Timed iterations per configuration.",
)
@click.option(
    "--warmup",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    help="Untimed warm-up iterations per configuration.",
)
@click.option(
    "--sequence-length",
    type=click.IntRange(1),
    default=128,
    show_default=True,
    help="Tokens per input of text models.",
)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Store the run in this warehouse [default: $BENCHDB_DB, unless only --output-dir is given].",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Write the result file here (the canonical format, for CI artifacts).",
)
@quiet_option
@reports_errors
def run_command(
    models,
    models_set,
    hardware,
    batch_sizes,
    precisions,
    iterations,
    warmup,
    sequence_length,
    db,
    output_dir,
    quiet,
) -> None:
    """Measure models on this machine's hardware with PyTorch, and store the results.

    Every model × hardware × precision × batch size is measured for real: per-iteration
    latencies, percentiles, throughput, peak memory, load time and parameter count. A
    platform that is not here, or a precision the device cannot run, is recorded as a
    compatibility result with its reason, never measured as something else.

    Exit status: 0 when every configuration was measured, 1 when some could not be, 2 for
    usage errors or when PyTorch is not installed.
    """
    from benchdb_pipeline.runner.run import RunnerUnavailable, make_plan, require_runtime, run_and_store

    try:
        plan = make_plan(
            list(models), models_set, hardware, batch_sizes, precisions, iterations, warmup, sequence_length
        )
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    try:
        require_runtime()
    except RunnerUnavailable as exc:
        _fail(str(exc))
    bars: list = []
    configurations = plan.configurations()
    numbers = itertools.count(1)

    def tick(description: str, total: int):
        """One configuration's iterations: a bar, or a line when it is done."""
        if bars:
            bars.pop().close()
        bar = progress(total, f"[{next(numbers)}/{configurations}] {description}", "iteration", quiet)
        bars.append(bar)
        return bar.update

    target_db = db or (None if output_dir else db_path())
    click.echo(f"measuring {configurations} configurations", err=True)
    stored = run_and_store(plan, db=target_db, output_dir=output_dir, progress=tick)
    announce_write(target_db, "benchdb run")
    for bar in bars:
        bar.close()
    outcome = stored.outcome
    click.echo(f"{outcome.measured} configurations measured; result file: {stored.path}")
    for reason in outcome.not_measured:
        click.echo(f"  not measured: {reason}")
    if stored.ingest is not None:
        click.echo(f"{target_db}: {stored.ingest.summary()}")
        if stored.ingest.quarantined:
            for item in stored.ingest.quarantined:
                click.echo(f"  quarantined: {item.error}")
            sys.exit(EXIT_ERROR)
    sys.exit(EXIT_QUARANTINED if outcome.not_measured else EXIT_OK)


@main.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind (loopback by default; reads need a token elsewhere).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@db_option()
@click.option("--auth-reads", is_flag=True, help="Require a bearer token for reads too.")
@option(
    "--cors-origin",
    "cors_origins",
    listing=str,
    help="Allow browser requests from these origins (none by default).",
)
@click.option(
    "--snapshot-interval",
    type=click.FloatRange(0.1),
    default=1.0,
    show_default=True,
    help="Seconds between read snapshots at most.",
)
@click.option(
    "--query-slots",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="POST /query requests run at once; more are answered 429 (the other endpoints stay free).",
)
@click.option(
    "--query-time-limit",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="Seconds one POST /query may run; it is stopped (its worker killed) soon after.",
)
@click.option(
    "--query-memory",
    "query_memory_mb",
    type=click.IntRange(256),
    default=1024,
    show_default=True,
    help="MB one POST /query may hold: each runs in a worker process that cannot grow by more.",
)
@option(
    "--allowed-host",
    "allowed_hosts",
    listing=str,
    help="A Host name clients may use besides the bound address (repeatable; '*' for any). "
    "Other Host headers are refused, as a DNS-rebinding page would send.",
)
@reports_errors
def serve_command(
    host: str,
    port: int,
    db: Path,
    auth_reads: bool,
    cors_origins: list[str],
    snapshot_interval: float,
    query_slots: int,
    query_time_limit: float,
    query_memory_mb: int,
    allowed_hosts: list[str],
) -> None:
    """Serve the REST API (FastAPI; docs at /docs, schema at /openapi.json).

    Writes need a bearer token from BENCHDB_API_TOKENS (comma-separated). Reads are open
    on loopback; bound to any other address, or with --auth-reads, they need a token too.
    """
    import ipaddress

    import uvicorn

    from benchdb_pipeline.api.app import Settings, create_app

    tokens = tuple(t.strip() for t in os.environ.get("BENCHDB_API_TOKENS", "").split(",") if t.strip())
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not tokens:
        click.echo("warning: BENCHDB_API_TOKENS is not set: every write will be refused (403)", err=True)
    settings = Settings(
        db=db,
        tokens=tokens,
        auth_reads=auth_reads or not loopback,
        cors_origins=tuple(cors_origins),
        snapshot_interval=snapshot_interval,
        after_write=functools.partial(announce_write, db, "benchdb serve"),
        allowed_hosts=_hosts(host, loopback, tuple(allowed_hosts)),
        query_slots=query_slots,
        query_time_limit=query_time_limit,
        query_memory_mb=query_memory_mb,
    )
    # Bring the catalog up to date now, before any request: the listeners load (the Dagster
    # one imports Dagster) here rather than while the first write holds the database.
    announce_write(db, "benchdb serve")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info", access_log=False)


@main.command("maintenance")
@db_option()
@click.option("--optimize-db", is_flag=True, help="ANALYZE and CHECKPOINT.")
@click.option("--vacuum", is_flag=True, help="Reclaim space from deleted rows.")
@check_integrity_option("References, natural keys, ledger vs facts, value ranges, views.")
@click.option(
    "--fix-inconsistencies",
    is_flag=True,
    help="Repair what the checks find where a repair can lose nothing (views, files whose rows "
    "do not match the ledger read again from disk); list the rest. With --dry-run: only list.",
)
@click.option("--dry-run", is_flag=True, help="With --fix-inconsistencies: say what it would repair.")
@click.option("--backup", "take_backup", is_flag=True, help="A consistent, checksummed backup.")
@click.option(
    "--backup-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: str(backups_dir()),
    show_default="$BENCHDB_BACKUPS or data/backups",
    help="Where backups live (for --backup and --purge-backups).",
)
@click.option("--backup-compress", is_flag=True, help="gzip the backed-up file.")
@click.option(
    "--verify-backup",
    type=click.Path(file_okay=False, path_type=Path),
    help="Check a backup folder's checksums, open it, compare row counts.",
)
@click.option(
    "--restore",
    type=click.Path(file_okay=False, path_type=Path),
    help="Restore a backup folder to --db (a path that must not exist yet).",
)
@click.option("--purge-backups", is_flag=True, help="Delete backups older than --backup-retention.")
@click.option(
    "--backup-retention",
    type=click.FloatRange(0),
    default=30,
    show_default=True,
    help="Days to keep backups (the newest is always kept).",
)
@click.option(
    "--migration-stats",
    is_flag=True,
    help="Files by category and status, rates, a timeline by day, table sizes.",
)
@click.option(
    "--clean-json", is_flag=True, help="Archive or remove result files whose content the warehouse holds."
)
@click.option(
    "--json-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: str(incoming_dir()),
    show_default="$BENCHDB_INCOMING",
    help="The folder --clean-json cleans.",
)
@click.option(
    "--archive-data",
    is_flag=True,
    help="Move fact rows older than --older-than to Parquet under --archive-dir "
    "(partitioned by table, year, month); the all_* views still read them.",
)
@click.option(
    "--older-than",
    type=click.FloatRange(0),
    default=30,
    show_default=True,
    help="Days: --clean-json and --archive-data touch only what is older than this "
    "(rows by their measured time, else their ingestion time).",
)
@click.option("--action", type=click.Choice(("archive", "remove")), default="archive", show_default=True)
@click.option(
    "--archive-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where --archive-data writes Parquet [default: $BENCHDB_ARCHIVE/warehouse], and "
    "--clean-json --action archive moves files, keeping their folders [default: "
    "$BENCHDB_ARCHIVE/json] ($BENCHDB_ARCHIVE: data/archive unless set).",
)
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON report here."
)
@reports_errors
def maintenance_command(
    db,
    optimize_db,
    vacuum,
    check_integrity,
    fix_inconsistencies,
    dry_run,
    take_backup,
    backup_dir,
    backup_compress,
    verify_backup,
    restore,
    purge_backups,
    backup_retention,
    migration_stats,
    clean_json,
    json_dir,
    archive_data,
    older_than,
    action,
    archive_dir,
    output,
) -> None:
    """Maintain the warehouse; several operations in one call, one JSON report of them all.

    Exit status: 0 when every operation succeeded, 1 when a check found problems or a
    backup failed verification, 2 for usage or database errors.
    """
    from benchdb_pipeline.maintenance import housekeeping
    from benchdb_pipeline.maintenance import operations as ops

    if dry_run and not fix_inconsistencies:
        raise click.UsageError("--dry-run goes with --fix-inconsistencies")
    given = click.get_current_context().get_parameter_source("json_dir") is not ParameterSource.DEFAULT
    if clean_json and given and not json_dir.exists():  # a default nobody wrote to yet is no error
        raise FileNotFoundError(f"no such file or folder: {json_dir}")
    json_archive = archive_dir or archive_root() / "json"
    rows_archive = archive_dir or archive_root() / "warehouse"
    steps = [
        (restore, lambda: ops.restore_backup(restore, db)),
        (optimize_db, lambda: ops.optimize(db)),
        (vacuum, lambda: ops.vacuum(db)),
        # The repairs re-run the checks; asked for both, the checks run once, after them.
        (check_integrity and not fix_inconsistencies, lambda: ops.check_integrity(db)),
        (fix_inconsistencies, lambda: ops.fix_inconsistencies(db, dry_run)),
        (take_backup, lambda: ops.take_backup(db, backup_dir, backup_compress)),
        (verify_backup, lambda: ops.verify_backup(verify_backup)),
        (purge_backups, lambda: ops.purge_backups(backup_dir, backup_retention)),
        (
            migration_stats,
            lambda: {"operation": "migration-stats", "ok": True, **housekeeping.migration_stats(db)},
        ),
        (clean_json, lambda: housekeeping.clean_json(db, [json_dir], older_than, action, json_archive)),
        (archive_data, lambda: ops.archive_old_rows(db, rows_archive, older_than)),
    ]
    chosen = [run for wanted, run in steps if wanted]
    if not chosen:
        raise click.UsageError("choose at least one operation (see --help)")
    operations = [run() for run in chosen]
    if restore or archive_data or (fix_inconsistencies and not dry_run):
        announce_write(db, "benchdb maintenance")
    report = {
        "db": lakes.display(str(db)),
        "operations": operations,
        "ok": all(op["ok"] for op in operations),
    }
    text = orjson.dumps(report, option=orjson.OPT_INDENT_2).decode()
    if output:
        output.write_text(text + "\n")
    click.echo(text)
    sys.exit(EXIT_OK if report["ok"] else EXIT_QUARANTINED)


@main.command("ci-integrate")
@click.option(
    "--artifacts-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The folder CI downloaded: one sub-folder per job.",
)
@db_option()
@click.option("--commit", help="The commit the artifacts belong to [default: sha in the CI metadata].")
@click.option("--branch", help="The branch [default: from ref in the CI metadata].")
@click.option(
    "--build-id",
    help="The CI run [default: run_id in the CI metadata]; files are recorded "
    "under ci/<platform>/<build-id>/ in the ledger.",
)
@click.option("--ci-platform", help="github-actions, gitlab, jenkins, … [default: from the CI metadata].")
@click.option(
    "--ci-metadata",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="CI metadata JSON [default: ci_metadata.json in --artifacts-dir, if any].",
)
@click.option(
    "--archive-artifacts", is_flag=True, help="Afterwards, move the artifacts under --archive-dir/<date>/."
)
@archive_dir_option("artifacts", "Where --archive-artifacts moves them.")
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the JSON report here."
)
@quiet_option
@reports_errors
def ci_integrate_command(
    artifacts_dir,
    db,
    commit,
    branch,
    build_id,
    ci_platform,
    ci_metadata,
    archive_artifacts,
    archive_dir,
    output,
    quiet,
) -> None:
    """Integrate CI artifacts: every job's result files (all formats), per-job warehouses
    (*.duckdb) and Parquet exports, merged by content and natural keys, with the commit,
    branch and CI metadata stored on each run.

    Integrating the same artifacts again adds nothing; jobs give the same tables in any order.
    Exit status: 0 ok, 1 some input quarantined, 2 usage or database error.
    """
    from benchdb_pipeline.ingest.artifacts import CIContext, find_artifacts, integrate

    ci = CIContext.resolve(
        artifacts_dir, ci_metadata, commit=commit, branch=branch, build_id=build_id, platform=ci_platform
    )
    found = find_artifacts(artifacts_dir)
    with progress(found.items, "integrate", "item", quiet) as bar:
        report = integrate(
            db, found, ci, archive_dir=archive_dir if archive_artifacts else None, progress=bar.update
        )
    announce_write(db, "benchdb ci-integrate")
    text = orjson.dumps(report.record(), option=orjson.OPT_INDENT_2).decode()
    if output:
        output.write_text(text + "\n")
    click.echo(text)
    sys.exit(EXIT_QUARANTINED if report.quarantined else EXIT_OK)


@main.command("export")
@db_option()
@click.option(
    "--parquet-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Write one Parquet dataset per table here (replacing an earlier export).",
)
@option(
    "--partition-by",
    listing=str,
    help="Columns to partition by, in tables that have them (e.g. hardware_id).",
)
@reports_errors
def export_command(db: Path, parquet_dir: Path, partition_by: list[str]) -> None:
    """Export the warehouse to Parquet (the old converter's --parquet-dir): one dataset per
    table, archived rows included, with benchdb_export.json; `benchdb ci-integrate` and any
    Parquet reader read it back."""
    from benchdb_pipeline.warehouse.export import export_parquet

    with session(db, read_only=True) as con:
        rows = export_parquet(con, parquet_dir, partition_by)
    click.echo(render(["table", "rows"], list(rows.items())))
    click.echo(f"exported to {parquet_dir}")


def filter_options(command):
    """The filters every report, comparison and chart accepts."""
    options = [
        click.option("--model", help="Model name, in any case (e.g. bert-base-uncased)."),
        click.option("--hardware", help="Hardware type (cpu, cuda, rocm, mps, openvino, …)."),
        click.option("--device", help="Only this device, in any spelling (A100 = NVIDIA A100)."),
        click.option("--batch-size", type=click.IntRange(1), help="Only this batch size."),
        click.option("--precision", help="Only this precision (fp32, fp16, bf16, int8, …)."),
        click.option("--test-case", help="Only this test case."),
        click.option("--since", type=click.DateTime(), help="Only results measured since (YYYY-MM-DD)."),
        click.option("--last-days", type=click.IntRange(1), help="Only results of the last N days."),
        click.option(
            "--include-simulated/--exclude-simulated",
            default=None,
            help="Whether simulated results count [default: in tables, marked; in charts only "
            "where nothing measured exists].",
        ),
        click.option(
            "--metric",
            type=click.Choice(sorted(METRICS)),
            default="throughput",
            show_default=True,
            help="The metric compared or plotted.",
        ),
    ]
    for decorate in reversed(options):
        command = decorate(command)
    return command


def regression_options(command, baseline_days: bool = True):
    """The options of a regression check (shared by regression-check and query, whose own
    --last-days filter serves as the baseline's)."""
    options = [
        click.option("--run", "run_id", type=int, help="Check this run [default: the newest]."),
        click.option("--commit", help="Check the newest run of this commit (prefix)."),
        click.option(
            "--window",
            type=click.IntRange(1),
            default=10,
            show_default=True,
            help="Baseline: the previous N results of each series.",
        ),
        *(
            [
                click.option(
                    "--last-days",
                    "baseline_days",
                    type=click.IntRange(1),
                    help="Baseline: results of the last D days before the candidate.",
                )
            ]
            if baseline_days
            else []
        ),
        click.option(
            "--reference-db",
            type=click.Path(exists=True, dir_okay=False, path_type=Path),
            help="Baseline: the same series in another warehouse (e.g. main's).",
        ),
        click.option(
            "--threshold",
            type=click.FloatRange(0, min_open=True),
            default=10.0,
            show_default=True,
            help="Smallest change that counts, in percent.",
        ),
        option(
            "--check-metric",
            "check_metrics",
            listing=str,
            choices=sorted(METRICS),
            help="Metrics to check [default: all].",
        ),
        click.option("--no-store", is_flag=True, help="Do not record the findings (read-only)."),
    ]
    for decorate in reversed(options):
        command = decorate(command)
    return command


def _filters(options: dict) -> Filters:
    return Filters(
        model=options["model"],
        hardware=options["hardware"],
        device=options["device"],
        batch_size=options["batch_size"],
        precision=options["precision"],
        test_case=options["test_case"],
        since=options["since"],
        last_days=options["last_days"],
        include_simulated=options["include_simulated"],
    )


def _emit(text: str, output: Path | None, what: str) -> None:
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text if text.endswith("\n") else text + "\n")
        click.echo(f"{what} written to {output}")
    else:
        click.echo(text)


@main.command("query")
@click.option("--sql", help="One SQL query, run on a read-only connection.")
@click.option("--report", type=click.Choice(REPORTS), help="A ready-made report.")
@click.option(
    "--compare-hardware", is_flag=True, help="Compare hardware for --model [default: for every model]."
)
@click.option(
    "--compare-models", is_flag=True, help="Compare models on --hardware [default: on every hardware type]."
)
@click.option("--regression-check", is_flag=True, help="The same as `benchdb regression-check`.")
@functools.partial(regression_options, baseline_days=False)
@filter_options
@db_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice((*FORMATS, "html")),
    default="table",
    show_default=True,
    help="Output format (html: a self-contained page with charts).",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of standard output.",
)
@reports_errors
def query_command(
    sql,
    report,
    compare_hardware,
    compare_models,
    regression_check,
    db,
    fmt,
    output,
    run_id,
    commit,
    window,
    reference_db,
    threshold,
    check_metrics,
    no_store,
    **options,
) -> None:
    """Query the warehouse: raw SQL, a report, or a comparison.

    \b
    benchdb query --sql "SELECT * FROM latest_performance_metrics"
    benchdb query --report summary --format html --output report.html
    benchdb query --model bert-base-uncased --metric latency --compare-hardware
    benchdb query --hardware cuda --compare-models --format markdown
    """
    chosen = [
        name
        for name, on in (
            ("--sql", sql),
            ("--report", report),
            ("--compare-hardware", compare_hardware),
            ("--compare-models", compare_models),
            ("--regression-check", regression_check),
        )
        if on
    ]
    if len(chosen) != 1:
        raise click.UsageError(
            "give exactly one of --sql, --report, --compare-hardware, --compare-models, --regression-check"
        )
    if regression_check:
        _regression_check(
            db,
            fmt,
            output,
            run_id,
            commit,
            window,
            options["last_days"],
            reference_db,
            threshold,
            check_metrics,
            no_store,
        )
    if sql and fmt == "html":
        raise click.UsageError("--format html is for reports and comparisons, not --sql")
    filters, metric = _filters(options), METRICS[options["metric"]]
    with session(db, read_only=True) as con:
        if sql:
            result = queries.run_sql(con, sql)
        elif fmt == "html":
            section = report or ("performance" if compare_hardware else "hardware")
            _html_report(con, db, section, filters, output)
            return
        elif report == "summary" and fmt == "markdown":
            from benchdb_pipeline.reports.report import build as build_report

            _emit(
                build_report(con, filters, source=str(db), with_charts=False).markdown(),
                output,
                "Markdown summary",
            )
            return
        elif report:
            result = REPORT_QUERIES[report](con, filters)
        else:
            result = queries.compare(con, metric, filters)
            # Without the one model (or hardware type) to compare for, every one is compared:
            # a table each, or one table with its column for machine-readable formats.
            group = "model_name" if compare_hardware else "hardware_type"
            if fmt in ("table", "markdown") and not options["model" if compare_hardware else "hardware"]:
                _emit(_grouped(result, group, fmt), output, f"{len(result.rows)} rows")
                return
    _emit(render(result.columns, result.rows, fmt), output, f"{len(result.rows)} rows")


def _grouped(result, column: str, fmt: str) -> str:
    """One table per value of ``column`` (that column left out), each under its heading."""
    at = result.columns.index(column)
    shown = [c for i, c in enumerate(result.columns) if i != at]
    groups: dict = {}
    for row in result.rows:
        groups.setdefault(row[at], []).append([v for i, v in enumerate(row) if i != at])
    heading = "## " if fmt == "markdown" else ""
    if not groups:
        return render(shown, [], fmt)
    return "\n\n".join(f"{heading}{key}\n\n{render(shown, rows, fmt)}" for key, rows in groups.items())


def _html_report(con, db: Path, report: str, filters: Filters, output: Path | None) -> None:
    """A self-contained HTML page: one report's section, or every section for ``summary``."""
    from benchdb_pipeline.reports.report import SECTIONS
    from benchdb_pipeline.reports.report import build as build_report

    page = build_report(con, filters, source=str(db), sections=SECTIONS if report == "summary" else (report,))
    _emit(page.html(), output, "HTML report")


@main.command("visualize")
@click.option(
    "--compare-hardware",
    "chart",
    flag_value="compare-hardware",
    help="A model's metric on every platform, by batch size (needs --model).",
)
@click.option(
    "--compare-models",
    "chart",
    flag_value="compare-models",
    help="Every model's metric on a hardware type (needs --hardware).",
)
@click.option(
    "--plot-trend", "chart", flag_value="trend", help="A metric over time (needs --model and --hardware)."
)
@click.option(
    "--batch-scaling",
    "chart",
    flag_value="batch-scaling",
    help="A metric against batch size, per platform (needs --model).",
)
@click.option(
    "--compatibility-matrix",
    "chart",
    flag_value="compatibility",
    help="Model × hardware compatibility heatmap.",
)
@click.option(
    "--report",
    type=click.Choice(REPORTS),
    help="Instead of one chart, a report page with its charts (--format html; as `benchdb query --report`).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("html",)),
    help="With --report: html [default]. A chart's format follows its file's suffix.",
)
@filter_options
@db_option()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The chart file (.png, .svg or .pdf decides the format), or the report's page.",
)
@reports_errors
def visualize_command(chart, report, fmt, db, output, **options) -> None:
    """Draw a chart of warehouse data (headless; png, svg or pdf), or a report page."""
    from benchdb_pipeline.reports import charts

    if report:
        if chart:
            raise click.UsageError("choose a chart or --report, not both")
        with session(db, read_only=True) as con:
            _html_report(con, db, report, _filters(options), output)
        return
    if fmt:
        raise click.UsageError("--format is for --report; a chart's format follows its file's suffix")
    if chart is None:
        raise click.UsageError(
            "choose a chart: --compare-hardware, --compare-models, --plot-trend, "
            "--batch-scaling or --compatibility-matrix (or a page with --report)"
        )
    needs = {
        "compare-hardware": ("model",),
        "compare-models": ("hardware",),
        "trend": ("model", "hardware"),
        "batch-scaling": ("model",),
        "compatibility": (),
    }
    missing = [f"--{n}" for n in needs[chart] if not options[n]]
    if missing:
        raise click.UsageError(f"this chart needs {' and '.join(missing)}")
    if output.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise click.UsageError(f"{output}: choose a .png, .svg or .pdf file")
    asked, metric = _filters(options), METRICS[options["metric"]]
    model, hardware = options["model"], options["hardware"]

    def draw(con: duckdb.DuckDBPyConnection, filters: Filters):
        return {
            "compare-hardware": lambda: charts.compare_hardware(
                queries.compare(con, metric, filters), metric, model
            ),
            "compare-models": lambda: charts.compare_models(
                queries.compare(con, metric, filters), metric, hardware
            ),
            "trend": lambda: charts.trend(queries.history(con, metric, filters), metric, model, hardware),
            "batch-scaling": lambda: charts.batch_scaling(
                queries.compare(con, metric, filters), metric, model
            ),
            "compatibility": lambda: charts.compatibility_matrix(queries.compatibility(con, filters)),
        }[chart]()

    shows: list[str] = []
    with session(db, read_only=True) as con:
        filters = asked if chart == "compatibility" else selection.measured_first(con, asked, shows)
        try:
            try:
                figure = draw(con, filters)
            except charts.NoData:
                if filters == asked:
                    raise
                # The measured results give nothing this chart draws (a trend needs times):
                # the simulated ones it hid are all there is.
                shows = [f"simulated results: the measured ones give no {metric.name} {chart} to draw"]
                figure = draw(con, asked)
        except charts.NoData as exc:
            raise QueryError(str(exc)) from exc
        except charts.TooManySeries as exc:
            raise click.UsageError(str(exc)) from exc
    caption = selection.caption(shows)
    click.echo(f"chart written to {charts.save(charts.with_caption(figure, caption), output)}")
    if caption:
        click.echo(caption)


def _regression_check(
    db: Path,
    fmt: str,
    output: Path | None,
    run_id,
    commit,
    window,
    baseline_days,
    reference_db,
    threshold,
    check_metrics,
    no_store,
    build: str | None = None,
) -> None:
    from benchdb_pipeline.analytics import regressions
    from benchdb_pipeline.analytics.output import format_report

    settings = regressions.Settings(
        threshold_percent=threshold,
        window=window,
        last_days=baseline_days,
        metrics=tuple(check_metrics) or regressions.Settings().metrics,
    )
    with session(db, read_only=no_store, create=False) as con:
        if not no_store:
            ensure_schema(con)
        runs = regressions.runs_of_build(con, build) if build else [run_id]
        reports = [
            regressions.check(con, settings, run_id=run, commit=commit, reference_db=reference_db)
            for run in runs
        ]
        if not no_store:
            for report in reports:
                regressions.store(con, report)
    texts = [format_report(report, fmt if fmt in ("json", "markdown") else "table") for report in reports]
    _emit(
        f"[{', '.join(texts)}]" if build and fmt == "json" else "\n\n".join(texts), output, "regression check"
    )
    sys.exit(EXIT_QUARANTINED if any(report.regressions for report in reports) else EXIT_OK)


@main.command("regression-check")
@regression_options
@db_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "markdown")),
    default="table",
    show_default=True,
    help="Output format (markdown: for a pull-request comment).",
)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Write to this file.")
@click.option(
    "--build",
    help="Check every run of this CI build (its build id, as `ci-integrate` "
    "recorded it): one report per run, e.g. each matrix job's.",
)
@reports_errors
def regression_check_command(db, fmt, output, **options) -> None:
    """Check a run (or every run of a CI build) for performance regressions against each
    series' baseline.

    Exit status: 0 no regression, 1 regressions found (CI can gate on it), 2 error.
    A change counts when it passes --threshold and is significant (a robust z-score >= 3 of
    the run's value against at least 5 baseline runs, raw samples adding the run's own
    measurement error; fewer points make a low-confidence finding, reported but not
    failing). Findings are recorded for triage.
    """
    _regression_check(db, fmt, output, **options)


@main.group()
def formats() -> None:
    """The result formats benchdb reads: built in, and declared in YAML (`formats add`)."""


@formats.command("list")
@format_option
@reports_errors
def formats_list(fmt: str) -> None:
    """Every format, built in or declared, with what its files look like."""
    from benchdb_pipeline.config import formats_dir
    from benchdb_pipeline.ingest.formats import ADAPTERS, TEXT_ADAPTERS
    from benchdb_pipeline.ingest.formats.declared import declared_adapters

    rows = [
        [a.declared.name, "declared", a.category, f"{a.declared.description} ({a.declared.source})".strip()]
        for a in declared_adapters(formats_dir())
    ]
    rows += [[a.name, "text", a.category, a.shape] for a in TEXT_ADAPTERS]
    rows += [[a.name, "json", a.category, a.shape] for a in ADAPTERS]
    click.echo(render(["format", "kind", "category", "looks like"], rows, fmt, max_cell=None))


@formats.command("add")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Replace the declared format of the same name.")
@reports_errors
def formats_add(mapping: Path, replace: bool) -> None:
    """Declare a format: check MAPPING (YAML, see README) and keep it in BENCHDB_FORMATS
    (default data/formats), where every ingest finds it."""
    import shutil

    from benchdb_pipeline.config import formats_dir
    from benchdb_pipeline.ingest.formats import ADAPTERS, TEXT_ADAPTERS
    from benchdb_pipeline.ingest.formats.declared import MappingError, load

    declared = load(mapping)
    if declared.name in {a.name for a in (*ADAPTERS, *TEXT_ADAPTERS)}:
        raise MappingError(f"{mapping}: {declared.name} is a built-in format; choose another name")
    target = formats_dir() / f"{declared.name}.yaml"
    if target.exists() and not replace:
        raise MappingError(f"{declared.name} is declared already ({target}); --replace replaces it")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mapping, target)
    click.echo(f"declared format {declared.name}: {target}")


@formats.command("check")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@reports_errors
def formats_check(mapping: Path, files: tuple[Path, ...]) -> None:
    """Try MAPPING on result FILES without storing anything: whether it matches each, and the
    records and problems it gives. Exit status 1 when a file does not match or has problems."""
    import orjson

    from benchdb_pipeline.ingest.formats.base import Source
    from benchdb_pipeline.ingest.formats.declared import DeclaredAdapter, load
    from benchdb_pipeline.ingest.normalize import Extraction

    adapter = DeclaredAdapter(load(mapping))
    failed = False
    for path in files:
        doc = orjson.loads(path.read_bytes())
        if not adapter.matches(doc):
            click.echo(
                f"{path}: does not match ({', '.join(p.text for p in adapter.declared.match)} and {adapter.declared.records.text})"
            )
            failed = True
            continue
        out = Extraction()
        adapter.extract(doc, out, Source(str(path)))
        rows = out.rows["performance"]
        click.echo(f"{path}: {len(rows)} records, {len(out.problems)} problems")
        for problem in out.problems[:20]:
            click.echo(f"  {problem.describe(str(path))}")
        columns = sorted({c for row in rows for c in row if not c.startswith("_")})
        if rows:
            click.echo(render(columns, [[row.get(c) for c in columns] for row in rows[:10]], "table"))
        failed |= bool(out.problems)
    sys.exit(1 if failed else 0)


@main.group()
def regressions() -> None:
    """List and triage recorded regressions."""


@regressions.command("list")
@db_option()
@click.option(
    "--status",
    type=click.Choice(("untriaged", "acknowledged", "expected", "invalid", "fixed")),
    help="Only regressions with this status.",
)
@format_option
@reports_errors
def regressions_list(db: Path, status: str | None, fmt: str) -> None:
    """Recorded regressions and improvements, newest first."""
    with session(db, read_only=True) as con:
        result = queries.run_sql(
            con,
            """
            SELECT regression_id AS id, model_name, platform_key, test_case, batch_size, precision,
                   metric, round(change_percent, 1) AS change_percent, direction, severity,
                   method, status, note, detected_at
            FROM performance_regressions WHERE ? IS NULL OR status = ?
            ORDER BY detected_at DESC, regression_id DESC""",
            [status, status],
        )
    click.echo(render(result.columns, result.rows, fmt))


@regressions.command("ack")
@click.argument("regression_id", type=int)
@click.option(
    "--status",
    type=click.Choice(("acknowledged", "expected", "invalid", "fixed", "untriaged")),
    default="acknowledged",
    show_default=True,
    help="expected: the change is intended; the series' baseline restarts there. "
    "invalid: not a real change (noise, a broken run).",
)
@click.option("--note", help="Why (kept with the regression).")
@db_option()
@reports_errors
def regressions_ack(regression_id: int, status: str, note: str | None, db: Path) -> None:
    """Triage a regression."""
    from benchdb_pipeline.analytics.regressions import triage

    with session(db, create=False) as con:
        triage(con, regression_id, status, note)
    click.echo(f"regression {regression_id}: {status}")


@main.command("analyze")
@click.option(
    "--analysis",
    "analysis",
    type=click.Choice((*ANALYSES, "all")),
    required=True,
    help="Which analysis (all: every one).",
)
@click.option("--model-family", help="Only models of this family.")
@click.option("--hardware-type", help="Only this hardware type (the same as --hardware).")
@click.option(
    "--interactive", is_flag=True, help="Also write interactive.html: interactive charts in one offline page."
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=lambda: str(reports_dir() / "analysis"),
    show_default="$BENCHDB_REPORTS/analysis or data/reports/analysis",
    help="Where the CSV, JSON, charts and summary.md go.",
)
@click.option(
    "--regression-threshold",
    type=click.FloatRange(0, min_open=True),
    default=0.1,
    show_default=True,
    help="anomaly-detection: the smallest change from the trailing median that counts, as a "
    "fraction (0.1 = 10 %).",
)
@option(
    "--prediction-features",
    listing=str,
    choices=FEATURES,
    help="performance-prediction: the features the model learns from [default: all of them].",
)
@option(
    "--check-metric",
    "check_metrics",
    listing=str,
    choices=sorted(METRICS),
    help="Metrics to analyse [default: throughput, latency].",
)
@filter_options
@db_option()
@quiet_option
@reports_errors
def analyze_command(
    analysis: str,
    output_dir: Path,
    check_metrics,
    model_family,
    hardware_type,
    interactive: bool,
    regression_threshold: float,
    prediction_features: list[str],
    db: Path,
    quiet: bool,
    **options,
) -> None:
    """Retrospective analyses of each series' history.

    \b
    change-points          where a level moved and stayed moved (significant splits on ranks), drifts too
    anomaly-detection      single results far from the trailing window before them (robust z)
    performance-trends     first and last value, change and slope per day of each series
    hardware-comparison    each platform's reach and speed (--model-family to narrow)
    model-comparison       models on a hardware type (--hardware-type to choose)
    batch-scaling          throughput relative to batch 1, and its efficiency
    correlation-analysis   Spearman correlation of the numeric parameters and metrics
    performance-prediction grouped cross-validation vs a naive baseline, untested configs
    """
    from benchdb_pipeline.analytics.analyze import analyze, interactive_page

    chosen = ANALYSES if analysis == "all" else (analysis,)
    with session(db, read_only=True) as con:
        filters = replace(
            _filters(options), model_family=model_family, hardware=hardware_type or options["hardware"]
        )
        written = analyze(
            con,
            chosen,
            output_dir,
            filters,
            tuple(check_metrics) or ("throughput", "latency"),
            anomaly_min_change_percent=100 * regression_threshold,
            prediction_features=tuple(prediction_features) or None,
            step=Steps("analyze", quiet),
        )
        if interactive:
            click.echo(f"interactive charts: {interactive_page(con, output_dir, filters)}")
    click.echo(written[-1].read_text().rstrip())
    click.echo(f"\n{len(written)} files written under {output_dir}")


@main.command("predict")
@click.option("--model", "model_name", required=True, help="A model the warehouse knows.")
@click.option("--hardware", required=True, help="A hardware type the warehouse knows.")
@click.option("--device", help="The device name, when the hardware type has several.")
@click.option("--batch-size", type=click.IntRange(1), required=True)
@click.option("--precision", default="fp32", show_default=True)
@click.option("--sequence-length", type=click.IntRange(1), help="[default: the usual one]")
@click.option("--metric", type=click.Choice(sorted(METRICS)), default="throughput", show_default=True)
@click.option("--include-simulated", is_flag=True, help="Train on simulated results too.")
@click.option("--evaluate", is_flag=True, help="Also report grouped cross-validation vs the naive baseline.")
@click.option(
    "--also-predict",
    is_flag=True,
    help="For a configuration that was measured: the prediction too, beside the measurement, "
    "with its error against it.",
)
@click.option(
    "--save",
    "save_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the fitted model (with its version and training-data hash).",
)
@db_option()
@reports_errors
def predict_command(
    model_name,
    hardware,
    device,
    batch_size,
    precision,
    sequence_length,
    metric,
    include_simulated,
    evaluate,
    also_predict,
    save_path,
    db,
) -> None:
    """Predict a metric for a configuration nobody has measured, with an 80 % interval and
    the nearest measured configurations. A configuration that was measured is answered with
    its measurement."""
    from benchdb_pipeline.analytics import prediction

    with session(db, read_only=True) as con:
        frame = prediction.training_frame(con, metric, include_simulated)
    if frame.empty:
        raise QueryError("no measured results to learn from (try --include-simulated)")
    query, curve = prediction.question(
        frame, model_name, hardware, device, batch_size, precision, sequence_length
    )
    model_name, hardware, precision = query.iloc[0][["model_name", "hardware_type", "precision"]]
    unit, label = METRICS[metric].unit, METRICS[metric].label.lower()
    measured = prediction.measured(frame, query.iloc[0], device=device, sequence_length=sequence_length)
    if not measured.empty:
        click.echo(
            f"{model_name} on {hardware}, batch {batch_size}, {precision} was measured: "
            f"{label} {measured['target'].iloc[0]:.4g} {unit} (median of its results)"
        )
        click.echo(
            render(list(measured.columns[:-1]) + [f"measured ({unit})"], measured.values.tolist(), "table")
        )
        if not (also_predict or evaluate or save_path):  # no model needed: none is fitted
            click.echo(
                "the measurement is the answer (--also-predict shows the model's prediction beside it)"
            )
            return
    fitted = prediction.fit(frame, metric)
    row = fitted.predict(query).iloc[0]
    if measured.empty or also_predict:
        error = (
            f"; {100 * (row['predicted'] / measured['target'].iloc[0] - 1):+.1f} % against the measurement"
            if not measured.empty
            else ""
        )
        click.echo(
            f"{model_name} on {hardware}{' · ' + row['device_name'] if row['device_name'] else ''}, "
            f"batch {batch_size}, {precision}: predicted {label} "
            f"{row['predicted']:.4g} {unit} (80 % interval {row['interval_low']:.4g}–"
            f"{row['interval_high']:.4g} {unit}){error}"
        )
    if row["kind"] == "extrapolation":
        click.echo(
            f"note: batch size {batch_size} is outside the measured range of this configuration "
            f"({curve['batch_size'].min():g}–{curve['batch_size'].max():g}): the prediction follows "
            "its batch curve, and its interval widens with each doubling past it"
        )
    elif row["kind"] in ("new configuration", "unseen pair"):
        what = "in this precision" if row["kind"] == "new configuration" else "on this device"
        click.echo(
            f"note: this model was never measured {what}; the interval is as wide as such predictions' errors"
        )
    click.echo(
        f"trained on {len(frame)} measured configurations; benchdb {fitted.version}; "
        f"training data sha256 {fitted.data_hash[:16]}…"
    )
    if measured.empty:
        near = fitted.neighbours(query.iloc[0])
        click.echo("nearest measured configurations:")
        click.echo(render(list(near.columns[:-1]) + [f"measured ({unit})"], near.values.tolist(), "table"))
    if evaluate:
        click.echo(prediction.evaluate(frame, metric).summary())
    if save_path:
        click.echo(f"model saved to {fitted.save(save_path)}")


@main.command("status")
@db_option()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="Output format.",
)
@reports_errors
def status_command(db: Path, fmt: str) -> None:
    """Rows per table (and in the Parquet archive), files by ledger status, runs."""
    with session(db, read_only=True) as con:
        report = status_report(con)
    if fmt == "json":
        click.echo(orjson.dumps(report, option=orjson.OPT_INDENT_2, default=str).decode())
        return
    version = report["schema_version"]
    older = (
        f"; this benchdb migrates it to {SCHEMA_VERSION} on its next write"
        if version < SCHEMA_VERSION
        else ""
    )
    where = report["warehouse"]
    if where["backend"] == "ducklake":  # not the address: the catalog string may hold a password
        where_text = f"DuckLake {where['catalog']}, data {where['data_path']}, snapshot {where['snapshot']}"
    else:
        where_text = str(db)
    click.echo(f"{where_text} (schema version {version}{older})")
    click.echo(
        render(
            ["table", "rows", "archived rows"],
            [(t, n, report["archived"].get(t, "")) for t, n in report["tables"].items()],
        )
    )
    click.echo(render(["file status", "files"], list(report["files_by_status"].items())))
    runs = report["runs"]
    click.echo(
        f"runs: {runs['measured']} measured, {runs['simulated']} simulated; "
        f"started between {runs['first_started_at']} and {runs['last_started_at']}"
    )


@main.command("quarantine")
@db_option()
@format_option
@click.option("--limit", type=click.IntRange(1), help="Show at most this many problems.")
@reports_errors
def quarantine_command(db: Path, fmt: str, limit: int | None) -> None:
    """List quarantined files with the record, field and reason of each problem."""
    with session(db, read_only=True) as con:
        rows = quarantine_rows(con, limit)
    click.echo(render(QUARANTINE_COLUMNS, rows, fmt, max_cell=None))  # reasons in full


@main.command("samples")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_SAMPLES,
    show_default=True,
    help="Where to write the files.",
)
def samples_command(output_dir: Path) -> None:
    """Write the bundled sample files (simulated data, every supported format)."""
    written = write_samples(output_dir)
    click.echo(f"{len(written)} sample files (simulated) written under {output_dir}")


if __name__ == "__main__":
    main()
