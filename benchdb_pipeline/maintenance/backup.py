"""Backups an operator can trust: consistent, checksummed, verified before any restore.

A backup is the warehouse file itself, copied right after a CHECKPOINT while this process
holds the write lock: no other process can write during the copy, and the checkpoint has
folded the write-ahead log into the file, so the copy is one consistent state. A copy (not
``EXPORT DATABASE``) keeps everything exactly: constraints, sequences, views, the migration
record; it restores by copying back, and it is verified by its checksum and by opening it.
Each backup is a folder with the file (gzip-compressed on request) and ``manifest.json``:
time, schema version, DuckDB version, rows and a digest of the rows per table, and the sha256
of every file. A lake's backup is its catalog dump and data files instead (``lake_backup``),
verified by a restore into a scratch database.
"""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import orjson

from benchdb_pipeline.config import is_lake
from benchdb_pipeline.errors import BenchdbError
from benchdb_pipeline.maintenance import lake_backup
from benchdb_pipeline.warehouse import lake
from benchdb_pipeline.warehouse.inspect import table_counts, table_hashes
from benchdb_pipeline.warehouse.schema import SCHEMA_VERSION, utc_now
from benchdb_pipeline.warehouse.store import session

MANIFEST = "manifest.json"
PARTIAL = ".partial"
LOCK = ".lock"
DATABASE = "warehouse.duckdb"
PREFIX = "benchdb-backup-"
CHUNK = 1 << 20


class BackupError(BenchdbError):
    """A backup is missing, incomplete or corrupted."""

    code = "DB005"


@dataclass
class Manifest:
    created_at: datetime
    schema_version: int
    duckdb_version: str
    source: str
    rows: dict[str, int]
    files: dict[str, dict] = field(default_factory=dict)  # name → {sha256, size}
    row_hashes: dict[str, str] = field(default_factory=dict)  # table → digest of its rows
    backend: str = "duckdb"

    def dump(self) -> bytes:
        return orjson.dumps(
            {**self.__dict__, "created_at": self.created_at.isoformat()}, option=orjson.OPT_INDENT_2
        )

    @classmethod
    def load(cls, folder: Path) -> Manifest:
        try:
            raw = orjson.loads((folder / MANIFEST).read_bytes())
            return cls(**{**raw, "created_at": datetime.fromisoformat(raw["created_at"])})
        except (OSError, orjson.JSONDecodeError, TypeError, KeyError, ValueError) as exc:
            raise BackupError(f"{folder}: no readable {MANIFEST}: {exc}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def backup(db: Path, backup_dir: Path, *, compress: bool = False) -> tuple[Path, Manifest]:
    """Take a consistent backup of ``db`` (a file or a lake) into a new folder under
    ``backup_dir``; ``compress`` gzips a file (a lake's Parquet is compressed already).

    The backup is built in a hidden ``.partial`` folder, locked while it is written, and
    renamed when complete. A failed write (a full disk) removes it and says what it needed.
    """
    remove_abandoned(backup_dir)
    created = utc_now()
    folder = backup_dir / f"{PREFIX}{created.strftime('%Y%m%dT%H%M%S%fZ')}"
    partial = folder.with_name(f".{folder.name}{PARTIAL}")
    partial.mkdir(parents=True)
    with open(partial / LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until this process ends or finishes
        try:
            manifest = (
                _write_lake(db, partial, created) if is_lake(db) else _write(db, partial, created, compress)
            )
        except OSError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            free = shutil.disk_usage(backup_dir).free
            size = "" if is_lake(db) else f"the warehouse is {db.stat().st_size / 2**20:.1f} MB; "
            raise BackupError(
                f"{backup_dir}: backup failed and was removed: {exc.strerror or exc} "
                f"({size}{free / 2**20:.1f} MB free there)"
            ) from None
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        partial.rename(folder)  # a backup folder without the dot is complete
    (folder / LOCK).unlink()
    return folder, manifest


def _write(db: Path, partial: Path, created: datetime, compress: bool) -> Manifest:
    target = partial / (DATABASE + (".gz" if compress else ""))
    with session(db, create=False) as con:  # the write lock: nobody writes until the copy is done
        con.execute("CHECKPOINT")
        rows, hashes = table_counts(con), table_hashes(con)
        if compress:
            with open(db, "rb") as source, gzip.open(target, "wb", compresslevel=6) as out:
                shutil.copyfileobj(source, out, CHUNK)
        else:
            shutil.copyfile(db, target)
    manifest = Manifest(
        created,
        SCHEMA_VERSION,
        duckdb.__version__,
        str(db),
        rows,
        {target.name: _checksum(target)},
        hashes,
    )
    (partial / MANIFEST).write_bytes(manifest.dump())
    return manifest


def _checksum(path: Path) -> dict:
    return {"sha256": _sha256(path), "size": path.stat().st_size}


def _write_lake(db: Path, partial: Path, created: datetime) -> Manifest:
    rows, hashes, data_path = lake_backup.write(str(db), partial)
    manifest = Manifest(
        created,
        SCHEMA_VERSION,
        duckdb.__version__,
        lake.display(str(db)) + (f" (data {data_path})" if data_path else ""),
        rows,
        {str(name): _checksum(partial / name) for name in lake_backup.files(partial)},
        hashes,
        backend="ducklake",
    )
    (partial / MANIFEST).write_bytes(manifest.dump())
    return manifest


def remove_abandoned(backup_dir: Path) -> list[Path]:
    """Remove the ``.partial`` folders of backups whose process died (killed, out of disk):
    a partial whose lock nobody holds. One being written now is left alone."""
    removed = []
    for partial in sorted(backup_dir.glob(f".{PREFIX}*{PARTIAL}")):
        try:
            with open(partial / LOCK) as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a backup in progress
        except FileNotFoundError:
            pass  # killed before it took the lock
        shutil.rmtree(partial, ignore_errors=True)
        removed.append(partial)
    return removed


def verify(folder: Path) -> Manifest:
    """Check every file against the manifest, then open the database and compare row
    counts; raises BackupError naming what is wrong."""
    manifest = Manifest.load(folder)
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.exists():
            raise BackupError(f"{folder}: {name} is missing")
        if path.stat().st_size != expected["size"] or _sha256(path) != expected["sha256"]:
            raise BackupError(f"{folder}: {name} does not match its checksum: the backup is corrupted")
    if manifest.backend == "ducklake":
        with lake_backup.scratch() as target:  # a lake is verified by restoring it
            _restore_lake(folder, manifest, target)
        return manifest
    with tempfile.TemporaryDirectory() as scratch:
        copy = _materialise(folder, manifest, Path(scratch) / DATABASE)
        _compare_rows(copy, manifest, folder)
    return manifest


def restore(folder: Path, db: Path) -> Manifest:
    """Restore a verified backup to ``db`` (a path that must not exist, or for a lake's backup
    a lake address whose catalog database holds no lake yet); rows are compared after the
    restore as well."""
    manifest = Manifest.load(folder)
    if (manifest.backend == "ducklake") != is_lake(db):
        kind = "a lake (ducklake:<catalog>)" if manifest.backend == "ducklake" else "a DuckDB file"
        raise BackupError(f"{folder} is a {manifest.backend} backup: restore it to {kind}")
    if is_lake(db):
        manifest = verify(folder)
        _restore_lake(folder, manifest, lake.LakeSettings.from_env(db))
        return manifest
    if db.exists():
        raise BackupError(f"{db} exists: restore to a new path")
    manifest = verify(folder)
    db.parent.mkdir(parents=True, exist_ok=True)
    partial = db.with_name(f".{db.name}.restoring")
    _materialise(folder, manifest, partial)
    _compare_rows(partial, manifest, folder)
    partial.rename(db)
    return manifest


def _materialise(folder: Path, manifest: Manifest, target: Path) -> Path:
    (name,) = manifest.files
    source = folder / name
    if name.endswith(".gz"):
        with gzip.open(source, "rb") as compressed, open(target, "wb") as out:
            shutil.copyfileobj(compressed, out, CHUNK)
    else:
        shutil.copyfile(source, target)
    return target


def _restore_lake(folder: Path, manifest: Manifest, target: lake.LakeSettings) -> None:
    try:
        lake_backup.restore(folder, target)
        rows, hashes = lake_backup.contents(target)
    except BenchdbError as exc:
        raise BackupError(f"{folder}: the lake does not restore: {exc}") from None
    _same(rows, hashes, manifest, folder)


def _compare_rows(db: Path, manifest: Manifest, folder: Path) -> None:
    try:
        with session(db, read_only=True) as con:
            rows, hashes = table_counts(con), table_hashes(con)
    except BenchdbError as exc:
        raise BackupError(f"{folder}: the database does not open: {exc}") from None
    _same(rows, hashes, manifest, folder)


def _same(rows: dict[str, int], hashes: dict[str, str], manifest: Manifest, folder: Path) -> None:
    """The restored rows are the manifest's: the same counts, and (for backups that record
    them) the same digests."""
    if rows != manifest.rows:
        differ = {
            t: (manifest.rows.get(t), rows.get(t))
            for t in set(rows) | set(manifest.rows)
            if rows.get(t) != manifest.rows.get(t)
        }
        raise BackupError(f"{folder}: row counts differ from the manifest (expected, found): {differ}")
    if manifest.row_hashes and hashes != manifest.row_hashes:
        changed = sorted(t for t in hashes if hashes.get(t) != manifest.row_hashes.get(t))
        raise BackupError(f"{folder}: the rows of {', '.join(changed)} differ from the manifest's")


def backups(backup_dir: Path) -> list[tuple[Path, Manifest]]:
    """Complete backups under ``backup_dir``, oldest first."""
    found = []
    for folder in sorted(backup_dir.glob(f"{PREFIX}*")):
        try:
            found.append((folder, Manifest.load(folder)))
        except BackupError:
            continue  # not a complete backup: never counted, never deleted here
    return sorted(found, key=lambda item: item[1].created_at)


def purge(backup_dir: Path, retention_days: float, now: datetime | None = None) -> list[Path]:
    """Delete backups older than the retention (by their manifest's time), never the newest,
    and the remains of backups that died while being written."""
    removed = remove_abandoned(backup_dir)
    complete = backups(backup_dir)
    cutoff = (now or utc_now()) - timedelta(days=retention_days)
    for folder, manifest in complete[:-1]:
        if manifest.created_at < cutoff:
            shutil.rmtree(folder)
            removed.append(folder)
    return removed
