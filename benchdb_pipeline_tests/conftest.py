"""Shared fixtures: temporary warehouses, the fixture files, the real corpus when present."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from benchdb_pipeline.ingest.pipeline import IngestReport, ingest
from benchdb_pipeline.warehouse.store import session

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "original-system"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A warehouse path in a fresh temporary folder (created on first write)."""
    return tmp_path / "warehouse" / "bench.duckdb"


@pytest.fixture
def fixture_copy(tmp_path: Path):
    """Copy named fixture files into a fresh folder and return that folder."""

    def copy(*names: str, folder: str = "in") -> Path:
        target = tmp_path / folder
        target.mkdir(parents=True, exist_ok=True)
        for name in names:
            shutil.copy(FIXTURES / name, target / name)
        return target

    return copy


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    """Rows of a query on a read-only connection (waiting out a writer's lock, as the CLI does)."""
    with session(db, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def scalar(db: Path, sql: str, params: list | None = None):
    return query(db, sql, params)[0][0]


def ingest_one(db: Path, path: Path) -> IngestReport:
    return ingest(db, [path], workers=1)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the original-system corpus is not present at {CORPUS}")
    return CORPUS


def debian_tool(command: str, package: str) -> str:
    """The path of a Debian package's command, installed by the test set-up when missing
    (as root, with apt-get); skips the test where it cannot be had."""
    path = shutil.which(command)
    if path is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], env=env, capture_output=True,
                       timeout=900)
        path = shutil.which(command)
    if path is None:
        pytest.skip(f"{command} is not installed and could not be installed with apt-get")
    return path
