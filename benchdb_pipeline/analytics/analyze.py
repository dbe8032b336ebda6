"""`benchdb analyze`: run retrospective analyses and write their results to a folder:
CSV and JSON per analysis, charts, and a short Markdown summary."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import orjson

from benchdb_pipeline.analytics import history
from benchdb_pipeline.reports.filters import EVERYTHING, METRICS, Filters
from benchdb_pipeline.reports.queries import ResultSet
from benchdb_pipeline.reports.render import render

ANALYSES = ("change-points", "anomaly-detection")
CHARTED = 5


def _write(result: ResultSet, folder: Path, name: str) -> list[Path]:
    csv_path, json_path = folder / f"{name}.csv", folder / f"{name}.json"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    json_path.write_bytes(orjson.dumps([dict(zip(result.columns, r, strict=True)) for r in result.rows],
                                       option=orjson.OPT_INDENT_2, default=str))
    return [csv_path, json_path]


def _chart_change_points(con: duckdb.DuckDBPyConnection, points: list[history.ChangePoint],
                         folder: Path) -> list[Path]:
    from benchdb_pipeline.reports import charts, queries

    paths = []
    biggest = sorted(points, key=lambda p: -abs(p.change_percent))[:CHARTED]
    for number, point in enumerate(biggest, start=1):
        model, hardware, _, test_case, batch, _, precision = point.series
        series = Filters(model=model, hardware=hardware, batch_size=batch, precision=precision,
                         test_case=test_case)
        metric = METRICS[point.metric]
        try:
            figure = charts.trend(queries.history(con, metric, series), metric, model, hardware)
        except (charts.NoData, charts.TooManySeries):
            continue
        if point.measured_at is not None:
            figure.axes[0].axvline(point.measured_at, color="#b00020", ls="--", lw=1)
        paths.append(charts.save(figure, folder / f"change_point_{number}.png"))
    return paths


def analyze(con: duckdb.DuckDBPyConnection, analyses: tuple[str, ...], folder: Path,
            filters: Filters = EVERYTHING, metrics: tuple[str, ...] = ("throughput", "latency")) -> list[Path]:
    """Run the analyses; returns the files written (summary.md last)."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summary = [f"## Benchmark analysis ({filters.describe()})", ""]
    if "change-points" in analyses:
        points = history.change_points(con, filters, metrics)
        table = history.change_point_table(points)
        written += _write(table, folder, "change_points")
        written += _chart_change_points(con, points, folder)
        regressions = sum(p.direction == "regression" for p in points)
        summary += [f"### Change points: {len(points)} ({regressions} for the worse)", ""]
        if points:
            keep = ["model_name", "hardware_type", "batch_size", "precision", "metric", "kind",
                    "run_id", "change_percent", "direction"]
            rows = [[row[table.columns.index(c)] for c in keep] for row in table.rows[:20]]
            summary += [render(keep, rows, "markdown"), ""]
    if "anomaly-detection" in analyses:
        found = [history.anomalies(con, filters, metric) for metric in metrics]
        combined = ResultSet(found[0].columns, [row for result in found for row in result.rows])
        written += _write(combined, folder, "anomalies")
        summary += [f"### Anomalies: {len(combined.rows)} results far from their trailing window", ""]
        if combined.rows:
            keep = ["model_name", "hardware_type", "batch_size", "metric", "run_id", "value",
                    "trailing_median", "change_percent", "robust_z"]
            rows = [[row[combined.columns.index(c)] for c in keep] for row in combined.rows[:20]]
            summary += [render(keep, rows, "markdown"), ""]
    path = folder / "summary.md"
    path.write_text("\n".join(summary) + "\n")
    return [*written, path]
