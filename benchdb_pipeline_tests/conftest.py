"""Shared fixtures: temporary warehouses, the fixture files, the real corpus when present."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchdb_pipeline.ingest.pipeline import IngestReport, ingest
from benchdb_pipeline.warehouse import local_postgres
from benchdb_pipeline.warehouse.store import session

FIXTURES = Path(__file__).parent / "fixtures"
# Other tools' files (SOURCES.md says where each comes from), apart: tests ingest FIXTURES whole.
FORMAT_FIXTURES = Path(__file__).parent / "format_fixtures"
# Why the runner's tests skip where the runner extra is not installed.
RUNNER_MISSING = "PyTorch and transformers are not installed: the runner extra (make install-runner)"
LAKE_MISSING = "DuckLake and psycopg2 are not installed: the lake extra (make install-lake)"
REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus" / "original-system"


def write_mixed_results(folder: Path) -> None:
    """A warehouse's worth of files where simulated results outnumber measured ones: measured
    bert-base-uncased on an A100 in fp16 (batch 1, 8), simulated on a sample GPU in fp32 (six
    batch sizes) and fp16 (three)."""

    def document(name: str, simulated: bool, device: str, precision: str, batches: list[int]) -> None:
        rows = [
            {
                "model_name": "bert-base-uncased",
                "hardware_type": "cuda",
                "device_name": device,
                "batch_size": batch,
                "precision": precision,
                "latency_ms": 2.0 * batch,
                "throughput": 400.0 * batch,
                "timestamp": "2026-11-02T01:05:00",
            }
            for batch in batches
        ]
        doc = {"test_run": {"test_name": name}, "is_simulated": simulated, "performance_results": rows}
        (folder / f"{name}.json").write_text(json.dumps(doc))

    folder.mkdir(parents=True, exist_ok=True)
    document("real", False, "A100", "fp16", [1, 8])
    document("sample", True, "Sample GPU", "fp32", [1, 2, 4, 8, 16, 32])
    document("sample_fp16", True, "Sample GPU", "fp16", [1, 2, 4])


# Every folder benchdb writes by default; the suite points them at its own temporary folder
# so that no test writes into the project's data/ (where `make demo` keeps its results), and
# two test processes never share one.
DEFAULT_FOLDERS = (
    "BENCHDB_DB",
    "BENCHDB_INCOMING",
    "BENCHDB_REPORTS",
    "BENCHDB_BACKUPS",
    "BENCHDB_ARCHIVE",
    "BENCHDB_ARTIFACTS",
    "BENCHDB_FORMATS",
)


@pytest.fixture(scope="session", autouse=True)
def _own_default_folders(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    root = tmp_path_factory.mktemp("defaults")
    with pytest.MonkeyPatch.context() as patch:
        for name in DEFAULT_FOLDERS:
            leaf = (
                "warehouse/benchmarks.duckdb"
                if name == "BENCHDB_DB"
                else name.removeprefix("BENCHDB_").lower()
            )
            patch.setenv(name, str(root / leaf))
        yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[local_postgres.Server]:
    """One real PostgreSQL server for the session's lake tests (which need the lake extra:
    without it they skip, saying so)."""
    pytest.importorskip("duckdb_extension_ducklake", reason=LAKE_MISSING)
    pytest.importorskip("psycopg2", reason=LAKE_MISSING)
    with contextlib.ExitStack() as stack:
        try:
            server = stack.enter_context(local_postgres.start())
        except (RuntimeError, subprocess.CalledProcessError) as exc:
            pytest.skip(f"no PostgreSQL server for the lake: {getattr(exc, 'stderr', None) or exc}")
        yield server


_LAKES = itertools.count()  # names of the catalog databases of one test process


@pytest.fixture
def lake(postgres_server: local_postgres.Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, initialised lake (its own catalog database and data folder); its address.
    The environment points at it, so subprocesses (the CLI, Dagster) find it too."""
    from benchdb_pipeline.warehouse import lake as lakes
    from benchdb_pipeline.warehouse.store import CONNECTION_CONFIG

    catalog = "postgres:" + postgres_server.create_database(f"lake_{next(_LAKES)}")
    monkeypatch.setenv("BENCHDB_LAKE_CATALOG", catalog)
    monkeypatch.setenv("BENCHDB_LAKE_DATA", str(tmp_path / "lake_data"))
    settings = lakes.LakeSettings.from_env()
    assert lakes.init(settings, dict(CONNECTION_CONFIG))
    return settings.address


@pytest.fixture(params=["duckdb", "ducklake"])
def warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same test on a DuckDB file and on a lake: the address to pass where a path goes."""
    if request.param == "duckdb":
        return str(tmp_path / "warehouse" / "bench.duckdb")
    return request.getfixturevalue("lake")


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
    """The path of a Debian package's command; the test is skipped where it is missing.
    Tests never install packages: ``.ci/run`` (and ``make test-deps``) install them."""
    path = shutil.which(command)
    if path is None:
        pytest.skip(
            f"{command} is not installed: Debian package {package}, which `make test-deps` (run by .ci/run) installs"
        )
    return path


def run_pytest(
    folder: Path, test_file: Path, *options: str, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    """pytest as a user runs it, in its own process and folder, with pytest-benchmark's rounds
    kept short (``options`` come after, and win). Not as an xdist worker, as this suite may
    run: pytest-benchmark turns itself off there."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("PYTEST_XDIST")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            "-o",
            "addopts=",
            "--rootdir",
            str(folder),
            "--benchmark-min-rounds=3",
            "--benchmark-max-time=0.01",
            *options,
            str(test_file),
        ],
        check=check,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int) -> Iterator[Path]:
    """A real, small file system at ``folder`` (a tmpfs of ``size_kb`` kB) to fill up; the
    test is skipped where it cannot be mounted (mounting needs root)."""
    folder.mkdir(parents=True, exist_ok=True)
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)], capture_output=True
        ).returncode
    ):
        pytest.skip(f"needs root to mount a {size_kb} kB tmpfs (a real full disk)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)
