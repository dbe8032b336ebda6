"""Migration statistics and the clean-up of result files the warehouse already holds."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path

from benchdb_pipeline.ingest.discovery import discover
from benchdb_pipeline.warehouse.inspect import table_counts
from benchdb_pipeline.warehouse.store import session

# Statuses whose content the warehouse holds for good (an empty file holds nothing to lose).
# Not a duplicate: its results are held through another file, which may yet be superseded.
HELD = ("ingested", "empty")
# Statuses of files whose content was taken: stored, empty, or already stored through another.
SUCCEEDED = ("ingested", "empty", "duplicate")


def migration_stats(db: Path) -> dict:
    """Files by category and status, records imported, success and quarantine rates, a
    timeline by day, and rows and size per table."""
    with session(db, read_only=True) as con:
        by_status = dict(con.execute("SELECT status, count(*) FROM source_files GROUP BY ALL").fetchall())
        categories = [
            {"category": c, "status": s, "files": n, "records": r}
            for c, s, n, r in con.execute(
                "SELECT coalesce(category, 'unknown format'), status, count(*), sum(record_count) "
                "FROM source_files GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        ]
        timeline = [
            {"day": str(day), "files": n, "ingested": i, "quarantined": q, "records": r}
            for day, n, i, q, r in con.execute(
                "SELECT ingested_at::DATE, count(*), count(*) FILTER (WHERE status = 'ingested'), "
                "count(*) FILTER (WHERE status = 'quarantined'), sum(record_count) "
                "FROM source_files GROUP BY ALL ORDER BY 1"
            ).fetchall()
        ]
        rows = table_counts(con)
    # Every version of a file counts once: superseded versions were replaced by their path's
    # newer content. A file whose content was taken succeeded: its rows are stored, it held
    # none (empty), or its results already were (a duplicate).
    seen = sum(n for status, n in by_status.items() if status != "superseded")
    taken = sum(by_status.get(status, 0) for status in SUCCEEDED)
    return {
        "files": by_status,
        "records_imported": sum(c["records"] or 0 for c in categories if c["status"] == "ingested"),
        "success_rate": round(taken / seen, 4) if seen else None,
        "quarantine_rate": round(by_status.get("quarantined", 0) / seen, 4) if seen else None,
        "by_category": categories,
        "timeline": timeline,
        # DuckDB keeps no size per table (its estimated_size is a row estimate): rows only, and
        # the size of the whole file.
        "tables": {t: {"rows": n} for t, n in rows.items()},
        "database_bytes": db.stat().st_size,
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def clean_json(
    db: Path, paths: Sequence[Path], older_than_days: float, action: str, archive_dir: Path | None = None
) -> dict:
    """Archive or remove result files (under the folders, or the files, in ``paths``) older than
    the given age whose exact content the ledger holds; every other file is left where it is,
    with the reason counted. Archiving keeps each file's place under its folder; a path that
    does not exist holds nothing to clean (it is listed as missing)."""
    if action not in ("archive", "remove"):
        raise ValueError("action must be archive or remove")
    destination = archive_dir if action == "archive" else None
    if action == "archive" and destination is None:
        raise ValueError("archiving needs an archive folder")
    cutoff = time.time() - older_than_days * 86_400
    candidates: dict[Path, Path] = {}  # each file and the folder its archived place is kept under
    missing = [str(root) for root in paths if not root.exists()]
    for root in (root for root in paths if root.exists()):
        base = root.resolve() if root.is_dir() else root.resolve().parent
        for found in discover([root]):
            if os.stat(found).st_mtime < cutoff:
                candidates.setdefault(Path(found), base)
    hashes = {path: _sha256(path) for path in candidates}
    held: set[str] = set()
    if hashes:
        with session(db, read_only=True) as con:
            held = {
                h
                for (h,) in con.execute(
                    "SELECT sha256 FROM source_files WHERE list_contains(?, sha256) AND list_contains(?, status)",
                    [sorted(set(hashes.values())), list(HELD)],
                ).fetchall()
            }
    done, kept = [], []
    for path, digest in hashes.items():
        if digest not in held:
            kept.append(str(path))
            continue
        if destination is not None:
            target = destination / path.relative_to(candidates[path])
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(path, target)
        else:
            path.unlink()
        done.append(str(path))
    return {
        "operation": "clean-json",
        "ok": True,
        "action": action,
        "files": len(done),
        "not_in_the_warehouse": len(kept),
        "examples_kept": kept[:10],
        **({"missing": missing} if missing else {}),  # e.g. an incoming folder nobody wrote to yet
    }
