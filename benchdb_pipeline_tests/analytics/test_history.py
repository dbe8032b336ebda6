"""Change points and anomalies on generated series with known structure."""

from __future__ import annotations

import random

from benchdb_pipeline.analytics import history, regressions
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.analytics.test_regressions import series_row, write_runs


def warehouse(tmp_path, name, levels_per_series, noise=0.005, seed=11):
    rng = random.Random(seed)
    nights = len(levels_per_series[0])
    runs = [
        [
            series_row(s, throughput=100 * levels[night] * rng.gauss(1, noise))
            for s, levels in enumerate(levels_per_series)
        ]
        for night in range(nights)
    ]
    write_runs(tmp_path / name, runs)
    db = tmp_path / f"{name}.duckdb"
    ingest(db, [tmp_path / name], workers=1)
    return db


def test_a_slow_drift_is_found_though_no_single_run_crosses_the_threshold(tmp_path):
    # 20 stable runs, then 1 % lower throughput per run for 20 runs, then 10 stable runs.
    levels = [1.0] * 20 + [0.99**i for i in range(1, 21)] + [0.99**20] * 10
    db = warehouse(tmp_path, "drift", [levels])
    with session(db, read_only=True) as con:
        points = history.change_points(con, metrics=("throughput",))
        run_ids = [r[0] for r in con.execute("SELECT run_id FROM test_runs ORDER BY started_at").fetchall()]
        per_run = [regressions.check(con, run_id=run).regressions for run in run_ids]
    assert points, "the drift went unnoticed"
    assert all(p.direction == "regression" for p in points)
    first = min(run_ids.index(p.run_id) for p in points)
    assert 18 <= first <= 40  # inside the drift, not before it
    assert sum(p.change_percent for p in points) <= -8  # about -18 % in all
    assert not any(per_run), "the per-run check was expected to miss a 1 %-per-run drift"


def test_a_step_is_located_and_noise_has_no_change_points(tmp_path):
    step = [1.0] * 30 + [0.85] * 30
    flat = [1.0] * 60
    db = warehouse(tmp_path, "step", [step, flat, flat, flat], noise=0.02)
    with session(db, read_only=True) as con:
        points = history.change_points(con, metrics=("throughput",))
        run_ids = [r[0] for r in con.execute("SELECT run_id FROM test_runs ORDER BY started_at").fetchall()]
    assert [(p.series[0], run_ids.index(p.run_id)) for p in points] == [("model-0", 30)]
    assert round(points[0].change_percent) in range(-18, -11)
    table = history.change_point_table(points)
    assert table.columns[0] == "model_name" and len(table.rows) == 1


def test_a_spike_is_an_anomaly_and_its_neighbours_are_not(tmp_path):
    levels = [1.0] * 25
    levels[18] = 0.6
    db = warehouse(tmp_path, "spike", [levels], noise=0.01)
    with session(db, read_only=True) as con:
        found = history.anomalies(con, metric="throughput")
        run_ids = [r[0] for r in con.execute("SELECT run_id FROM test_runs ORDER BY started_at").fetchall()]
    assert [run_ids.index(r) for r in found.column("run_id")] == [18]
    assert found.column("change_percent")[0] < -30


def test_analyze_command_writes_results_charts_and_summary(tmp_path):
    from benchdb_pipeline_tests.test_cli import benchdb

    db = warehouse(tmp_path, "cli", [[1.0] * 30 + [0.8] * 30], noise=0.01)
    out = tmp_path / "analysis"
    result = benchdb("analyze", "--analysis", "all", "--output-dir", str(out), db=db)
    assert result.returncode == 0, result.stderr
    assert "### Change points: 1 (1 for the worse)" in result.stdout
    names = {p.name for p in out.iterdir()}
    assert {
        "change_points.csv",
        "change_points.json",
        "anomalies.csv",
        "anomalies.json",
        "summary.md",
        "change_point_1.png",
        "performance_trends.csv",
        "hardware_comparison.csv",
        "model_comparison.csv",
        "batch_scaling.csv",
        "correlation.csv",
    } <= names
    assert "### Performance prediction" in result.stdout
    # Where nobody watches a terminal, each step is said as it starts, with the time so far.
    steps = [line for line in result.stderr.splitlines() if line.startswith("analyze: ")]
    assert steps[0].startswith("analyze: change-points, ") and steps[-1].endswith(" s")
    assert "analyze: performance-prediction, " in result.stderr
    assert not benchdb("analyze", "--analysis", "batch-scaling", "-q", "--output-dir", str(out), db=db).stderr
    # Each chart's choices are said under it and in summary.md.
    assert "Chart `batch_scaling.png`: Shows model " in result.stdout
    trends = (out / "performance_trends.csv").read_text().splitlines()
    header, row = trends[0].split(","), trends[1].split(",")
    assert len(trends) == 2  # one series
    assert -25 < float(row[header.index("change_percent")]) < -15  # about 20 % lower at the end
    assert "step" in (out / "change_points.csv").read_text()
    assert benchdb("analyze", "--analysis", "trends", "--output-dir", str(out), db=db).returncode == 2


def test_interactive_page_is_self_contained(tmp_path):
    import re

    from benchdb_pipeline_tests.test_cli import benchdb

    db = warehouse(tmp_path, "interactive", [[1.0] * 10 + [0.8] * 10, [1.0] * 20], noise=0.01)
    out = tmp_path / "analysis"
    result = benchdb(
        "analyze", "--analysis", "performance-trends", "--interactive", "--output-dir", str(out), db=db
    )
    assert result.returncode == 0, result.stderr
    page = (out / "interactive.html").read_text()
    assert page.count('class="plotly-graph-div"') == 3 and "simulated" in page
    assert not re.search(r"""<script[^>]+src=["']https?:""", page)  # plotly inlined, no CDN


def test_interactive_page_draws_measured_results_first(tmp_path):
    """Simulated results outnumber measured ones: the page draws the measured ones and says
    how many simulated it hid; asked for, it draws both."""
    from benchdb_pipeline.ingest.pipeline import ingest
    from benchdb_pipeline_tests.conftest import write_mixed_results
    from benchdb_pipeline_tests.test_cli import benchdb

    write_mixed_results(tmp_path / "in")
    db = tmp_path / "mixed.duckdb"
    ingest(db, [tmp_path / "in"])
    out = tmp_path / "analysis"
    ask = ("analyze", "--analysis", "performance-trends", "--interactive", "--output-dir", str(out))
    assert benchdb(*ask, db=db).returncode == 0
    page = (out / "interactive.html").read_text()
    assert "measured results only (9 simulated hidden; --include-simulated shows them)" in page
    assert "NVIDIA A100" in page and "Sample GPU" not in page
    assert benchdb(*ask, "--include-simulated", db=db).returncode == 0
    page = (out / "interactive.html").read_text()
    assert "Sample GPU" in page and "Includes <b>simulated</b> data" in page
