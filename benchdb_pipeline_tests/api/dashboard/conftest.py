"""The demo's warehouse (the bundled samples, with the planted gpt2 regression found) served
by a real `benchdb serve`."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchdb_pipeline.analytics import regressions
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.api.conftest import Server, start_server

CHROMIUM = "/usr/bin/chromium"


def demo_warehouse(folder: Path, db: Path | None = None) -> Path:
    """The bundled samples ingested into ``db`` (a new file in ``folder`` by default) and the
    regression check's findings on the newest run recorded."""
    write_samples(folder / "samples")
    db = db or folder / "w.duckdb"
    ingest(db, [folder / "samples"], workers=1)
    with session(db) as con:
        report = regressions.check(con)  # the newest run: the planted slowdown
        assert regressions.store(con, report) > 0
    return db


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_warehouse(tmp_path_factory.mktemp("demo"))


@pytest.fixture
def demo_server(demo_db: Path, tmp_path: Path) -> Iterator[Server]:
    """A server of its own copy of the demo warehouse (a test may triage)."""
    db = tmp_path / "w.duckdb"
    shutil.copy(demo_db, db)
    server = start_server(db)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Chromium driven by Playwright: Debian's, never a download (`make test-deps` installs it)."""
    playwright = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed: it comes with the dev extra (make test installs it)",
    )
    if not Path(CHROMIUM).exists():
        pytest.skip(
            f"{CHROMIUM} is missing: Debian package chromium, which `make test-deps` (run by .ci/run) installs"
        )
    with playwright.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
