"""A regression check's findings as a table, JSON, or Markdown for a pull-request comment."""

from __future__ import annotations

from dataclasses import asdict

import orjson

from benchdb_pipeline.analytics.regressions import CheckReport, Finding
from benchdb_pipeline.reports.filters import METRICS
from benchdb_pipeline.reports.render import render

COLUMNS = ["id", "series", "metric", "baseline", "candidate", "change", "verdict", "evidence", "status"]


def _evidence(f: Finding) -> str:
    if f.method == "robust-z":
        return f"robust z={f.statistic:+.1f}"
    return f"low confidence ({f.baseline_points} baseline points)"


def _rows(report: CheckReport) -> list[list[object]]:
    rows: list[list[object]] = []
    for f in report.findings:
        unit = METRICS[f.metric].unit
        rows.append(
            [
                f.regression_id,
                f.series,
                f.metric,
                f"{f.baseline_median:.4g} {unit} (n={f.baseline_points})",
                f"{f.candidate_value:.4g} {unit}",
                f"{f.change_percent:+.1f}%",
                f"{f.severity} {f.direction}",
                _evidence(f),
                f.status,
            ]
        )
    return rows


def headline(report: CheckReport) -> str:
    regressions = len(report.regressions)
    improvements = sum(f.direction == "improvement" and f.confident for f in report.findings)
    unsure = sum(not f.confident for f in report.findings)
    commit = f" (commit {report.git_commit})" if report.git_commit else ""
    return (
        f"Run {report.run_id} '{report.run_name}'{commit}: {report.series} results checked "
        f"against {report.baseline}; {regressions} regression{'s' * (regressions != 1)}, "
        f"{improvements} improvement{'s' * (improvements != 1)}, {unsure} low-confidence change"
        f"{'s' * (unsure != 1)}."
    )


def format_report(report: CheckReport, fmt: str) -> str:
    if fmt == "json":
        return orjson.dumps(
            {
                "run_id": report.run_id,
                "run_name": report.run_name,
                "git_commit": report.git_commit,
                "started_at": report.started_at,
                "baseline": report.baseline,
                "series_checked": report.series,
                "comparisons": report.compared,
                "regressions": len(report.regressions),
                "findings": [{**asdict(f), "confident": f.confident} for f in report.findings],
            },
            option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS,
            default=str,
        ).decode()
    if fmt == "markdown":
        verdict = "❌ regressions found" if report.regressions else "✅ no regressions"
        lines = [f"### Benchmark regression check: {verdict}", "", headline(report), ""]
        if report.findings:
            lines.append(render(COLUMNS, _rows(report), "markdown", max_cell=None))
        return "\n".join(lines)
    return headline(report) + (
        "\n" + render(COLUMNS, _rows(report), "table", max_cell=None) if report.findings else ""
    )
