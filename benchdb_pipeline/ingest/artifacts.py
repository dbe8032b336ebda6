"""CI artifacts into the warehouse, with the commit, branch and CI run they belong to.

An artifacts folder is what CI downloads: one sub-folder per job holding result files of
any supported format, per-job warehouses (``*.duckdb``), Parquet exports (folders with
``benchdb_export.json``) and ``ci_metadata.json``. Everything merges by content and natural
keys, so the same jobs give the same warehouse whatever order they arrive in, and
integrating them again adds nothing.

With a build id (``--build-id`` or ``run_id`` in the metadata), files are recorded in the
ledger as ``ci/<platform>/<build>/<path in the artifacts>``: the next build's file at the
same download path is a new file, not a new version of this one.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import orjson
import pyarrow as pa

from benchdb_pipeline.errors import BenchdbError
from benchdb_pipeline.ingest.discovery import is_result_file, is_text_candidate, is_text_result
from benchdb_pipeline.ingest.pipeline import IngestReport, ingest_files
from benchdb_pipeline.ingest.warehouses import StagedWarehouse, stage_warehouse
from benchdb_pipeline.warehouse.export import EXPORT_MANIFEST, is_export, read_exported
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION, ensure_schema, sql_string, utc_now
from benchdb_pipeline.warehouse.sql import fetch_value
from benchdb_pipeline.warehouse.staging import STAGING_SCHEMAS, StagedBatch
from benchdb_pipeline.warehouse.store import LoadReport, load_batch, session

log = logging.getLogger(__name__)

CI_METADATA = "ci_metadata.json"
# The CI metadata fields kept on every run, as the workflow writes them.
CI_FIELDS = (
    "workflow_id",
    "workflow_name",
    "run_id",
    "run_attempt",
    "ref",
    "repository",
    "actor",
    "trigger",
    "sha",
)


class ArtifactsError(BenchdbError):
    """An artifacts folder, its CI metadata or a per-job warehouse cannot be read."""

    code = "DB007"


@dataclass(frozen=True)
class CIContext:
    """Who produced the artifacts: stored on every run they bring in."""

    commit: str | None = None
    branch: str | None = None
    build_id: str | None = None
    platform: str | None = None
    metadata: dict = field(default_factory=dict)

    @classmethod
    def resolve(
        cls,
        artifacts_dir: Path,
        metadata_file: Path | None = None,
        *,
        commit: str | None = None,
        branch: str | None = None,
        build_id: str | None = None,
        platform: str | None = None,
    ) -> CIContext:
        """Options given win over ``ci_metadata.json`` (``metadata_file``, else the one at the
        top of the artifacts folder, when there is one)."""
        file = metadata_file or (artifacts_dir / CI_METADATA)
        metadata = {}
        if metadata_file or file.is_file():
            try:
                metadata = orjson.loads(file.read_bytes())
            except (OSError, orjson.JSONDecodeError) as exc:
                raise ArtifactsError(f"{file}: cannot read the CI metadata: {exc}") from None
            if not isinstance(metadata, dict):
                raise ArtifactsError(f"{file}: the CI metadata must be a JSON object")
        ref = str(metadata.get("ref") or "")
        return cls(
            commit=commit or metadata.get("sha") or metadata.get("commit"),
            branch=branch
            or metadata.get("branch")
            or (ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None),
            build_id=build_id or (str(metadata["run_id"]) if metadata.get("run_id") else None),
            platform=platform or metadata.get("platform"),
            metadata={k: metadata[k] for k in CI_FIELDS if metadata.get(k) is not None},
        )

    def ledger_path(self, relative: str, absolute: str) -> str:
        if not self.build_id:
            return absolute
        return f"ci/{self.platform or 'ci'}/{self.build_id}/{relative}"

    def run_metadata(self, job: str) -> dict:
        ci = {**self.metadata, "platform": self.platform, "build_id": self.build_id, "job": job or None}
        return {k: v for k, v in ci.items() if v is not None}


@dataclass
class Artifacts:
    """What one artifacts folder holds (paths under ``root``, absolute)."""

    root: Path
    result_files: list[Path] = field(default_factory=list)
    warehouses: list[Path] = field(default_factory=list)
    exports: list[Path] = field(default_factory=list)
    ignored: dict[str, str] = field(default_factory=dict)  # path → why

    @property
    def items(self) -> int:
        return len(self.result_files) + len(self.warehouses) + len(self.exports)

    def job_of(self, path: Path | str) -> str:
        """The job folder a path is in ("" for the top of the artifacts folder)."""
        relative = Path(path).relative_to(self.root)
        return relative.parts[0] if len(relative.parts) > 1 else ""

    @property
    def jobs(self) -> list[str]:
        return sorted({self.job_of(p) for p in self.result_files + self.warehouses + self.exports} - {""})


def find_artifacts(root: Path) -> Artifacts:
    """What an artifacts folder holds, in a stable order; hidden entries are skipped."""
    root = root.resolve()
    found = Artifacts(root)
    if not root.is_dir():
        raise ArtifactsError(f"{root}: no such artifacts folder")
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if is_export(here):
            found.exports.append(here)
            dirs[:] = []
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if name.startswith(".") or name == CI_METADATA:
                continue
            if name.endswith(".duckdb"):
                found.warehouses.append(path)
            elif is_result_file(name) or (is_text_candidate(name) and is_text_result(str(path))):
                found.result_files.append(path)
            elif is_text_candidate(name):
                found.ignored[str(path)] = "a text file in no known text format"
            elif name.endswith(".parquet"):
                found.ignored[str(path)] = f"Parquet outside a benchdb export (no {EXPORT_MANIFEST})"
            elif not name.endswith(".duckdb.wal"):
                found.ignored[str(path)] = "not a result file, warehouse or export"
    return found


def annotate(batch: StagedBatch, ci: CIContext, place: Callable[[str], tuple[str, str]]) -> StagedBatch:
    """Record each file at its CI ledger path, and the commit, branch and CI metadata on each
    run (a run's own commit and branch, when it has them, are kept). ``place`` maps a staged
    path to (ledger path, job)."""
    files = batch.tables["files"].to_pylist()
    job_of = {}
    for row in files:
        row["path"], job_of[row["file_key"]] = place(row["path"])
    runs = batch.tables["test_runs"].to_pylist()
    for run in runs:
        run["git_commit"] = run["git_commit"] or ci.commit
        run["git_branch"] = run["git_branch"] or ci.branch
        metadata = orjson.loads(run["metadata"]) if run["metadata"] else {}
        metadata["ci"] = ci.run_metadata(job_of.get(run["file_key"], ""))
        run["metadata"] = orjson.dumps(metadata, option=orjson.OPT_SORT_KEYS).decode()
    return StagedBatch(
        {
            **batch.tables,
            "files": pa.Table.from_pylist(files, STAGING_SCHEMAS["files"]),
            "test_runs": pa.Table.from_pylist(runs, STAGING_SCHEMAS["test_runs"]),
        }
    )


@dataclass
class IntegrationReport:
    artifacts_dir: Path
    ci: CIContext
    jobs: list[str]
    result_files: IngestReport | None = None
    merged: dict[str, LoadReport] = field(default_factory=dict)
    ignored: dict[str, str] = field(default_factory=dict)
    unowned_rows: int = 0
    archived_to: Path | None = None

    @property
    def quarantined(self) -> int:
        from_files = len(self.result_files.quarantined) if self.result_files else 0
        return from_files + sum(r.by_status.get("quarantined", 0) for r in self.merged.values())

    def record(self) -> dict:
        files = self.result_files
        return {
            "artifacts_dir": str(self.artifacts_dir),
            "ci": {
                "commit": self.ci.commit,
                "branch": self.ci.branch,
                "build_id": self.ci.build_id,
                "platform": self.ci.platform,
                **self.ci.metadata,
            },
            "jobs": self.jobs,
            "result_files": None
            if files is None
            else {
                "files": files.files,
                "by_status": files.load.by_status,
                "already_known": files.load.duplicates,
                "rows": files.load.rows,
                "quarantined": [o.error for o in files.quarantined],
            },
            "warehouses_and_exports": {
                source: {
                    "files_loaded": r.files_loaded,
                    "already_known": r.duplicates,
                    "by_status": r.by_status,
                    "rows": r.rows,
                }
                for source, r in self.merged.items()
            },
            "rows_without_a_source_file_not_merged": self.unowned_rows,
            "ignored": self.ignored,
            "archived_to": str(self.archived_to) if self.archived_to else None,
            "quarantined_files": self.quarantined,
        }


def integrate(
    db: Path,
    found: Artifacts,
    ci: CIContext,
    *,
    archive_dir: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> IntegrationReport:
    """Bring every job's results of an artifacts folder (``find_artifacts``) into the warehouse
    at ``db``: result files as ``benchdb ingest`` would (one transaction per batch), then each
    per-job warehouse and export (one transaction each). ``archive_dir`` moves the folder's
    contents under ``archive_dir/<date>/`` afterwards."""
    root = found.root
    report = IntegrationReport(root, ci, found.jobs, ignored=found.ignored)
    for path, why in found.ignored.items():
        log.warning("ignored %s: %s", path, why)

    def place_file(path: str) -> tuple[str, str]:
        return ci.ledger_path(Path(path).relative_to(root).as_posix(), path), found.job_of(path)

    if found.result_files:
        report.result_files = ingest_files(
            db,
            [str(p) for p in found.result_files],
            progress=progress,
            annotate=lambda batch: annotate(batch, ci, place_file),
        )
    for source in sorted(found.warehouses + found.exports):
        relative = source.relative_to(root).as_posix()

        def place_merged(path: str, relative=relative, source=source) -> tuple[str, str]:
            return ci.ledger_path(f"{relative}:{path}", f"{source}:{path}"), found.job_of(source)

        started = time.perf_counter()
        loaded, unowned = _merge(db, source, lambda batch: annotate(batch, ci, place_merged))
        log.info(
            "merged %s in %.1f s: %d new files (%d already known), %s",
            relative,
            time.perf_counter() - started,
            loaded.files_loaded,
            loaded.duplicates,
            ", ".join(f"{n} {table}" for table, n in loaded.rows.items() if n) or "no rows",
        )
        report.merged[relative] = loaded
        report.unowned_rows += unowned
        if progress:
            progress(1)
    if archive_dir is not None:
        report.archived_to = archive_artifacts(root, archive_dir)
    return report


def _merge(db: Path, source: Path, adjust: Callable[[StagedBatch], StagedBatch]) -> tuple[LoadReport, int]:
    """Merge one per-job warehouse or export in one transaction."""
    with session(db) as con:
        ensure_schema(con)
        if source.is_dir():
            staged = stage_warehouse(con, lambda table: read_exported(source, table))
        else:
            staged = _stage_job_warehouse(con, source)
        if staged.unowned_rows:
            log.warning(
                "%s: %d fact rows have no source file and were not merged", source, staged.unowned_rows
            )
        return load_batch(con, adjust(staged.batch)), staged.unowned_rows


def _stage_job_warehouse(con: duckdb.DuckDBPyConnection, warehouse: Path) -> StagedWarehouse:
    """Stage a per-job warehouse, attached read-only; one of an older schema version is
    migrated in a temporary copy first."""
    attach = "ATTACH {} AS job (READ_ONLY)"
    with tempfile.TemporaryDirectory(prefix="benchdb-merge-") as scratch:
        con.execute(attach.format(sql_string(warehouse)))
        try:
            if not fetch_value(
                con,
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'job' "
                "AND table_name = 'schema_version'",
            ):
                raise ArtifactsError(f"{warehouse}: not a benchdb warehouse (no schema_version table)")
            version = fetch_value(con, "SELECT max(version) FROM job.main.schema_version")
            if version > SCHEMA_VERSION:
                raise ArtifactsError(
                    f"{warehouse}: schema version {version} is newer than this "
                    f"benchdb's ({SCHEMA_VERSION}); upgrade benchdb"
                )
            if version < SCHEMA_VERSION:
                con.execute("DETACH job")
                copy = Path(scratch) / warehouse.name
                shutil.copy(warehouse, copy)
                with session(copy) as migrating:
                    ensure_schema(migrating)
                con.execute(attach.format(sql_string(copy)))
            return stage_warehouse(con, lambda table: f"job.main.{table}")
        finally:
            con.execute("DETACH DATABASE IF EXISTS job")


def archive_artifacts(root: Path, archive_dir: Path) -> Path:
    """Move what ``root`` holds to ``archive_dir/<YYYY-MM-DD>/<root name>[-n]``; ``root`` stays,
    empty, for the next download."""
    day = archive_dir / utc_now().strftime("%Y-%m-%d")
    target, n = day / root.name, 1
    while target.exists():
        n += 1
        target = day / f"{root.name}-{n}"
    target.mkdir(parents=True)
    for entry in sorted(root.iterdir()):
        shutil.move(str(entry), target / entry.name)
    return target
