"""The rules table: aliases, declared units, value normalisers, ranges."""

from __future__ import annotations

import pytest

from benchdb_pipeline.ingest.normalize import KINDS, MEMO_TEXT, percentile
from benchdb_pipeline.ingest.rules import convert, norm_hardware_type, norm_precision, norm_status

PERF = KINDS["performance"]


def normalise(record, units=None):
    return PERF.normalise({"model": "m", "hardware": "cpu", **record}, "$[0]", units)


@pytest.mark.parametrize(
    "record,column,value",
    [
        ({"latency": 5}, "average_latency_ms", 5.0),
        ({"latency_ms": 5}, "average_latency_ms", 5.0),
        ({"latency_avg": 5}, "average_latency_ms", 5.0),
        ({"avg_latency_ms": 5}, "average_latency_ms", 5.0),
        ({"latency_s": 0.005}, "average_latency_ms", 5.0),
        ({"latency_us": 5000}, "average_latency_ms", 5.0),
        ({"latency": 5000, "time_unit": "us"}, "average_latency_ms", 5.0),
        ({"latency": 5000, "unit": "us"}, "average_latency_ms", 5.0),
        ({"throughput": 7}, "throughput_items_per_second", 7.0),
        ({"memory": 100}, "memory_peak_mb", 100.0),
        ({"memory_mb": 100}, "memory_peak_mb", 100.0),
        ({"memory_peak": 2, "memory_unit": "GB"}, "memory_peak_mb", 2048.0),
        ({"memory_peak_bytes": 1048576}, "memory_peak_mb", 1.0),
        ({"total_time": 3}, "total_time_seconds", 3.0),
        ({"total_time_ms": 3000}, "total_time_seconds", 3.0),
        ({"batch": "8"}, "batch_size", 8),
        ({"batch_size": 8.0}, "batch_size", 8),
        ({"num_params": 110_000_000}, "parameters_million", 110.0),
    ],
)
def test_aliases_and_units(record, column, value):
    row, problems = normalise(record)
    assert problems == []
    assert row[column] == pytest.approx(value)


def test_the_canonical_name_wins_over_aliases():
    row, _ = normalise({"latency": 1.0, "average_latency_ms": 2.0})
    assert row["average_latency_ms"] == 2.0


def test_adapter_units_apply_to_unitless_aliases_only():
    row, _ = normalise({"avg_latency": 0.5, "latency_p50_ms": 7}, units={"time": "s"})
    assert row["average_latency_ms"] == 500.0
    assert row["latency_p50_ms"] == 7.0


def test_missing_is_null_not_zero():
    row, problems = normalise({"throughput": None, "latency": 5})
    assert problems == [] and "throughput_items_per_second" not in row


@pytest.mark.parametrize(
    "record,field,reason",
    [
        ({"throughput": -1}, "throughput", "out of range"),
        ({"throughput": 0}, "throughput", "out of range"),
        ({"throughput": True}, "throughput", "is not a number"),
        ({"throughput": "NaN"}, "throughput", "not a finite number"),
        ({"batch_size": 0}, "batch_size", "out of range"),
        ({"batch_size": 1.5}, "batch_size", "not a whole number"),
        ({"latency": 5, "latency_unit": "parsecs"}, "latency_unit", "unknown unit"),
        ({"precision": "🙂"}, "precision", "is not a precision"),
        ({"timestamp": "yesterday"}, "timestamp", "is not a timestamp"),
        ({"latencies_ms": [1, -2]}, "latencies_ms", "sample [1]"),
    ],
)
def test_invalid_values_name_the_field(record, field, reason):
    _, problems = normalise(record)
    assert [(p.locator, p.field) for p in problems] == [("$[0]", field)]
    assert reason in problems[0].reason


def test_a_text_is_judged_the_same_every_time_it_comes():
    # Converters remember the short texts they accepted; one they refused is refused again.
    for _ in range(2):
        _, problems = normalise({"throughput": 1, "precision": "fp\u0000"})
        assert [(p.field, "control characters" in p.reason) for p in problems] == [("precision", True)]
        row, problems = normalise({"throughput": 1, "precision": "  FLOAT16 "})
        assert problems == [] and row["precision"] == "fp16"
    long_name = "m" * (MEMO_TEXT + 1)
    assert normalise({"throughput": 1, "model": f" {long_name} "})[0]["model_name"] == long_name


def test_required_fields():
    _, problems = PERF.normalise({"throughput": 1}, "$[3]")
    assert {(p.field, p.reason) for p in problems} == {
        ("model_name", "required field is missing"),
        ("hardware_type", "required field is missing"),
    }


@pytest.mark.parametrize(
    "raw,expected",
    [("CUDA", "cuda"), ("cuda:0", "cuda"), ("Apple", "mps"), ("HIP", "rocm"), ("webnn", "webnn")],
)
def test_hardware_types(raw, expected):
    assert norm_hardware_type(raw) == expected


@pytest.mark.parametrize(
    "raw,expected",
    [("float32", "fp32"), ("torch.float16", "fp16"), ("BF16", "bf16"), ("int8", "int8"), ("int2", "int2")],
)
def test_precisions(raw, expected):
    assert norm_precision(raw) == expected


def test_statuses():
    assert [norm_status(s) for s in ("PASSED", "failure", "Errored", "skipped")] == [
        "pass",
        "fail",
        "error",
        "skip",
    ]
    with pytest.raises(ValueError):
        norm_status("maybe")


def test_percentile_matches_numpy_linear():
    numpy = pytest.importorskip("numpy")
    values = sorted([3.1, 9.4, 2.2, 7.7, 5.0, 1.3, 8.8])
    for q in (0.5, 0.9, 0.95, 0.99):
        assert percentile(values, q) == pytest.approx(float(numpy.percentile(values, q * 100)))


def test_convert():
    assert convert(1.5, "time", "s") == 1500.0
    assert convert(2048, "memory", "mb", "gb") == 2.0
    with pytest.raises(ValueError):
        convert(1, "time", "fortnights")
