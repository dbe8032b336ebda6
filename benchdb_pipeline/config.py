"""Where things live, from the environment with project-relative defaults."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DB = Path("data/warehouse/benchmarks.duckdb")
LAKE_PREFIX = "ducklake:"
DEFAULT_INCOMING = Path("data/incoming")
DEFAULT_SAMPLES = Path("data/samples")
DEFAULT_REPORTS = Path("data/reports")
DEFAULT_BACKUPS = Path("data/backups")
DEFAULT_ARCHIVE = Path("data/archive")
DEFAULT_ARTIFACTS = Path("data/artifacts")
DEFAULT_FORMATS = Path("data/formats")


def on_lake() -> bool:
    """Whether ``BENCHDB_BACKEND`` (``duckdb``, the default, or ``ducklake``) names the lake."""
    backend = os.environ.get("BENCHDB_BACKEND") or "duckdb"
    if backend not in ("duckdb", "ducklake"):
        raise ValueError(f"BENCHDB_BACKEND={backend!r}: choose duckdb or ducklake")
    return backend == "ducklake"


def lake_address(catalog: str) -> str:
    """A lake's address, which goes wherever a file's path goes (see ``warehouse.lake``)."""
    return LAKE_PREFIX + catalog


def is_lake(db: str | Path) -> bool:
    return str(db).startswith(LAKE_PREFIX)


def db_path() -> Path:
    """The warehouse: with ``BENCHDB_BACKEND=ducklake`` the lake of ``BENCHDB_LAKE_CATALOG``,
    else the file ``BENCHDB_DB`` or ``data/warehouse/benchmarks.duckdb``."""
    if on_lake():
        return Path(lake_address(os.environ.get("BENCHDB_LAKE_CATALOG", "")))
    return Path(os.environ.get("BENCHDB_DB") or DEFAULT_DB)


def beside(db: str | Path) -> Path:
    """The folder for what belongs with a warehouse but not in it (runs' files, the API's
    spool and snapshots, samples): beside a DuckDB file; ``data/`` for a lake, whose shared
    data path holds only its own Parquet files."""
    return Path("data") if is_lake(db) else Path(db).parent


def incoming_dir() -> Path:
    """The folder the sensor watches: ``BENCHDB_INCOMING`` or ``data/incoming``."""
    return Path(os.environ.get("BENCHDB_INCOMING") or DEFAULT_INCOMING)


def reports_dir() -> Path:
    """Where report assets are written: ``BENCHDB_REPORTS`` or ``data/reports``."""
    return Path(os.environ.get("BENCHDB_REPORTS") or DEFAULT_REPORTS)


def formats_dir() -> Path:
    """Where declared format mappings (``benchdb formats add``) are kept: ``BENCHDB_FORMATS``
    or ``data/formats``."""
    return Path(os.environ.get("BENCHDB_FORMATS") or DEFAULT_FORMATS)


def dashboard_url(path: str) -> str | None:
    """The dashboard page at ``path`` (``/ui/…``) when ``BENCHDB_DASHBOARD_URL`` says where
    `benchdb serve` runs for its readers (e.g. ``https://bench.example.org``); else None."""
    base = (os.environ.get("BENCHDB_DASHBOARD_URL") or "").strip().rstrip("/")
    return f"{base}{path}" if base else None


def backups_dir() -> Path:
    """Where scheduled backups go: ``BENCHDB_BACKUPS`` or ``data/backups``."""
    return Path(os.environ.get("BENCHDB_BACKUPS") or DEFAULT_BACKUPS)


def archive_root() -> Path:
    """Where scheduled archiving puts old fact rows (``warehouse/``) and old result files
    (``json/``): ``BENCHDB_ARCHIVE`` or ``data/archive``."""
    return Path(os.environ.get("BENCHDB_ARCHIVE") or DEFAULT_ARCHIVE)


def artifacts_dir() -> Path:
    """Where CI artifacts folders arrive for the CI sensor: ``BENCHDB_ARTIFACTS`` or
    ``data/artifacts`` (keep it outside ``BENCHDB_INCOMING``)."""
    return Path(os.environ.get("BENCHDB_ARTIFACTS") or DEFAULT_ARTIFACTS)


DEFAULT_MAX_FILE_MB = 256.0


def max_file_bytes() -> int:
    """The largest result file read: ``BENCHDB_MAX_FILE_MB`` (default 256) megabytes; a larger
    one is refused with the reason, unread."""
    raw = os.environ.get("BENCHDB_MAX_FILE_MB")
    try:
        megabytes = float(raw) if raw else DEFAULT_MAX_FILE_MB
    except ValueError:
        raise ValueError(f"BENCHDB_MAX_FILE_MB={raw!r} is not a number of megabytes") from None
    return int(megabytes * 1024 * 1024)
