"""Each format adapter, on fixture files written for it, down to stored values."""

from __future__ import annotations

from datetime import datetime

import pytest

from benchdb_pipeline.ingest.formats import detect
from benchdb_pipeline.ingest.parse import parse_file
from benchdb_pipeline_tests.conftest import FIXTURES, ingest_one, query, scalar


def test_run_model_benchmarks_seconds_become_milliseconds_with_samples_and_percentiles(db):
    report = ingest_one(db, FIXTURES / "model_benchmarks.json")
    assert report.count("ingested") == 1
    row = query(
        db,
        """
        SELECT m.model_name, m.model_family, m.metadata->>'model_class', h.hardware_type,
               p.batch_size, p.sequence_length, p.average_latency_ms, p.total_time_seconds,
               p.throughput_items_per_second, p.iterations, p.latency_p50_ms, p.latency_p99_ms,
               p.measured_at, p.metrics->>'model_load_time_seconds', p.result_id
        FROM performance_results p JOIN models m USING (model_id)
        JOIN hardware_platforms h USING (hardware_id)""",
    )
    assert len(row) == 1
    (
        name,
        family,
        model_class,
        hw,
        batch,
        seq,
        avg,
        total,
        tput,
        iters,
        p50,
        p99,
        measured,
        load_time,
        result_id,
    ) = row[0]
    assert (name, family, model_class, hw, batch, seq) == (
        "bert-base-uncased",
        "embedding",
        "BertModel",
        "cpu",
        1,
        32,
    )
    assert avg == pytest.approx(53.6571741104126)
    assert round(avg, 2) == 53.66
    assert total == pytest.approx(1.0732102394104004)  # total_time stays in seconds
    assert tput == pytest.approx(18.63567758260263)
    assert iters == 20
    samples = [
        r[0]
        for r in query(
            db,
            "SELECT latency_ms FROM performance_samples WHERE result_id = ? ORDER BY iteration",
            [result_id],
        )
    ]
    assert len(samples) == 20
    assert samples[0] == pytest.approx(61.2) and samples[-1] == pytest.approx(41.5)
    ordered = sorted(samples)
    assert p50 == pytest.approx((ordered[9] + ordered[10]) / 2)  # median of 20
    assert p99 == pytest.approx(ordered[18] + (ordered[19] - ordered[18]) * 0.81)
    assert measured == datetime(2025, 4, 10, 8, 15, 2, 500000)
    assert float(load_time) == 2.5
    # the failed configuration is kept in the run's metadata, the failed hardware as a
    # compatibility row with its error
    assert "out of memory" in scalar(db, "SELECT metadata::VARCHAR FROM test_runs")
    assert query(
        db,
        """SELECT h.hardware_type, c.is_compatible, c.error_message
                        FROM hardware_compatibility c JOIN hardware_platforms h USING (hardware_id)
                     """,
    ) == [("cuda", False, "CUDA not available")]


def test_canonical_rows_apply_aliases_units_and_names(db):
    ingest_one(db, FIXTURES / "canonical_rows.json")
    rows = query(
        db,
        """
        SELECT m.model_name, h.hardware_type, h.device_name, p.precision, p.average_latency_ms,
               p.throughput_items_per_second, p.memory_peak_mb, p.measured_at,
               p.metrics->>'gpu_util', p.metrics->>'cpu_util_percent'
        FROM performance_results p JOIN models m USING (model_id)
        JOIN hardware_platforms h USING (hardware_id) ORDER BY p.result_id""",
    )
    assert rows[0][:8] == ("bert-base-uncased", "cpu", "Test CPU 9000", "fp32", 25.0, 160.0, 900.5, None)
    assert rows[0][9] == "88.0"
    # aliases: model/hardware/latency/throughput/memory; Z timestamp to naive UTC
    assert rows[1][:8] == (
        "bert-base-uncased",
        "cuda",
        "Test GPU",
        "fp16",
        2.5,
        1600.0,
        1200.0,
        datetime(2025, 4, 1, 10, 0),
    )
    assert rows[1][8] == "91.5"  # unknown keys are kept in metrics, not dropped
    # latency_s → ms, memory_peak_gb → MB, no device name stays NULL
    assert rows[2][:7] == ("t5-small", "cuda", None, None, 4.0, 250.0, 1536.0)
    assert scalar(db, "SELECT count(*) FROM models") == 2  # BERT-Base-Uncased is bert-base-uncased


def test_canonical_document_fills_every_fact_table(db):
    ingest_one(db, FIXTURES / "canonical_document.json")
    run = query(
        db,
        "SELECT test_name, git_commit, git_branch, command_line, started_at, "
        "completed_at, is_simulated FROM test_runs",
    )
    assert run == [
        (
            "nightly",
            "abc1234",
            "main",
            "benchdb run --models bert-base-uncased",
            datetime(2025, 4, 2, 1),
            datetime(2025, 4, 2, 1, 30),
            False,
        )
    ]
    assert query(db, "SELECT average_latency_ms, latency_p50_ms, iterations FROM performance_results") == [
        (12.0, 12.0, 5)
    ]
    assert query(db, "SELECT is_compatible, error_type, suggested_fix FROM hardware_compatibility") == [
        (False, "DeviceNotFound", "install ROCm")
    ]
    assert query(db, "SELECT test_class, status, execution_time_seconds FROM integration_test_results") == [
        ("TestStore", "pass", 0.5)
    ]
    assert query(
        db, "SELECT assertion_name, passed, expected_value, actual_value FROM integration_test_assertions"
    ) == [("rows equal", True, "3", "3")]
    assert query(db, "SELECT platform, browser, inference_time_ms FROM web_platform_results") == [
        ("webgpu", "chrome", 40.0)
    ]


def test_direct_benchmark_keeps_samples_and_skips_failed_batches(db):
    ingest_one(db, FIXTURES / "direct_benchmark.json")
    assert query(
        db,
        "SELECT batch_size, average_latency_ms, latency_p50_ms, latency_p90_ms, "
        "memory_peak_mb, iterations, measured_at FROM performance_results",
    ) == [(1, 3.0, 3.0, pytest.approx(3.6), 500.0, 5, datetime(2025, 4, 3, 9, 0, 1))]
    assert scalar(db, "SELECT count(*) FROM performance_samples") == 5
    assert "timeout" in scalar(db, "SELECT metadata::VARCHAR FROM test_runs")
    assert scalar(db, "SELECT success FROM test_runs") is True


def test_web_platform_result_is_flagged_simulated(db):
    ingest_one(db, FIXTURES / "web_platform_result.json")
    assert query(
        db,
        """SELECT m.model_name, m.modality, w.platform, w.success, w.is_simulation,
                               w.inference_time_ms, w.load_time_ms, w.memory_usage_mb,
                               w.throughput_items_per_second, w.test_file
                        FROM web_platform_results w JOIN models m USING (model_id)""",
    ) == [
        (
            "prajjwal1/bert-tiny",
            "text",
            "webnn",
            True,
            True,
            100.0,
            300.0,
            120.0,
            10.0,
            "web/bert/webnn_test.html",
        )
    ]
    assert scalar(db, "SELECT is_simulated FROM test_runs") is True


def test_skill_test_times_in_seconds_and_hardware_availability(db):
    ingest_one(db, FIXTURES / "skill_test.json")
    assert query(
        db,
        """SELECT h.hardware_type, p.test_case, p.average_latency_ms, p.iterations,
                               p.metrics->>'min_time_ms', p.metrics->>'max_time_ms'
                        FROM performance_results p JOIN hardware_platforms h USING (hardware_id)""",
    ) == [("cpu", "pipeline", 400.0, 3, "350.0", "450.0")]
    assert query(
        db,
        """SELECT h.hardware_type, c.detection_success, c.is_compatible
                        FROM hardware_compatibility c JOIN hardware_platforms h USING (hardware_id)
                        ORDER BY 1""",
    ) == [("cpu", True, True), ("cuda", False, False), ("openvino", False, None)]


def test_compatibility_matrix_rates_families_and_named_models(db):
    ingest_one(db, FIXTURES / "compat_matrix.json")
    assert query(
        db,
        """SELECT m.model_name, c.model_family, h.hardware_type, c.is_compatible,
                               c.metadata->>'performance_rating', c.measured_at
                        FROM hardware_compatibility c LEFT JOIN models m USING (model_id)
                        JOIN hardware_platforms h USING (hardware_id) ORDER BY 3""",
    ) == [
        ("vit-base", "vision", "cpu", True, "medium", datetime(2025, 4, 6, 10, 10, 11)),
        (None, "vision", "cuda", False, None, datetime(2025, 4, 6, 10, 10, 10)),
    ]


def test_critical_model_tests_become_integration_results(db):
    ingest_one(db, FIXTURES / "critical_tests.json")
    rows = query(
        db,
        """SELECT test_module, test_name, status, execution_time_seconds, error_message,
                               error_traceback IS NOT NULL, metadata->>'return_code'
                        FROM integration_test_results ORDER BY test_name""",
    )
    assert rows == [
        ("critical_model_tests", "bert", "pass", 1.5, None, False, "0"),
        ("critical_model_tests", "clip", "fail", 0.2, "ImportError: no module named clip", True, "1"),
    ]
    assert scalar(db, "SELECT success FROM test_runs") is False


def test_empty_benchmark_summary_is_a_valid_file_without_records(db):
    report = ingest_one(db, FIXTURES / "benchmark_summary_empty.json")
    assert report.count("empty") == 1
    assert query(db, "SELECT status, record_count, format, error FROM source_files") == [
        ("empty", 0, "benchmark_summary", None)
    ]
    assert scalar(db, "SELECT count(*) FROM test_runs") == 0


@pytest.mark.parametrize(
    "name,fmt",
    [
        ("model_benchmarks.json", "run_model_benchmarks"),
        ("canonical_rows.json", "performance_rows"),
        ("canonical_document.json", "benchdb_document"),
        ("direct_benchmark.json", "direct_benchmark"),
        ("web_platform_result.json", "web_platform_result"),
        ("skill_test.json", "skill_test_results"),
        ("compat_matrix.json", "hardware_compatibility_matrix"),
        ("critical_tests.json", "critical_model_tests"),
        ("benchmark_summary_empty.json", "benchmark_summary"),
    ],
)
def test_format_is_detected_from_structure_not_name(tmp_path, name, fmt):
    renamed = tmp_path / "results.json"
    renamed.write_bytes((FIXTURES / name).read_bytes())
    assert parse_file(str(renamed)).format == fmt


def test_unknown_structure_has_no_adapter():
    assert detect({"hello": "world"}) is None
    assert detect(42) is None


@pytest.mark.parametrize(
    "path",
    ["/r/result_000001.json", "r/x.tar.gz", "/r/.json", "/r/x.", "/r/noext", "/r/a.b/c", "/r/ spaced .json"],
)
def test_a_source_names_its_file_as_pathlib_does(path):
    """Run names come from the file's stem, read without building a PurePath (bulk ingests
    ask it of every file)."""
    from pathlib import PurePosixPath

    from benchdb_pipeline.ingest.formats.base import Source

    assert Source(path).stem == PurePosixPath(path).stem
