"""Repairs for what the integrity checks find, where a repair can lose nothing.

- Views that do not run are created again from their definitions.
- A file whose rows no longer add up to its ledger record count (rows deleted by hand, say),
  and a duplicate whose original is no longer stored, are read again from disk: released
  (their rows deleted, the ledger row marked superseded) for the next ingest to store them
  whole. Only files still on disk with the content the ledger recorded are released; the
  others keep what they have and are listed.

Everything else (references that do not resolve, repeated natural keys, values out of range,
fact rows of files no longer stored, a missing archive) needs a person; the checks name it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from benchdb_pipeline.warehouse.checks import MISMATCHED_FILES, ORPHANED_DUPLICATES, check_views
from benchdb_pipeline.warehouse.schema import create_views, utc_now
from benchdb_pipeline.warehouse.store import release_files


@dataclass
class Plan:
    """What the repairs would do."""

    views: list[str] = field(default_factory=list)  # views that do not run
    reread: dict[int, str] = field(default_factory=dict)  # file id → path, read again
    left: list[str] = field(default_factory=list)  # files that cannot be read again, and why

    @property
    def empty(self) -> bool:
        return not (self.views or self.reread)

    def record(self) -> dict:
        return {
            "recreate_views": self.views,
            "read_again": sorted(self.reread.values()),
            "cannot_repair": self.left,
        }


def _on_disk(path: str, sha256: str) -> str | None:
    """Why a file cannot be read again from ``path`` (None when it can)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"not on disk ({exc.strerror or exc})"
    return None if hashlib.sha256(data).hexdigest() == sha256 else "its content on disk has changed"


def plan(con: duckdb.DuckDBPyConnection) -> Plan:
    """Find what can be repaired safely (reads only)."""
    found = Plan(views=[view for view, bad in check_views(con).offending.items() if bad])
    for why, sql in (("rows do not match", MISMATCHED_FILES), ("original not stored", ORPHANED_DUPLICATES)):
        for file_id, path, sha256 in con.execute(f"{sql} ORDER BY 2").fetchall():
            problem = _on_disk(path, sha256)
            if problem is None:
                found.reread[file_id] = path
            else:
                found.left.append(f"{path} ({why}): {problem}")
    return found


def apply(con: duckdb.DuckDBPyConnection, found: Plan) -> None:
    """Carry a plan out, in the caller's transaction; the released files are then ingested."""
    if found.views:
        create_views(con)
    if found.reread:
        ids = ", ".join(str(int(file_id)) for file_id in found.reread)
        release_files(con, f"SELECT unnest([{ids}])", utc_now())
