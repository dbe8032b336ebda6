"""Report queries and filters: values, normalised names, bound parameters."""

from __future__ import annotations

from datetime import date

from benchdb_pipeline.reports import queries
from benchdb_pipeline.reports.filters import METRICS, Filters
from benchdb_pipeline.warehouse.store import session


def test_filters_are_bound_parameters():
    where, params = Filters(
        model="BERT-Base-Uncased", hardware="CUDA", batch_size=4, precision="float16", include_simulated=False
    ).where()
    assert "?" in where and "bert" not in where.lower()
    assert params == ["bert-base-uncased", "cuda", 4, "fp16"]
    assert "NOT is_simulated" in where


def test_hostile_filter_values_match_nothing_and_change_nothing(fixture_db):
    with session(fixture_db, read_only=True) as con:
        before = con.execute("SELECT count(*) FROM performance_results").fetchone()[0]
        for hostile in ("x' OR '1'='1", "'; DROP TABLE models; --"):
            assert queries.performance(con, Filters(model=hostile)).rows == []
        assert con.execute("SELECT count(*) FROM performance_results").fetchone()[0] == before


def test_performance_and_comparison(fixture_db):
    with session(fixture_db, read_only=True) as con:
        rows = queries.performance(con, Filters(model="bert-base-uncased", hardware="cuda"))
        assert rows.column("throughput_items_per_second") == [1600.0]
        latency = queries.compare(con, METRICS["latency"], Filters(model="bert-base-uncased"))
        assert sorted(round(v, 2) for v in latency.column("value")) == [2.5, 12.0, 25.0, 53.66]
        assert queries.compare(
            con, METRICS["latency"], Filters(model="bert-base-uncased", since=date(2025, 4, 3))
        ).column("value") == [53.6571741104126]


def test_hardware_compatibility_integration_summary(fixture_db):
    with session(fixture_db, read_only=True) as con:
        platforms = queries.hardware(con, Filters())
        assert {"cpu", "cuda"} <= set(platforms.column("hardware_type"))
        compat = queries.compatibility(con, Filters(hardware="rocm"))
        assert compat.rows[0][:4] == ("BERT-Base-Uncased", "rocm", None, False)  # as the file spells it
        assert "vision (family)" in queries.compatibility(con, Filters()).column("model")
        tests = queries.integration(con, Filters())
        assert tests.rows[0][5] in ("fail", "error")  # failures first
        summary = queries.summary(con, Filters())
        assert summary["models"] >= 3 and summary["stored"]["quarantined files"] == 7
        assert summary["newest_run"]["test_name"]
        excluded = queries.summary(con, Filters(include_simulated=False))
        assert excluded["simulated_configurations"] == 0
