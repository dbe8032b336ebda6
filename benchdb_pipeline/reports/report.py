"""The report: one self-contained HTML page (charts embedded) and its Markdown summary.

Built from the queries in ``queries.py`` and the charts in ``charts.py``; rendered with the
Jinja2 template in ``templates/``. The HTML makes no network request: styles are inline and
images are data URIs, so it can be mailed, attached to CI, or opened offline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import duckdb
import jinja2
from markupsafe import Markup, escape

from benchdb_pipeline.reports import charts, queries
from benchdb_pipeline.reports.filters import METRICS, Filters
from benchdb_pipeline.reports.queries import ResultSet
from benchdb_pipeline.reports.render import fmt, markdown_text, printable
from benchdb_pipeline.reports.selection import caption, choose, narrowed
from benchdb_pipeline.warehouse.schema import utc_now

SECTIONS = ("summary", "performance", "hardware", "compatibility", "integration")
MAX_TABLE_ROWS = 200
MAX_MODELS = 60

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("benchdb_pipeline.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)


def html_table(
    result: ResultSet, status_column: str | None = None, empty: str = "Nothing to show."
) -> Markup:
    """A result set as an escaped HTML table, capped at MAX_TABLE_ROWS rows."""
    if not result.rows:
        return Markup('<p class="empty">{}</p>').format(empty)
    status_at = result.columns.index(status_column) if status_column in result.columns else None
    head = "".join(f"<th>{escape(c)}</th>" for c in result.columns)
    body = []
    for row in result.rows[:MAX_TABLE_ROWS]:
        cells = []
        for index, value in enumerate(row):
            classes = ["num"] if isinstance(value, (int, float)) and not isinstance(value, bool) else []
            if index == status_at and value:
                classes.append(str(value))
            text = "SIMULATED" if (result.columns[index] == "is_simulated" and value) else fmt(value)
            cells.append(f'<td class="{" ".join(classes)}">{escape(text)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    more = len(result.rows) - MAX_TABLE_ROWS
    note = f'<p class="truncated">… and {more} more rows.</p>' if more > 0 else ""
    return Markup(f"<table><tr>{head}</tr>{''.join(body)}</table>{note}")


@dataclass
class Chart:
    uri: str
    alt: str
    caption: str = ""  # what the chart shows: its subset, and what was left out


@dataclass
class Report:
    """Everything the template and the Markdown summary show."""

    title: str
    source: str
    sections: tuple[str, ...]
    summary: dict
    best: dict
    hardware: ResultSet
    incompatible: ResultSet
    integration: ResultSet
    quarantined: ResultSet
    # Every section the template shows, empty until drawn (an empty warehouse draws none).
    charts: dict[str, list[Chart]] = field(
        default_factory=lambda: {"performance": [], "hardware": [], "compatibility": []}
    )
    generated_at: str = field(
        default_factory=lambda: utc_now().isoformat(sep=" ", timespec="seconds") + " UTC"
    )

    @property
    def simulated(self) -> bool:
        return (
            bool(self.summary["simulated_configurations"])
            or self.hardware.any_simulated
            or self.integration.any_simulated
            or self.incompatible.any_simulated
        )

    def html(self) -> str:
        return _TEMPLATES.get_template("report.html.j2").render(
            **self.__dict__, simulated=self.simulated, table=html_table, fmt=fmt
        )

    def markdown(self, html_link: str | None = None) -> str:
        """The summary for a pull-request comment or a CI job summary."""
        s = self.summary
        lines = [f"## {self.title}", ""]
        if self.simulated:
            lines += ["> **Includes simulated data** (not measurements).", ""]
        lines.append(
            f"**{s['configurations']}** configurations · **{s['models']}** models · "
            f"**{s['platforms']}** platforms · {s['stored']['runs']} runs · "
            f"{s['stored']['quarantined files']} quarantined files"
        )
        if s["first_measured_at"]:
            lines.append(f"Measured {fmt(s['first_measured_at'])} – {fmt(s['last_measured_at'])}.")
        newest = s["newest_run"]
        if newest:
            commit = f" at {_code(newest['git_commit'])}" if newest["git_commit"] else ""
            lines.append(
                f"Newest run: {markdown_text(newest['test_name'])}{commit} ({fmt(newest['started_at'])})."
            )
        if self.best["rows"]:
            lines += [
                "",
                "| model | best platform | compared at | throughput (items/s) |",
                "| --- | --- | --- | --- |",
            ]
            for row in self.best["rows"][:15]:
                model = markdown_text(row["model"]) + (" (simulated)" if row["simulated"] else "")
                lines.append(
                    f"| {model} | {markdown_text(row['best_platform'])} | "
                    f"{markdown_text(row['configuration'])} | {fmt(row['best'])} |"
                )
        failing = [
            r for r in self.integration.rows if r[self.integration.columns.index("latest_status")] != "pass"
        ]
        if failing:
            lines += [
                "",
                f"**{len(failing)} integration tests not passing:** "
                + ", ".join(_code(f"{r[0]}::{r[2]}") for r in failing[:10])
                + (" …" if len(failing) > 10 else ""),
            ]
        if html_link:
            lines += ["", f"[Full report]({html_link})"]
        return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """A Markdown code span of text from the data (no backtick can end it early)."""
    return "`" + printable(text).replace("`", "'") + "`"


def _best_per_platform(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict:
    """Each model's throughput on each platform, compared like with like: at the one
    configuration (batch size, precision, test case) measured on the most platforms. A model's
    measured results are used whenever it has any; its simulated ones only when it has nothing
    else (and the row says so)."""
    where, params = filters.where()
    rows = con.execute(
        f"""
        SELECT model_name, hardware_type || coalesce(' · ' || device_name, '') AS platform,
               batch_size, coalesce(precision, '') AS precision, coalesce(test_case, '') AS test_case,
               max(throughput_items_per_second) AS value, is_simulated
        FROM latest_performance_metrics{where}{" AND" if where else " WHERE"}
             throughput_items_per_second IS NOT NULL
        GROUP BY ALL ORDER BY ALL""",
        params,
    ).fetchall()
    by_model: dict[str, list[tuple]] = {}
    for row in rows:
        by_model.setdefault(row[0], []).append(row)
    chosen: list[dict] = []
    for model, results in list(by_model.items())[:MAX_MODELS]:
        measured = [r for r in results if not r[6]]
        used = measured or results
        platforms_at: dict[tuple, set[str]] = {}
        for r in used:
            platforms_at.setdefault((r[2], r[3], r[4]), set()).add(r[1])
        # The configuration on the most platforms (then the largest batch, for determinism).
        config = max(platforms_at, key=lambda c: (len(platforms_at[c]), c[0] or 0, c[1], c[2]))
        cells: dict[str, float] = {}
        for r in used:
            if (r[2], r[3], r[4]) == config:
                cells[r[1]] = max(cells.get(r[1], r[5]), r[5])
        batch, precision, test_case = config
        chosen.append(
            {
                "model": model,
                "cells": cells,
                "configuration": " · ".join(
                    part for part in (f"batch {batch}" if batch else "", precision, test_case) if part
                ),
                "simulated": not measured,
            }
        )
    platforms = sorted({p for entry in chosen for p in entry["cells"]})
    table = []
    for entry in chosen:
        values = [entry["cells"].get(p) for p in platforms]
        best = max(entry["cells"].values())
        table.append(
            {
                "model": entry["model"],
                "throughputs": values,
                "simulated": entry["simulated"],
                "configuration": entry["configuration"],
                "best": best,
                "best_platform": platforms[values.index(best)],
            }
        )
    return {
        "platforms": platforms,
        "rows": table,
        "total": len(by_model),
        "truncated": len(by_model) > MAX_MODELS,
    }


def _chart(make, alt: str, shows: list[str] | None = None) -> list[Chart]:
    try:
        return [Chart(charts.data_uri(make()), alt, caption(shows or []))]
    except (charts.NoData, charts.TooManySeries):
        return []


def build(
    con: duckdb.DuckDBPyConnection,
    filters: Filters,
    *,
    source: str,
    sections: Iterable[str] = SECTIONS,
    with_charts: bool = True,
    title: str = "Benchmark report",
) -> Report:
    """Query the warehouse once for everything the report shows."""
    sections = tuple(sections)
    compat = queries.compatibility(con, filters)
    report = Report(
        title=title,
        source=source,
        sections=sections,
        summary=queries.summary(con, filters),
        best=_best_per_platform(con, filters),
        hardware=queries.hardware(con, filters),
        incompatible=ResultSet(
            compat.columns,
            [r for r, ok in zip(compat.rows, compat.column("is_compatible"), strict=True) if ok is False],
        ),
        integration=queries.integration(con, filters),
        quarantined=queries.quarantined(con),
    )
    if not with_charts:
        return report
    throughput, latency = METRICS["throughput"], METRICS["latency"]
    shows: list[str] = []
    model = filters.model or choose(con, filters, "model_name", "model", shows)
    if model is not None:
        chosen = narrowed(con, replace(filters, model=model), shows)
        report.charts["performance"] = _chart(
            lambda: charts.compare_hardware(queries.compare(con, latency, chosen), latency, model),
            f"{model}: latency by hardware",
            shows,
        ) + _chart(
            lambda: charts.batch_scaling(queries.compare(con, throughput, chosen), throughput, model),
            f"{model}: throughput vs batch size",
            shows,
        )
    shows = []
    hardware = filters.hardware or choose(con, filters, "hardware_type", "hardware", shows)
    if hardware is not None:
        chosen = narrowed(con, replace(filters, hardware=hardware), shows)
        # Throughput where the type has it, else latency (some types only report latency).
        for metric in (throughput, latency):
            compared = queries.compare(con, metric, chosen)
            top = _top_models(compared, metric)
            models = len(set(compared.column("model_name")))
            kept = len(set(top.column("model_name")))
            cut = [f"the {kept} best of {models} models"] if kept < models else []
            report.charts["hardware"] = _chart(
                lambda top=top, metric=metric: charts.compare_models(top, metric, hardware),
                f"{metric.name} of models on {hardware}",
                shows + cut,
            )
            if report.charts["hardware"]:
                break
    report.charts["compatibility"] = _chart(
        lambda: charts.compatibility_matrix(compat), "hardware compatibility matrix"
    )
    return report


def _top_models(result: ResultSet, metric) -> ResultSet:
    """At most MAX_MODELS models (the best by the metric), so a chart stays readable."""
    frame = result.frame()
    if frame.empty or frame["model_name"].nunique() <= MAX_MODELS:
        return result
    best = frame.groupby("model_name")["value"].max().sort_values(ascending=not metric.higher_is_better)
    keep = set(best.index[:MAX_MODELS])
    return ResultSet(result.columns, [r for r in result.rows if r[0] in keep])
