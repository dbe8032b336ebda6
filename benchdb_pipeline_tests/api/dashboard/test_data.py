"""The dashboard's pure parts: downsampling, verdicts, series identity."""

from __future__ import annotations

import numpy as np
import pytest

from benchdb_pipeline.api.dashboard import data
from benchdb_pipeline.api.dashboard.charts import series_figure
from benchdb_pipeline.errors import QueryError
from benchdb_pipeline.reports.filters import METRICS


def test_lttb_keeps_the_ends_the_spikes_and_the_count():
    rng = np.random.default_rng(3)
    ys = rng.normal(100, 1, 10_000)
    ys[4321] = 180  # one spike among ten thousand points
    xs = np.arange(len(ys), dtype=float)
    kept = data.lttb(xs, ys, 500)
    assert len(kept) == 500 and kept[0] == 0 and kept[-1] == len(ys) - 1
    assert 4321 in kept and np.all(np.diff(kept) > 0)
    assert list(data.lttb(xs[:10], ys[:10], 500)) == list(range(10))  # fewer points than asked: all


def test_a_verdict_follows_the_metrics_direction_and_the_evidence():
    latency, throughput = METRICS["latency"], METRICS["throughput"]
    assert data.verdict(latency, 12.0, 0.001) == "worse"
    assert data.verdict(throughput, 12.0, 0.001) == "better"
    assert data.verdict(latency, 12.0, 0.4) == "same"  # a change the samples do not support
    assert data.verdict(latency, -6.0, None) == "better"  # no samples: 5 % or more counts
    assert data.verdict(latency, 3.0, None) == "same"
    assert data.verdict(latency, None, None) == "same"


def test_a_series_key_matches_missing_fields_as_missing():
    key = data.SeriesKey("gpt2", "cpu|", batch_size=8)
    condition, params = key.where({"model_name": "m.model_name"})
    assert (
        "m.model_name IS NOT DISTINCT FROM ?" in condition and "test_case IS NOT DISTINCT FROM ?" in condition
    )
    assert params == ["gpt2", "cpu|", None, 8, None, None]
    assert key.query() == {"model": "gpt2", "platform": "cpu|", "batch_size": 8}
    with pytest.raises(QueryError, match="unknown metric"):
        data.metric("speed")


def test_a_long_series_is_drawn_downsampled_with_its_marks_kept():
    points = [
        {"result_id": i, "measured_at": None, "value": 10.0 + (i >= 6000), "p50": None, "p90": None, "p99": None,
         "run_id": i, "git_commit": None, "git_branch": None, "build": None, "source_file": None, "is_simulated": False}
        for i in range(10_000)
    ]  # fmt: skip
    found = data.Series(data.SeriesKey("m", "cpu|"), METRICS["latency"], points)
    found.change_points = [{"index": 6000, "result_id": 6000, "change_percent": 10.0}]
    found.regressions = [
        {"regression_id": 1, "candidate_result_id": 6001, "candidate_value": 11.0, "change_percent": 10.0,
         "baseline_median": 10.0, "status": "expected", "note": "new kernel", "direction": "regression"}
    ]  # fmt: skip
    figure = series_figure(found, by="commit", keep=300)
    values = next(t for t in figure["data"] if t["name"] == "Average latency")
    assert 300 <= len(values["x"]) <= 302
    assert "6001 · no commit" in values["x"] and "6002 · no commit" in values["x"]  # change point, regression
    assert any("baseline restarts: new kernel" in note["text"] for note in figure["layout"]["annotations"])
