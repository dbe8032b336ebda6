"""A lake's backup: ``pg_dump`` of its catalog (the lake's metadata and the id counters) and a
copy of its data files, both taken under the writers' lock, so that no commit, delete or
compaction happens between them; restored into an empty catalog database and a new data
folder, and verified by doing exactly that into a scratch database and comparing every
table's row count and row digest with the manifest.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from benchdb_pipeline.errors import BenchdbError, DatabaseConnectionError
from benchdb_pipeline.warehouse import lake
from benchdb_pipeline.warehouse.inspect import table_counts, table_hashes
from benchdb_pipeline.warehouse.store import CONNECTION_CONFIG, session

CATALOG = "catalog.sql"
DATA = "data"


class LakeBackupError(BenchdbError):
    """A lake backup could not be taken or restored."""

    code = "DB005"


def _program(name: str) -> str:
    found = lake.postgres_program(name)
    if found is None:
        raise LakeBackupError(f"a lake backup needs PostgreSQL's {name} (Debian: postgresql-client)")
    return str(found)


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True)
    if done.returncode:
        raise LakeBackupError(f"{what} failed: {done.stderr.strip() or done.stdout.strip()}")


def write(address: str, partial: Path) -> tuple[dict[str, int], dict[str, str], str | None]:
    """Dump the catalog and copy the data files into ``partial``; the rows and digests of
    every table, and the lake's data path, as they were."""
    settings = lake.LakeSettings.from_env(address)
    with session(address, read_only=True) as con, lake.writer_lock(settings.dsn):
        con.execute("BEGIN TRANSACTION")  # the lake as of now, read while nobody writes
        rows, hashes = table_counts(con), table_hashes(con)
        data_path = lake.describe(con)["data_path"]
        con.execute("COMMIT")
        schemas = [settings.metadata_schema, lake.COUNTERS_SCHEMA]
        _run(
            [
                _program("pg_dump"),
                f"--dbname={settings.dsn}",
                *(f"--schema={schema}" for schema in schemas),
                "--no-owner",
                "--no-privileges",
                f"--file={partial / CATALOG}",
            ],
            "pg_dump of the lake's catalog",
        )
        if data_path and Path(data_path).exists():
            shutil.copytree(data_path, partial / DATA)
        else:
            (partial / DATA).mkdir()
    return rows, hashes, data_path


def files(folder: Path) -> list[Path]:
    """The files of a backup folder that the manifest lists, relative to it."""
    return sorted(
        [Path(CATALOG)] + [p.relative_to(folder) for p in (folder / DATA).rglob("*") if p.is_file()]
    )


def restore(folder: Path, settings: lake.LakeSettings) -> None:
    """Load the catalog into ``settings``' database (which must hold no lake) and copy the
    data files to its ``BENCHDB_LAKE_DATA`` (which must be empty), pointing the lake there;
    then grant its reader role."""
    if not settings.data_path:
        raise LakeBackupError("restoring a lake needs BENCHDB_LAKE_DATA: the folder for its data files")
    pg = lake.postgres_connect(settings.dsn)
    try:
        with pg.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = %s", [settings.metadata_schema]
            )
            if cursor.fetchone():
                raise LakeBackupError(
                    f"the catalog database already holds a lake ({settings.metadata_schema}): "
                    "restore to an empty database"
                )
    finally:
        pg.close()
    target = Path(settings.data_path)
    if target.exists() and any(target.iterdir()):
        raise LakeBackupError(f"{target} is not empty: restore a lake's data to a new folder")
    _run(
        [
            _program("psql"),
            f"--dbname={settings.dsn}",
            "--quiet",
            "--set=ON_ERROR_STOP=1",
            "--single-transaction",
            f"--file={folder / CATALOG}",
        ],
        "loading the lake's catalog",
    )
    shutil.copytree(folder / DATA, target, dirs_exist_ok=True)
    pg = lake.postgres_connect(settings.dsn)
    try:
        pg.autocommit = True
        with pg.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{settings.metadata_schema}".ducklake_metadata SET value = %s WHERE key = %s',
                [settings.data_path, "data_path"],
            )
    finally:
        pg.close()
    lake.init(settings, dict(CONNECTION_CONFIG))  # the lake exists: only grants its reader


def contents(settings: lake.LakeSettings) -> tuple[dict[str, int], dict[str, str]]:
    """Rows and digests of every table of the lake ``settings`` name exactly (its data path
    included, which must match the catalog's)."""
    con = lake.connect(settings, read_only=True, config=dict(CONNECTION_CONFIG))
    try:
        return table_counts(con), table_hashes(con)
    finally:
        con.close()


@contextmanager
def scratch() -> Iterator[lake.LakeSettings]:
    """A new, empty catalog database on the server of ``BENCHDB_LAKE_CATALOG`` and a temporary
    data folder, both removed afterwards: where a backup is verified by restoring it."""
    settings = lake.LakeSettings.from_env()
    name = f"benchdb_verify_{uuid.uuid4().hex[:12]}"
    admin = lake.postgres_connect(settings.dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
    except Exception as exc:
        admin.close()
        raise DatabaseConnectionError(f"no scratch database to verify the backup in: {exc}") from exc
    kept = [p for p in settings.dsn.split() if not p.startswith("dbname=")]
    data = tempfile.mkdtemp(prefix="benchdb-verify-")
    try:
        yield lake.LakeSettings(
            catalog="postgres:" + " ".join([*kept, f"dbname={name}"]),
            data_path=data + os.sep,
            metadata_schema=settings.metadata_schema,
            reader_role=settings.reader_role,
        )
    finally:
        shutil.rmtree(data, ignore_errors=True)
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
