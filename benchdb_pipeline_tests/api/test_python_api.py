"""The Python API with the old signatures: the same rules, provenance and spool as HTTP."""

from __future__ import annotations

import json

import pytest

from benchdb_pipeline.api import BenchmarkDBAPI
from benchdb_pipeline.api.submit import InvalidRecord
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.api.conftest import hold_database
from benchdb_pipeline_tests.conftest import query


def test_store_and_read_back_every_kind(db):
    api = BenchmarkDBAPI(db_path=db)
    stored = api.store_performance_result(
        model_name="bert-base-uncased",
        hardware_type="cuda",
        device_name="NVIDIA A100",
        batch_size=8,
        precision="fp16",
        throughput=950.0,
        latency_avg=8.4,
        memory_peak=2048.0,
        latencies_ms=[8.0, 8.4, 8.8],
        timestamp="2026-11-20T10:00:00",
    )
    assert stored["status"] == "stored"
    assert (
        api.store_compatibility_result(
            model_name="bert-base-uncased",
            hardware_type="rocm",
            is_compatible=False,
            error_message="no kernel",
        )["status"]
        == "stored"
    )
    assert (
        api.store_integration_result(
            test_module="test_bert", test_name="test_forward", status="passed", execution_time_seconds=1.5
        )["status"]
        == "stored"
    )
    frame = api.get_performance_metrics(model_name="BERT-base-uncased", hardware_type="cuda")
    assert len(frame) == 1
    row = frame.iloc[0]
    assert (row.throughput_items_per_second, row.latency_p50_ms, row.memory_peak_mb) == (950.0, 8.4, 2048.0)
    assert row.precision == "fp16" and not row.is_simulated
    assert api.get_performance_metrics(hardware_type="cpu").empty
    counts = api.query(
        "SELECT count(*) AS n FROM test_runs WHERE json_extract_string(metadata, '$.source') = ?",
        ["python-api"],
    )
    assert counts.n[0] == 3
    assert query(db, "SELECT count(*) FROM hardware_compatibility") == [(1,)]
    assert query(db, "SELECT status FROM integration_test_results") == [("pass",)]


def test_a_bad_value_is_refused_naming_the_field_and_nothing_is_stored(db):
    api = BenchmarkDBAPI(db_path=db)
    with pytest.raises(InvalidRecord, match="batch_size"):
        api.store_performance_result(model_name="gpt2", hardware_type="cpu", batch_size=0, throughput=5.0)
    assert query(db, "SELECT count(*) FROM source_files") == [(0,)]


def test_missing_values_stay_null(db):
    api = BenchmarkDBAPI(db_path=db)
    api.store_performance_result(model_name="gpt2", hardware_type="cpu", throughput=12.0)
    assert query(
        db,
        "SELECT batch_size, precision, device_name FROM performance_results "
        "JOIN hardware_platforms USING (hardware_id)",
    ) == [(None, None, None)]


def test_while_another_process_writes_the_record_waits_in_the_spool(db, monkeypatch):
    api = BenchmarkDBAPI(db_path=db)
    monkeypatch.setenv("BENCHDB_LOCK_TIMEOUT", "0.5")
    holder = hold_database(db, 3)
    try:
        answer = api.store_performance_result(
            model_name="gpt2", hardware_type="cpu", throughput=12.0, idempotency_key="ci-42"
        )
    finally:
        holder.wait(30)
    assert answer["status"] == "spooled"
    assert json.loads(open(answer["path"]).read())["test_run"]["metadata"]["request_id"] == answer["id"]
    again = api.store_performance_result(
        model_name="gpt2", hardware_type="cpu", throughput=12.0, idempotency_key="ci-42"
    )
    assert again["id"] == answer["id"] and again["status"] == "stored"
    ingest(db, [api.spool_dir])  # what the sensor or the next ingest does: nothing doubles
    assert query(db, "SELECT count(*) FROM performance_results") == [(1,)]
