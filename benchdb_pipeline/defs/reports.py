"""Report assets: the HTML report and its Markdown summary, the compatibility matrix, and
hardware comparison charts, written under $BENCHDB_REPORTS with a preview on the asset page.

Reports only read: each holds a read-only connection for its queries (a writer in another
process waits those out) and draws without one. They stay out of the writers' pool, so a run
ingesting new files never waits for charts. Plotting libraries load in the steps that draw,
not in every run process.
"""

from pathlib import Path

import dagster as dg

from benchdb_pipeline.config import reports_dir
from benchdb_pipeline.defs.links import dashboard
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline.reports import queries, selection
from benchdb_pipeline.reports.filters import METRICS, Filters
from benchdb_pipeline.reports.render import render

GROUP = "reports"
MAX_HARDWARE_CHARTS = 8


def _preview(markdown: str, chart_uri: str | None = None) -> dg.MetadataValue:
    image = f"\n\n![chart]({chart_uri})\n" if chart_uri else ""
    return dg.MetadataValue.md(markdown + image)


@dg.asset(
    group_name=GROUP,
    kinds={"html"},
    deps=[
        "performance_results",
        "hardware_compatibility",
        "integration_test_results",
        "web_platform_results",
        "quarantine",
    ],
)
def performance_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The self-contained HTML report and its Markdown summary for pull requests and CI."""
    from benchdb_pipeline.reports.report import build

    folder = reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    html_path, md_path = folder / "benchmark_report.html", folder / "benchmark_summary.md"
    with warehouse.get_connection(read_only=True) as con:
        report = build(con, Filters(), source=str(warehouse.address))
    html_path.write_text(report.html())
    summary = report.markdown(html_link=html_path.name)
    md_path.write_text(summary)
    context.log.info("wrote %s and %s", html_path, md_path)
    first_chart = next((c.uri for group in report.charts.values() for c in group), None)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(html_path.resolve())),
            "markdown_path": dg.MetadataValue.path(str(md_path.resolve())),
            "size_bytes": html_path.stat().st_size,
            "simulated_data": report.simulated,
            "preview": _preview(summary, first_chart),
            **dashboard("/ui"),
        }
    )


@dg.asset(group_name=GROUP, kinds={"png"}, deps=["hardware_compatibility"])
def compatibility_matrix(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Model × hardware compatibility heatmap, with the failures that explain it."""
    from benchdb_pipeline.reports import charts

    path = reports_dir() / "compatibility_matrix.png"
    with warehouse.get_connection(read_only=True) as con:
        result = queries.compatibility(con, Filters())
    failures = [r for r in result.rows if r[result.columns.index("is_compatible")] is False]
    table = (
        render(result.columns[:5], [r[:5] for r in failures[:20]], "markdown")
        if failures
        else "_no incompatibilities recorded_"
    )
    if not result.rows:
        context.log.info("no compatibility results yet; nothing drawn")
        return dg.MaterializeResult(metadata={"cells": 0, "preview": _preview(table)})
    charts.save(charts.compatibility_matrix(result), path)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path.resolve())),
            "cells": len(result.rows),
            "incompatible": len(failures),
            "preview": _preview(table, charts.data_uri(charts.compatibility_matrix(result))),
        }
    )


@dg.asset(group_name=GROUP, kinds={"png"}, deps=["performance_results"])
def hardware_comparison_charts(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Every model on each hardware type (those with the most measured results first):
    throughput where the type has it, else average latency; one test case and precision per
    chart, measured results before simulated ones, each chart captioned with what it shows; a
    type with neither metric is listed as left out."""
    from benchdb_pipeline.reports import charts

    folder = reports_dir() / "hardware"
    with warehouse.get_connection(read_only=True) as con:
        kinds = [
            r[0]
            for r in con.execute(
                "SELECT hardware_type FROM latest_performance_metrics GROUP BY 1 "
                "ORDER BY count(*) FILTER (WHERE NOT is_simulated) DESC, count(*) DESC, 1 LIMIT ?",
                [MAX_HARDWARE_CHARTS],
            ).fetchall()
        ]
        results = {}
        for kind in kinds:
            shows: list[str] = [f"hardware {kind}"]
            chosen = selection.narrowed(con, Filters(hardware=kind), shows)
            results[kind] = (
                selection.caption(shows),
                [(m, queries.compare(con, m, chosen)) for m in (METRICS["throughput"], METRICS["latency"])],
            )
    drawn: list[tuple[str, str, Path, str]] = []
    left_out: list[tuple[str, str]] = []
    first_uri = None
    for kind, (caption, candidates) in results.items():
        for metric, result in candidates:
            try:
                figure = charts.with_caption(charts.compare_models(result, metric, kind), caption)
            except (charts.NoData, charts.TooManySeries) as exc:
                reason = str(exc)
                continue
            path = charts.save(figure, folder / f"{metric.name}_{kind}.png")
            drawn.append((kind, metric.name, path, caption))
            first_uri = first_uri or charts.data_uri(figure)
            break
        else:
            left_out.append((kind, reason))
    context.log.info("wrote %d hardware comparison charts under %s", len(drawn), folder)
    for kind, reason in left_out:
        context.log.warning("no chart for hardware %s: %s", kind, reason)
    listing = (
        "\n".join(f"- {kind} ({metric}): `{path}`. {caption}" for kind, metric, path, caption in drawn)
        or "_no performance results yet_"
    )
    if left_out:
        listing += "\n\nLeft out:\n" + "\n".join(f"- {kind}: {reason}" for kind, reason in left_out)
    return dg.MaterializeResult(
        metadata={
            "charts": len(drawn),
            "left out": len(left_out),
            "folder": dg.MetadataValue.path(str(folder.resolve())),
            "preview": _preview(listing, first_uri),
        }
    )
