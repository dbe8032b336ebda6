"""Warehouses for report tests: the fixture files, and a synthetic 30 models × 8 platforms."""

from __future__ import annotations

import pytest

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import FIXTURES


@pytest.fixture(scope="module")
def fixture_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("reports") / "fixtures.duckdb"
    ingest(db, [FIXTURES], workers=1)
    return db


@pytest.fixture(scope="module")
def large_db(tmp_path_factory):
    """30 models × 8 platforms × 6 batch sizes × 2 precisions × 4 nightly runs, simulated."""
    db = tmp_path_factory.mktemp("reports") / "synthetic.duckdb"
    with session(db) as con:
        synthetic.fill(con, synthetic.Shape())
    return db
