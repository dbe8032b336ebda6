"""The integrity checks pass on a clean load and catch each kind of damage."""

from __future__ import annotations

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.checks import (
    ALL_CHECKS,
    check_ledger,
    check_references,
    check_value_ranges,
)
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import FIXTURES


def loaded(db):
    ingest(db, [FIXTURES], workers=1)
    return session(db)


def test_clean_load_passes_every_check(db):
    with loaded(db) as con:
        assert [c(con).description for c in ALL_CHECKS if not c(con).passed] == []


def test_orphan_samples_are_found(db):
    with loaded(db) as con:
        con.execute("INSERT INTO performance_samples VALUES (987654, 0, 1.0)")
        result = check_references(con)
    assert not result.passed
    assert result.offending["performance_samples.result_id → performance_results"] == 1


def test_ledger_mismatch_is_found(db):
    with loaded(db) as con:
        con.execute(
            "UPDATE source_files SET record_count = record_count + 1 "
            "WHERE file_id = (SELECT min(file_id) FROM source_files WHERE status = 'ingested')"
        )
        result = check_ledger(con)
    assert not result.passed
    assert result.offending["ingested files whose rows do not match their record count"] == 1


def test_percentiles_out_of_order_are_found(db):
    with loaded(db) as con:
        con.execute("UPDATE performance_results SET latency_p99_ms = 0 WHERE latency_p50_ms > 0")
        assert not check_value_ranges(con).passed
