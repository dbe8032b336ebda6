"""The maintenance operations of ``benchdb maintenance`` and the Dagster maintenance job,
each returning a JSON-ready record of what it did."""

from __future__ import annotations

from pathlib import Path

from benchdb_pipeline.config import is_lake
from benchdb_pipeline.maintenance import backup as backups
from benchdb_pipeline.maintenance.archive import ArchiveError, archive_data
from benchdb_pipeline.warehouse import lake, repairs
from benchdb_pipeline.warehouse.checks import ALL_CHECKS
from benchdb_pipeline.warehouse.store import session, transaction


def _size_mb(db: Path) -> float:
    return round(db.stat().st_size / 2**20, 2)


def optimize(db: Path) -> dict:
    """Refresh the optimizer's statistics and fold the write-ahead log into the file; on a
    lake, compact it (see ``compact_lake``)."""
    if is_lake(db):
        return compact_lake(db, "optimize")
    with session(db, create=False) as con:
        con.execute("ANALYZE")
        con.execute("CHECKPOINT")
    return {"operation": "optimize", "ok": True, "size_mb": _size_mb(db)}


def compact_lake(db: Path, operation: str) -> dict:
    """The lake's nightly maintenance: inlined rows flushed to Parquet, small files merged,
    snapshots older than a week expired and the files only they needed deleted."""
    with session(db) as con:
        return {"operation": operation, "ok": True, **lake.compact(con)}


def vacuum(db: Path) -> dict:
    """Reclaim space from deleted rows (VACUUM, then a forced checkpoint); on a lake,
    compaction rewrites the files rows were deleted from."""
    if is_lake(db):
        return compact_lake(db, "vacuum")
    with session(db, create=False) as con:
        before = _size_mb(db)
        con.execute("VACUUM")
        con.execute("FORCE CHECKPOINT")
    return {"operation": "vacuum", "ok": True, "size_mb_before": before, "size_mb": _size_mb(db)}


def check_integrity(db: Path) -> dict:
    """Every check of ``warehouse/checks.py``: references of every fact table, natural keys,
    the ledger against the facts, value ranges, and every view."""
    with session(db, read_only=True) as con:
        results = [check(con) for check in ALL_CHECKS]
    return {
        "operation": "check-integrity",
        "ok": all(r.passed for r in results),
        "checks": {
            r.name: {
                "passed": r.passed,
                "offending": {k: v for k, v in r.offending.items() if v},
                **({"errors": r.errors} if r.errors else {}),
            }
            for r in results
        },
    }


def take_backup(db: Path, backup_dir: Path, compress: bool = False) -> dict:
    folder, manifest = backups.backup(db, backup_dir, compress=compress)
    name, first = next(iter(manifest.files.items()))  # the file, or the lake's catalog dump
    return {
        "operation": "backup",
        "ok": True,
        "path": str(folder),
        "file": name,
        "files": len(manifest.files),
        "size_mb": round(sum(f["size"] for f in manifest.files.values()) / 2**20, 2),
        "sha256": first["sha256"],
        "rows": sum(manifest.rows.values()),
    }


def verify_backup(folder: Path) -> dict:
    try:
        manifest = backups.verify(folder)
    except backups.BackupError as exc:
        return {"operation": "verify-backup", "ok": False, "path": str(folder), "error": str(exc)}
    return {
        "operation": "verify-backup",
        "ok": True,
        "path": str(folder),
        "created_at": manifest.created_at.isoformat(),
        "rows": sum(manifest.rows.values()),
    }


def restore_backup(folder: Path, db: Path) -> dict:
    try:
        manifest = backups.restore(folder, db)
    except backups.BackupError as exc:
        return {"operation": "restore", "ok": False, "path": str(folder), "error": str(exc)}
    return {
        "operation": "restore",
        "ok": True,
        "path": str(folder),
        "db": str(db),
        "rows": sum(manifest.rows.values()),
    }


def purge_backups(backup_dir: Path, retention_days: float) -> dict:
    removed = backups.purge(backup_dir, retention_days)
    return {
        "operation": "purge-backups",
        "ok": True,
        "removed": [str(p) for p in removed],
        "kept": len(backups.backups(backup_dir)),
    }


def archive_old_rows(db: Path, archive_dir: Path, older_than_days: float) -> dict:
    """Fact rows older than the cutoff to verified Parquet, deleted here in one transaction."""
    try:
        return archive_data(db, archive_dir, older_than_days).record()
    except ArchiveError as exc:
        return {"operation": "archive-data", "ok": False, "archive_dir": str(archive_dir), "error": str(exc)}


def fix_inconsistencies(db: Path, dry_run: bool = False) -> dict:
    """The safe repairs of ``warehouse/repairs.py`` (a dry run lists them), then the checks
    again; what is still wrong needs a person and is listed with the checks' words."""
    from benchdb_pipeline.ingest.pipeline import ingest_files

    with session(db, read_only=dry_run, create=False) as con:
        found = repairs.plan(con)
        if not dry_run and not found.empty:
            with transaction(con):
                repairs.apply(con, found)
    stored = ingest_files(db, sorted(found.reread.values())) if found.reread and not dry_run else None
    after = check_integrity(db)
    return {
        "operation": "fix-inconsistencies",
        "ok": after["ok"],
        "dry_run": dry_run,
        **found.record(),
        **({"ingest": stored.summary()} if stored else {}),
        "still_wrong": {
            name: check["offending"] for name, check in after["checks"].items() if not check["passed"]
        },
    }
