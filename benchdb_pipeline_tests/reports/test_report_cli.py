"""`benchdb query --report …` and `benchdb visualize` as users run them."""

from __future__ import annotations

import json

import pytest

from benchdb_pipeline_tests.test_cli import benchdb


@pytest.mark.parametrize("report", ["performance", "hardware", "compatibility", "integration", "summary"])
def test_every_report_in_every_format(fixture_db, tmp_path, report):
    for fmt in ("table", "csv", "json", "markdown"):
        result = benchdb("query", "--report", report, "--format", fmt, db=fixture_db)
        assert result.returncode == 0, (fmt, result.stderr)
        assert result.stdout.strip()
    page = tmp_path / f"{report}.html"
    result = benchdb("query", "--report", report, "--format", "html", "--output", str(page), db=fixture_db)
    assert result.returncode == 0 and page.read_text().startswith("<!DOCTYPE html>")


def test_filters_and_comparisons(fixture_db):
    rows = json.loads(
        benchdb(
            "query", "--report", "performance", "--hardware", "CUDA", "--format", "json", db=fixture_db
        ).stdout
    )
    assert {r["hardware_type"] for r in rows} == {"cuda"}
    compared = json.loads(
        benchdb(
            "query",
            "--model",
            "bert-base-uncased",
            "--metric",
            "latency",
            "--compare-hardware",
            "--format",
            "json",
            db=fixture_db,
        ).stdout
    )
    assert {r["hardware_type"] for r in compared} == {"cpu", "cuda"}
    hostile = benchdb("query", "--report", "performance", "--model", "x' OR 1=1 --", db=fixture_db)
    assert hostile.returncode == 0 and "(0 rows)" in hostile.stdout
    # Without --model, every model is compared: a table each (one flat table in JSON).
    every = benchdb("query", "--compare-hardware", db=fixture_db)
    assert every.returncode == 0 and "bert-base-uncased\n" in every.stdout
    flat = json.loads(benchdb("query", "--compare-hardware", "--format", "json", db=fixture_db).stdout)
    assert len({r["model_name"] for r in flat}) > 1
    assert benchdb("query", "--report", "summary", "--sql", "SELECT 1", db=fixture_db).returncode == 2


def test_visualize_writes_the_chart_asked_for(fixture_db, tmp_path):
    for args, name in (
        (["--compare-hardware", "--model", "bert-base-uncased"], "hw.svg"),
        (["--compare-models", "--hardware", "cpu"], "models.png"),
        (["--batch-scaling", "--model", "bert-base-uncased"], "scaling.pdf"),
        (["--compatibility-matrix"], "matrix.png"),
    ):
        result = benchdb("visualize", *args, "--output", str(tmp_path / name), db=fixture_db)
        assert result.returncode == 0, result.stderr
        assert (tmp_path / name).stat().st_size > 1000
    missing = benchdb(
        "visualize",
        "--plot-trend",
        "--model",
        "bert-base-uncased",
        "--output",
        str(tmp_path / "t.png"),
        db=fixture_db,
    )
    assert missing.returncode == 2 and "--hardware" in missing.stderr
    nothing = benchdb(
        "visualize",
        "--compare-hardware",
        "--model",
        "absent",
        "--output",
        str(tmp_path / "n.png"),
        db=fixture_db,
    )
    assert nothing.returncode == 2 and "DB004" in nothing.stderr


def test_visualize_draws_measured_results_first_and_says_so(tmp_path):
    """A chart asked for by hand follows the same rule as the report's: simulated results
    hidden where measured ones exist (said under the chart and on the terminal), drawn when
    asked for. The SVG's text shows what was drawn."""
    from benchdb_pipeline.ingest.pipeline import ingest
    from benchdb_pipeline_tests.conftest import write_mixed_results

    write_mixed_results(tmp_path / "in")
    db = tmp_path / "mixed.duckdb"
    ingest(db, [tmp_path / "in"])
    chart = tmp_path / "hw.svg"
    ask = ("visualize", "--compare-hardware", "--model", "bert-base-uncased", "--output", str(chart))
    result = benchdb(*ask, db=db)
    assert result.returncode == 0, result.stderr
    assert (
        "Shows measured results only (9 simulated hidden; --include-simulated shows them)." in result.stdout
    )
    drawn = chart.read_text()
    assert "NVIDIA A100" in drawn and "Sample GPU" not in drawn and "9 simulated hidden" in drawn
    assert benchdb(*ask, "--include-simulated", db=db).returncode == 0
    drawn = chart.read_text()
    assert "Sample GPU" in drawn and "SIMULATED" in drawn
    # Measured results without times make no trend: the simulated ones are drawn, and said to be.
    untimed = [
        {
            "model_name": "bert-base-uncased",
            "hardware_type": "cuda",
            "device_name": "H100",
            "precision": "fp32",
        }
    ]
    (tmp_path / "untimed.json").write_text(json.dumps([{**untimed[0], "throughput": 900.0}]))
    ingest(db, [tmp_path / "untimed.json"])
    trend = ("visualize", "--plot-trend", "--model", "bert-base-uncased", "--hardware", "cuda")
    result = benchdb(*trend, "--precision", "fp32", "--output", str(chart), db=db)
    assert result.returncode == 0, result.stderr
    assert "Shows simulated results: the measured ones give no throughput trend to draw." in result.stdout
