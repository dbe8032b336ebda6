"""Schema creation and migration."""

from __future__ import annotations

import duckdb
import pytest

from benchdb_pipeline.errors import SchemaError
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.schema import (
    ALL_TABLES,
    SCHEMA_VERSION,
    VIEWS,
    current_version,
    ensure_schema,
)
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import FIXTURES


def test_create_is_idempotent(db):
    with session(db) as con:
        assert ensure_schema(con) == SCHEMA_VERSION
        assert ensure_schema(con) == 0
        assert current_version(con) == SCHEMA_VERSION
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {
            r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        }
    assert set(ALL_TABLES) | {"schema_version"} <= tables
    assert set(VIEWS) <= views


def test_refuses_a_newer_schema(db):
    with session(db) as con:
        ensure_schema(con)
        con.execute("INSERT INTO schema_version VALUES (?, 'from the future', now())", [SCHEMA_VERSION + 1])
        with pytest.raises(SchemaError, match="newer than this benchdb"):
            ensure_schema(con)


def test_natural_keys_and_foreign_keys_are_enforced(db):
    with session(db) as con:
        ensure_schema(con)
        con.execute("INSERT INTO models (model_name, created_at) VALUES ('m', now())")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO models (model_name, created_at) VALUES ('m', now())")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO quarantine (file_id, reason, quarantined_at) VALUES (99, 'x', now())")


def test_a_version_1_database_is_migrated_in_place(db):
    with session(db) as con:
        assert ensure_schema(con, up_to=1) == 1
    ingest(db, [FIXTURES / "canonical_rows.json"], workers=1)  # ingest migrates it
    with session(db, read_only=True) as con:
        assert current_version(con) == SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM latest_performance_metrics").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM performance_regressions").fetchone()[0] == 0
