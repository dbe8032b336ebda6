"""Schema creation and migration."""

from __future__ import annotations

import duckdb
import pytest

from benchdb_pipeline.analytics.regressions import triage
from benchdb_pipeline.errors import SchemaError
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse import checks
from benchdb_pipeline.warehouse.schema import (
    ALL_TABLES,
    GROWING_IDS,
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


def test_dimension_keys_are_enforced_and_the_ledgers_references_checked(db):
    """DuckDB refuses a model named twice; a quarantine entry of a file the ledger lacks is
    a reference no index holds (schema 12), which the references check finds."""
    with session(db) as con:
        ensure_schema(con)
        con.execute("INSERT INTO models (model_name, created_at) VALUES ('m', now())")
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO models (model_name, created_at) VALUES ('m', now())")
        assert checks.check_references(con).passed
        con.execute("INSERT INTO quarantine (file_id, reason, quarantined_at) VALUES (99, 'x', now())")
        found = checks.check_references(con)
    assert not found.passed and found.offending["quarantine.file_id → source_files"] == 1


def test_a_version_1_database_is_migrated_in_place(db):
    with session(db) as con:
        assert ensure_schema(con, up_to=1) == 1
    ingest(db, [FIXTURES / "canonical_rows.json"], workers=1)  # ingest migrates it
    with session(db, read_only=True) as con:
        assert current_version(con) == SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM latest_performance_metrics").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM performance_regressions").fetchone()[0] == 0


def test_version_9_and_10_keep_the_rows_drop_the_fact_keys_and_allow_invalid(db):
    """A warehouse at version 8 with results: the rows stay, the facts' references are left to
    the references check, and a regression can be triaged invalid."""
    with session(db) as con:
        ensure_schema(con, up_to=8)
    ingest(db, [FIXTURES / "canonical_rows.json"], workers=1)  # migrates to the current version
    with session(db) as con:
        assert current_version(con) == SCHEMA_VERSION
        assert con.execute("SELECT count(*) FROM performance_results").fetchone()[0] == 3
        assert con.execute(
            "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'performance_results' "
            "AND constraint_type = 'FOREIGN KEY'"
        ).fetchone() == (0,)
        con.execute(
            "UPDATE performance_results SET model_id = 999999 WHERE result_id = (SELECT min(result_id) FROM performance_results)"
        )
        assert "performance_results.model_id" in checks.check_references(con).description
        con.execute(
            "INSERT INTO performance_regressions (model_name, platform_key, metric, candidate_result_id, "
            "candidate_run_id, candidate_value, baseline_median, baseline_points, change_percent, "
            "direction, severity, method, detected_at) SELECT 'm', 'cpu|', 'latency', 1, min(run_id), "
            "2, 1, 5, 100, 'regression', 'major', 'robust-z', now() FROM test_runs"
        )
        (regression,) = con.execute("SELECT max(regression_id) FROM performance_regressions").fetchone()
        triage(con, regression, "invalid", "noise")
        assert con.execute("SELECT status, note FROM performance_regressions").fetchall() == [
            ("invalid", "noise")
        ]


def _declared(con, table: str) -> list[tuple[str, list[str]]]:
    return [
        (kind, columns)
        for kind, columns in con.execute(
            "SELECT constraint_type, constraint_column_names FROM duckdb_constraints() "
            "WHERE table_name = ? AND constraint_type IN ('PRIMARY KEY', 'UNIQUE', 'FOREIGN KEY') ORDER BY ALL",
            [table],
        ).fetchall()
    ]


def test_versions_11_and_12_keep_the_rows_and_leave_the_growing_keys_to_the_checks(db):
    """A warehouse at version 10 with results: the ledger's hashes, the runs' keys, the ids of
    every table that grows with the files and their references lose their indexes, the rows
    and the small tables' keys stay, and the blocking natural-keys check finds what the
    indexes refused before."""
    with session(db) as con:
        ensure_schema(con, up_to=10)
    ingest(db, [FIXTURES / "canonical_rows.json", FIXTURES / "bad_zero_batch.json"], workers=1)
    with session(db) as con:
        assert current_version(con) == SCHEMA_VERSION
        for table in (*GROWING_IDS, "performance_results"):
            assert _declared(con, table) == [], table
        assert _declared(con, "performance_regressions") == [
            ("PRIMARY KEY", ["regression_id"]),
            ("UNIQUE", ["candidate_result_id", "metric"]),
        ]
        assert _declared(con, "models") == [("PRIMARY KEY", ["model_id"]), ("UNIQUE", ["model_name"])]
        assert con.execute("SELECT count(*) FROM performance_results").fetchone() == (3,)
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] > 0
        assert all(check(con).passed for check in checks.ALL_CHECKS)
        con.execute("INSERT INTO source_files SELECT * FROM source_files")
        con.execute("INSERT INTO test_runs SELECT * FROM test_runs")
        con.execute("INSERT INTO quarantine SELECT * FROM quarantine LIMIT 1")
        con.execute("INSERT INTO performance_results SELECT * FROM performance_results LIMIT 1")
        found = checks.check_natural_keys(con)
    assert not found.passed
    assert {key: n for key, n in found.offending.items() if n} == {
        "test_runs.run_key": 1,
        "source_files.sha256": 2,
        "performance_results.result_id": 1,
        "source_files.file_id": 2,
        "quarantine.quarantine_id": 1,
        "test_runs.run_id": 1,
    }
