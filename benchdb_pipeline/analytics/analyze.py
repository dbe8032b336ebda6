"""`benchdb analyze`: run retrospective analyses and write their results to a folder:
CSV and JSON per analysis, charts, and a short Markdown summary."""

from __future__ import annotations

import csv
from dataclasses import replace
from html import escape
from pathlib import Path

import duckdb
import orjson

from benchdb_pipeline.analytics import history
from benchdb_pipeline.analytics.steps import Step, silent
from benchdb_pipeline.reports import queries, selection
from benchdb_pipeline.reports.filters import EVERYTHING, METRICS, Filters
from benchdb_pipeline.reports.queries import ResultSet
from benchdb_pipeline.reports.render import render

CHARTED = 5


def _write(result: ResultSet, folder: Path, name: str) -> list[Path]:
    csv_path, json_path = folder / f"{name}.csv", folder / f"{name}.json"
    with csv_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    json_path.write_bytes(
        orjson.dumps(
            [dict(zip(result.columns, r, strict=True)) for r in result.rows],
            option=orjson.OPT_INDENT_2,
            default=str,
        )
    )
    return [csv_path, json_path]


def _chart_change_points(
    con: duckdb.DuckDBPyConnection, points: list[history.ChangePoint], folder: Path
) -> list[Path]:
    import matplotlib.dates as mdates

    from benchdb_pipeline.reports import charts

    paths = []
    biggest = sorted(points, key=lambda p: -abs(p.change_percent))[:CHARTED]
    for number, point in enumerate(biggest, start=1):
        key = dict(zip(history.SERIES_COLUMNS, point.series, strict=True))
        model, hardware = key["model_name"], key["hardware_type"]
        series = Filters(
            model=model,
            hardware=hardware,
            platform=key["platform_key"],
            batch_size=key["batch_size"],
            precision=key["precision"],
            test_case=key["test_case"],
        )
        metric = METRICS[point.metric]
        try:
            figure = charts.trend(queries.history(con, metric, series), metric, model, hardware)
        except (charts.NoData, charts.TooManySeries):
            continue
        if point.measured_at is not None:
            figure.axes[0].axvline(mdates.date2num(point.measured_at), color="#b00020", ls="--", lw=1)
        shows = [
            f"one series: {model} on {key['platform_key']}, batch {key['batch_size']}, "
            f"{key['precision']}, test case {key['test_case'] or 'none'}",
            f"the dashed line marks the {point.kind} at run {point.run_id} ({point.change_percent:+.1f} %)",
        ]
        figure = charts.with_caption(figure, selection.caption(shows))
        paths.append(charts.save(figure, folder / f"change_point_{number}.png"))
    return paths


def _trends(con: duckdb.DuckDBPyConnection, filters: Filters, metric: str) -> ResultSet:
    """Per series: first and last value, change, and the least-squares slope per day."""
    sql, params = history.history_sql(metric, filters)
    return queries.run_sql(
        con,
        f"""
        SELECT {", ".join(history.SERIES_COLUMNS)}, '{metric}' AS metric, count(*) AS results,
               min(measured_at) AS first_measured_at, max(measured_at) AS last_measured_at,
               arg_min(value, k) AS first_value, arg_max(value, k) AS last_value,
               round((arg_max(value, k) - arg_min(value, k)) / abs(arg_min(value, k)) * 100, 2)
                   AS change_percent,
               regr_slope(value, epoch(measured_at) / 86400) AS slope_per_day
        FROM ({sql}) GROUP BY ALL HAVING count(*) >= 3 ORDER BY abs(change_percent) DESC""",
        params,
    )


def _scaling(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """Throughput per batch size relative to batch 1, and the efficiency of that gain."""
    where, params = filters.where()
    return queries.run_sql(
        con,
        f"""
        WITH latest AS (SELECT * FROM latest_performance_metrics{where}),
             one AS (SELECT model_name, hardware_type, device_name, precision, test_case,
                            sequence_length, throughput_items_per_second AS base
                     FROM latest WHERE batch_size = 1)
        SELECT l.model_name, l.hardware_type, l.device_name, l.precision, l.batch_size,
               l.throughput_items_per_second, round(l.throughput_items_per_second / one.base, 3) AS speedup,
               round(l.throughput_items_per_second / one.base / l.batch_size, 3) AS efficiency
        FROM latest l JOIN one USING (model_name, hardware_type, device_name, precision, test_case,
                                      sequence_length)
        WHERE l.throughput_items_per_second IS NOT NULL
        ORDER BY l.model_name, l.hardware_type, l.device_name, l.precision, l.batch_size""",
        params,
    )


def _correlation(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """Spearman rank correlation between the numeric parameters and the metrics."""
    where, params = filters.where("l")
    frame = con.execute(
        f"""
        SELECT l.batch_size, l.sequence_length, m.parameters_million, h.memory_gb,
               l.throughput_items_per_second, l.average_latency_ms, l.memory_peak_mb
        FROM latest_performance_metrics l JOIN models m USING (model_id)
        JOIN hardware_platforms h USING (hardware_id){where}""",
        params,
    ).df()
    frame = frame.loc[:, frame.notna().sum() >= 3]
    matrix = frame.corr(method="spearman").round(3)
    return ResultSet(["parameter", *matrix.columns], [(name, *row) for name, row in matrix.iterrows()])


def _prediction(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    summary: list[str],
    features: tuple[str, ...] | None,
    step: Step,
) -> list[Path]:
    from benchdb_pipeline.analytics import prediction
    from benchdb_pipeline.errors import QueryError

    written = []
    for metric in ("throughput", "latency"):
        frame = prediction.training_frame(con, metric, include_simulated=True)
        try:
            evaluation = prediction.evaluate(frame, metric, features=features, step=step)
        except QueryError as exc:
            summary += [f"- {metric}: {exc}"]
            continue
        step(f"{metric}: fitting the model and its interval on {len(frame)} configurations")
        fitted = prediction.fit(frame, metric, features)
        gaps = prediction.untested(frame)
        step(f"{metric}: predicting {len(gaps)} untested configurations")
        predicted = fitted.predict_with_neighbours(gaps) if len(gaps) else gaps
        result = ResultSet(list(predicted.columns), [tuple(row) for row in predicted.values.tolist()])
        written += _write(result, folder, f"predictions_{metric}")
        path = folder / f"evaluation_{metric}.json"
        path.write_bytes(
            orjson.dumps(
                {
                    **evaluation.__dict__,
                    "beats_baseline": evaluation.beats_baseline,
                    "training_data_sha256": fitted.data_hash,
                    "version": fitted.version,
                },
                option=orjson.OPT_INDENT_2,
            )
        )
        written.append(path)
        summary += [f"- {evaluation.summary()} {len(gaps)} untested configurations predicted."]
    return written


def analyze(
    con: duckdb.DuckDBPyConnection,
    analyses: tuple[str, ...],
    folder: Path,
    filters: Filters = EVERYTHING,
    metrics: tuple[str, ...] = ("throughput", "latency"),
    *,
    anomaly_min_change_percent: float = 10.0,
    prediction_features: tuple[str, ...] | None = None,
    step: Step = silent,
) -> list[Path]:
    """Run the analyses; returns the files written (summary.md last). An anomaly must differ
    from its trailing median by ``anomaly_min_change_percent``; predictions learn from
    ``prediction_features`` (every feature by default); ``step`` hears each step start."""
    from benchdb_pipeline.reports import charts

    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    summary = [f"## Benchmark analysis ({filters.describe()})", ""]

    def chart(make, name: str, shows: list[str] | None = None) -> None:
        """Draw and save a chart, its caption under it and in summary.md."""
        text = selection.caption(shows or [])
        try:
            written.append(charts.save(charts.with_caption(make(), text), folder / name))
        except (charts.NoData, charts.TooManySeries) as exc:
            summary.extend([f"No chart {name}: {exc}", ""])
            return
        if text:
            summary.extend([f"Chart `{name}`: {text}", ""])

    def section(title: str, result: ResultSet, name: str, shown: list[str] | None = None) -> None:
        """Write a result's CSV and JSON, and its first rows (these columns) in summary.md."""
        written.extend(_write(result, folder, name))
        summary.extend([f"### {title}", ""])
        if result.rows:
            shown = shown or result.columns[:8]
            at = [result.columns.index(c) for c in shown]
            summary.extend([render(shown, [[r[i] for i in at] for r in result.rows[:20]], "markdown"), ""])

    throughput = METRICS["throughput"]
    if "change-points" in analyses:
        step("change-points")
        points = history.change_points(con, filters, metrics)
        worse = sum(p.direction == "regression" for p in points)
        section(
            f"Change points: {len(points)} ({worse} for the worse)",
            history.change_point_table(points),
            "change_points",
            [
                "model_name",
                "hardware_type",
                "batch_size",
                "precision",
                "metric",
                "kind",
                "run_id",
                "change_percent",
                "direction",
            ],
        )
        written += _chart_change_points(con, points, folder)
    if "anomaly-detection" in analyses:
        step("anomaly-detection")
        found = [
            history.anomalies(con, filters, metric, min_change_percent=anomaly_min_change_percent)
            for metric in metrics
        ]
        combined = ResultSet(found[0].columns, [row for result in found for row in result.rows])
        section(
            f"Anomalies: {len(combined.rows)} results far from their trailing window",
            combined,
            "anomalies",
            [
                "model_name",
                "hardware_type",
                "batch_size",
                "metric",
                "run_id",
                "value",
                "trailing_median",
                "change_percent",
                "robust_z",
            ],
        )
    if "performance-trends" in analyses:
        step("performance-trends")
        trends = [_trends(con, filters, metric) for metric in metrics]
        combined = ResultSet(trends[0].columns, [r for t in trends for r in t.rows])
        section(
            f"Performance trends: {len(combined.rows)} series",
            combined,
            "performance_trends",
            [
                "model_name",
                "hardware_type",
                "batch_size",
                "precision",
                "metric",
                "results",
                "first_value",
                "last_value",
                "change_percent",
                "slope_per_day",
            ],
        )
    if "hardware-comparison" in analyses:
        step("hardware-comparison")
        section("Hardware comparison", queries.hardware(con, filters), "hardware_comparison")
        chart(
            lambda: charts.compatibility_matrix(queries.compatibility(con, filters)),
            "compatibility_matrix.png",
        )
    if "model-comparison" in analyses:
        step("model-comparison")
        compared = queries.compare(con, throughput, filters)
        section("Model comparison (throughput)", compared, "model_comparison")
        shows: list[str] = []
        hardware = filters.hardware or selection.choose(con, filters, "hardware_type", "hardware", shows)
        if hardware:
            on_hardware = selection.narrowed(con, replace(filters, hardware=hardware), shows)
            chart(
                lambda: charts.compare_models(
                    queries.compare(con, throughput, on_hardware), throughput, hardware
                ),
                "model_comparison.png",
                shows,
            )
    if "batch-scaling" in analyses:
        step("batch-scaling")
        scaling = _scaling(con, filters)
        section("Batch scaling (throughput relative to batch 1)", scaling, "batch_scaling")
        shows = []
        model = filters.model or selection.choose(con, filters, "model_name", "model", shows)
        if model:
            of_model = selection.narrowed(con, replace(filters, model=model), shows)
            chart(
                lambda: charts.batch_scaling(queries.compare(con, throughput, of_model), throughput, model),
                "batch_scaling.png",
                shows,
            )
    if "correlation-analysis" in analyses:
        step("correlation-analysis")
        section("Spearman correlation", _correlation(con, filters), "correlation")
    if "performance-prediction" in analyses:
        step("performance-prediction")
        summary += ["### Performance prediction", ""]
        if prediction_features:
            summary += [f"Features: {', '.join(prediction_features)}.", ""]
        written += _prediction(con, folder, summary, prediction_features, step)
        summary.append("")
    path = folder / "summary.md"
    path.write_text("\n".join(summary) + "\n")
    return [*written, path]


def interactive_page(
    con: duckdb.DuckDBPyConnection, folder: Path, filters: Filters = EVERYTHING, series: int = 12
) -> Path:
    """One self-contained HTML page of interactive charts (hover, zoom, legend toggles): the
    series that changed most over time, batch scaling, and the models compared. Plotly's
    script is inlined once, so the page works offline."""
    import plotly.express as px

    throughput = METRICS["throughput"]
    figures = []
    shows: list[str] = []
    filters = selection.measured_first(con, filters, shows)
    trends = _trends(con, filters, "throughput")
    if trends.rows:
        keys = [row[: len(history.SERIES_COLUMNS)] for row in trends.rows[:series]]
        rows = queries.history(con, throughput, filters).frame()
        rows["series"] = (
            rows["model_name"]
            + " · "
            + rows["platform_key"].str.rstrip("|")
            + " · batch "
            + rows["batch_size"].astype("string").fillna("n/a")
            + " · "
            + rows["precision"].fillna("n/a")
        )
        at = [
            history.SERIES_COLUMNS.index(c) for c in ("model_name", "platform_key", "batch_size", "precision")
        ]
        wanted = {tuple(k[i] for i in at) for k in keys}
        rows = rows[
            [
                (m, h, b, p) in wanted
                for m, h, b, p in zip(
                    rows["model_name"],
                    rows["platform_key"],
                    rows["batch_size"],
                    rows["precision"],
                    strict=True,
                )
            ]
        ]
        figures.append(
            px.line(
                rows,
                x="measured_at",
                y="value",
                color="series",
                markers=True,
                hover_data=["git_commit", "is_simulated"],
                labels={"value": throughput.axis_label, "measured_at": "Measured at"},
                title=f"Throughput over time: the {len(wanted)} series that changed most",
            )
        )
    compared = queries.compare(con, throughput, filters).frame()
    if not compared.empty:
        compared["platform"] = compared["hardware_type"] + " · " + compared["device_name"].fillna("")
        # One line per configuration: precision, sequence length and test case never mix.
        compared["configuration"] = (
            compared["model_name"]
            + "|"
            + compared["platform"]
            + "|"
            + compared["precision"].fillna("")
            + "|"
            + compared["sequence_length"].astype("string").fillna("")
            + "|"
            + compared["test_case"].fillna("")
        )
        figures.append(
            px.line(
                compared.sort_values("batch_size"),
                x="batch_size",
                y="value",
                color="model_name",
                line_dash="platform",
                line_group="configuration",
                markers=True,
                log_x=True,
                hover_data=["precision", "test_case", "is_simulated"],
                labels={"value": throughput.axis_label, "batch_size": "Batch size"},
                title="Throughput vs batch size, per model and platform",
            )
        )
        figures.append(
            px.strip(
                compared,
                x="value",
                y="model_name",
                color="platform",
                hover_data=["batch_size", "precision"],
                labels={"value": throughput.axis_label, "model_name": "Model"},
                title="Throughput of every model, per platform",
            )
        )
    simulated = not compared.empty and bool(compared["is_simulated"].any())
    parts = [
        f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
        for i, f in enumerate(figures)
    ]
    notice = (
        '<p style="background:#fff3cd;padding:.5em">Includes <b>simulated</b> data (not measurements).</p>'
        if simulated
        else ""
    ) + (f"<p>{escape(selection.caption(shows))}</p>" if shows else "")
    path = folder / "interactive.html"
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>benchdb analysis</title></head>"
        f"<body style='font-family:system-ui;max-width:1200px;margin:auto'><h1>benchdb analysis</h1>"
        f"<p>{escape(filters.describe())}</p>{notice}{''.join(parts) or '<p>No results to chart.</p>'}"
        "</body></html>"
    )
    return path
