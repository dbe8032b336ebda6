"""A throwaway PostgreSQL server, for the lake's tests and `make demo-lake`: initdb into a
temporary folder, started on a free loopback port as a user that is not root (PostgreSQL
refuses to run as root), stopped and removed at the end. Not for data anyone keeps."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchdb_pipeline.warehouse.lake import postgres_program

USER = "bench"  # the database superuser initdb creates


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them off PATH)."""
    initdb, pg_ctl = postgres_program("initdb"), postgres_program("pg_ctl")
    return pg_ctl.parent if initdb and pg_ctl and initdb.parent == pg_ctl.parent else None


def _runner() -> list[str]:
    """How to run a server command: as ourselves, or (as root) as the ``postgres`` user."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root and there is no postgres user to run PostgreSQL as") from None
    return ["runuser", "-u", "postgres", "--"]


@dataclass
class Server:
    port: int
    folder: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} dbname={dbname} user={USER}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its connection string."""
        import psycopg2  # the lake extra's client

        admin = psycopg2.connect(self.dsn())
        try:
            admin.autocommit = True
            with admin.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            admin.close()
        return self.dsn(name)


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def start(port: int | None = None) -> Iterator[Server]:
    """Start a throwaway server on ``port`` (default: a free one); yields it, then stops it
    and removes its folder."""
    port = port or free_port()
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (make test-deps installs it)")
    runner = _runner()
    folder = Path(tempfile.mkdtemp(prefix="benchdb-pg-"))
    if runner:
        shutil.chown(folder, "postgres")
    data = folder / "data"
    try:
        subprocess.run(
            [*runner, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            [
                *runner,
                str(bin_dir / "pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(folder / "log"),
                "-w",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield Server(port=port, folder=folder)
    finally:
        subprocess.run(
            [*runner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)
