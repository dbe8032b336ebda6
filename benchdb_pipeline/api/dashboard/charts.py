"""Plotly figures for the dashboard, as the JSON that Plotly.js draws (no Python figure
objects: building those costs more than the page's queries)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from benchdb_pipeline.api.dashboard.data import Series, lttb
from benchdb_pipeline.reports.filters import LOG_SPAN, Metric

MAX_DRAWN = 2000  # points a series chart draws; the CSV always has all of them
_LAYOUT = {
    "margin": {"l": 70, "r": 20, "t": 30, "b": 60},
    "hovermode": "closest",
    "legend": {"orientation": "h", "y": -0.2},
    "height": 460,
}


def _x(points: Sequence[dict], by: str) -> list:
    if by == "commit":
        return [f"{i + 1} · {(p['git_commit'] or 'no commit')[:10]}" for i, p in enumerate(points)]
    return [p["measured_at"].isoformat() if p["measured_at"] else None for p in points]


def _hover(p: dict, m: Metric) -> str:
    parts = [
        f"{p['value']:.4g} {m.unit}",
        f"run {p['run_id']}",
        f"commit {p['git_commit'] or '–'}",
        f"branch {p['git_branch'] or '–'}",
    ]
    if p["build"]:
        parts.append(f"CI build {p['build']}")
    if p["source_file"]:
        parts.append(f"file {p['source_file']}")
    if p["is_simulated"]:
        parts.append("SIMULATED")
    return "<br>".join(parts)


def series_figure(series: Series, by: str = "time", keep: int = MAX_DRAWN) -> dict[str, Any]:
    """The series' values (LTTB-downsampled past ``keep`` points, change points and
    regressions always kept), sample percentile bands, change points and regressions."""
    points, m = series.points, series.metric
    marked = {c["index"] for c in series.change_points}
    at = {p["result_id"]: i for i, p in enumerate(points)}
    marked |= {at[r["candidate_result_id"]] for r in series.regressions if r["candidate_result_id"] in at}
    drawn = np.arange(len(points))
    if len(points) > keep:
        values = np.array([p["value"] for p in points], dtype=float)
        drawn = np.union1d(lttb(np.arange(len(points), dtype=float), values, keep), sorted(marked))
    shown = [points[i] for i in drawn]
    x = _x(points, by)
    xs = [x[i] for i in drawn]
    data: list[dict[str, Any]] = []
    if series.has_bands:
        for name, column, fill in (("p99 of samples", "p99", None), ("p90 of samples", "p90", "tonexty")):
            data.append(
                {
                    "type": "scatter",
                    "mode": "lines",
                    "name": name,
                    "x": xs,
                    "y": [p[column] for p in shown],
                    "line": {"width": 0.5, "color": "rgba(31,119,180,0.4)"},
                    "fill": fill,
                    "fillcolor": "rgba(31,119,180,0.12)",
                    "hoverinfo": "skip",
                }
            )
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "name": "median of samples",
                "x": xs,
                "y": [p["p50"] for p in shown],
                "line": {"width": 1, "dash": "dot", "color": "#1f77b4"},
                "hoverinfo": "skip",
            }
        )
    data.append(
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": m.label,
            "x": xs,
            "y": [p["value"] for p in shown],
            "text": [_hover(p, m) for p in shown],
            "hoverinfo": "text",
            "marker": {"size": 5, "color": "#1f3b73"},
            "line": {"width": 1.5, "color": "#1f3b73"},
        }
    )
    flagged = [r for r in series.regressions if r["candidate_result_id"] in at]
    if flagged:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": "regressions found",
                "x": [x[at[r["candidate_result_id"]]] for r in flagged],
                "y": [r["candidate_value"] for r in flagged],
                "text": [
                    f"regression {r['regression_id']} ({r['status']}): {r['change_percent']:+.1f} % "
                    f"vs baseline {r['baseline_median']:.4g}"
                    + (f"<br>note: {r['note']}" if r["note"] else "")
                    for r in flagged
                ],
                "hoverinfo": "text",
                "marker": {
                    "size": 13,
                    "symbol": "x",
                    "color": ["#c0392b" if r["direction"] == "regression" else "#27ae60" for r in flagged],
                },
            }
        )
    shapes, notes = [], []
    for change in series.change_points:
        where = x[change["index"]]
        shapes.append(
            {"type": "line", "x0": where, "x1": where, "yref": "paper", "y0": 0, "y1": 1,
             "line": {"color": "#e67e22", "dash": "dash", "width": 1}}
        )  # fmt: skip
        notes.append(
            {"x": where, "yref": "paper", "y": 1.02, "showarrow": False, "font": {"size": 10, "color": "#e67e22"},
             "text": f"change {change['change_percent']:+.1f} %"}
        )  # fmt: skip
    for r in flagged:
        if r["status"] == "expected":  # the baseline restarts here
            where = x[at[r["candidate_result_id"]]]
            shapes.append(
                {"type": "line", "x0": where, "x1": where, "yref": "paper", "y0": 0, "y1": 1,
                 "line": {"color": "#27ae60", "width": 2}}
            )  # fmt: skip
            notes.append(
                {"x": where, "yref": "paper", "y": -0.12, "showarrow": False, "font": {"size": 10, "color": "#27ae60"},
                 "text": "baseline restarts" + (f": {r['note']}" if r["note"] else "")}
            )  # fmt: skip
    xaxis: dict[str, Any] = {
        "title": {"text": "measured at" if by == "time" else "results in order (commit)"}
    }
    if by == "commit":
        xaxis["type"] = "category"
    layout = {
        **_LAYOUT,
        "xaxis": xaxis,
        "yaxis": {"title": {"text": m.axis_label}},
        "shapes": shapes,
        "annotations": notes,
    }
    return {"data": data, "layout": layout}


def scaling_figure(rows: Sequence[dict], m: Metric) -> dict[str, Any]:
    """A model's value against batch size, one line per platform and precision."""
    lines: dict[str, dict[str, list]] = {}
    for row in rows:
        name = f"{row['platform_key'].rstrip('|').replace('|', ' · ')} {row['precision'] or ''}".strip()
        line = lines.setdefault(name, {"x": [], "y": []})
        line["x"].append(row["batch_size"])
        line["y"].append(row["value"])
    data = [{"type": "scatter", "mode": "lines+markers", "name": n, **xy} for n, xy in lines.items()]
    values = [row["value"] for row in rows if row["value"] and row["value"] > 0]
    wide = bool(values) and max(values) / min(values) >= LOG_SPAN  # machines apart by orders of magnitude
    layout = {
        **_LAYOUT,
        "xaxis": {"title": {"text": "batch size"}, "type": "log", "dtick": 0.30102999566},
        "yaxis": {"title": {"text": m.axis_label}, **({"type": "log"} if wide else {})},
    }
    return {"data": data, "layout": layout}
