"""Analytics assets: the regression check of the newest run, a check that warns while
regressions wait for triage, and a sensor that sends an alert when new ones appear."""

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

import dagster as dg

from benchdb_pipeline.analytics import regressions as regression_check
from benchdb_pipeline.analytics.output import format_report, headline
from benchdb_pipeline.config import reports_dir
from benchdb_pipeline.defs.links import dashboard
from benchdb_pipeline.defs.resources import WAREHOUSE_POOL, WarehouseResource
from benchdb_pipeline.errors import QueryError

GROUP = "analytics"
ALERT_FILE = "regression_alert.md"


@dg.asset(
    group_name=GROUP,
    pool=WAREHOUSE_POOL,
    kinds={"duckdb"},
    deps=["performance_results", "performance_samples"],
)
def regressions(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The newest run checked against the previous 10 results of each series; findings are
    recorded in performance_regressions for triage."""
    with warehouse.get_connection() as con:
        try:
            report = regression_check.check(con)
        except QueryError as exc:  # no performance results yet
            context.log.info(str(exc))
            return dg.MaterializeResult(metadata={"new_regressions": 0, "checked_run": "none"})
        added = regression_check.store(con, report)
    new = [f for f in report.regressions if f.status == "untriaged"]
    context.log.info(headline(report))
    return dg.MaterializeResult(
        metadata={
            "checked_run": report.run_id,
            "series_checked": report.series,
            "regressions": len(report.regressions),
            "new_regressions": len(new) if added else 0,
            "summary": dg.MetadataValue.md(format_report(report, "markdown")),
            **dashboard(f"/ui/regressions?status=all#alert-run-{report.run_id}"),
        }
    )


@dg.asset_check(
    asset=regressions,
    pool=WAREHOUSE_POOL,
    blocking=False,
    description="Warns while confident regressions wait for triage.",
)
def untriaged_regressions(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.get_connection(read_only=True) as con:
        rows = con.execute("""
            SELECT regression_id, model_name, platform_key, metric, round(change_percent, 1)
            FROM performance_regressions
            WHERE status = 'untriaged' AND direction = 'regression' AND method <> 'low-confidence'
            ORDER BY regression_id""").fetchall()
    listing = "\n".join(f"- #{i} {m} on {p.rstrip('|')}: {metric} {c:+}%" for i, m, p, metric, c in rows)
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{len(rows)} untriaged regressions; triage with `benchdb regressions ack ID`"
        if rows
        else "no untriaged regressions",
        metadata={
            "untriaged": len(rows),
            "list": dg.MetadataValue.md(listing or "_none_"),
            **dashboard("/ui/regressions"),
        },
    )


def send_alert(summary: str, webhook: str | None, folder: Path) -> Path:
    """Write the alert summary under the reports folder and POST it to the webhook, if any."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / ALERT_FILE
    path.write_text(summary)
    if webhook:
        request = urllib.request.Request(
            webhook,
            data=json.dumps({"text": summary}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    return path


@dg.asset_sensor(
    asset_key=dg.AssetKey("regressions"),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def regression_alert_sensor(context: dg.SensorEvaluationContext, asset_event: dg.EventLogEntry):
    """When a regression check records new regressions, alert: a Markdown summary under
    $BENCHDB_REPORTS, and a POST to $BENCHDB_ALERT_WEBHOOK when set. Reads the check's
    metadata from Dagster's event log, never the warehouse."""
    materialization = asset_event.asset_materialization
    metadata = materialization.metadata if materialization else {}
    new = metadata.get("new_regressions")
    if not new or not new.value:
        return dg.SkipReason("no new regressions")
    summary = str(metadata["summary"].value)
    path = send_alert(summary, os.environ.get("BENCHDB_ALERT_WEBHOOK"), reports_dir())
    return dg.SkipReason(f"alerted on {new.value} new regressions ({path})")


def _analysis(context: dg.AssetExecutionContext, warehouse: WarehouseResource, name: str):
    from benchdb_pipeline.analytics.analyze import analyze

    folder = reports_dir() / "analysis"
    with warehouse.get_connection(read_only=True) as con:
        written = analyze(con, (name,), folder / name, step=context.log.info)
    summary = written[-1].read_text()
    context.log.info("wrote %d files under %s", len(written), folder / name)
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str((folder / name).resolve())),
            "files": len(written),
            "summary": dg.MetadataValue.md(summary),
        }
    )


@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"csv"}, deps=["performance_results"])
def change_points(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Where each series' level moved and stayed moved (steps and slow drifts), with charts.
    Holds a read-only connection while it reads every series, so it is in the pool."""
    return _analysis(context, warehouse, "change-points")


@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"csv"}, deps=["performance_results"])
def anomalies(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Single results far from the trailing window of their series."""
    return _analysis(context, warehouse, "anomaly-detection")


@dg.asset(group_name=GROUP, pool=WAREHOUSE_POOL, kinds={"sklearn"}, deps=["performance_results"])
def performance_model(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """One fitted model per metric (throughput, latency, memory), each saved under
    $BENCHDB_REPORTS/models with its version and training-data hash, after grouped
    cross-validation against the naive baseline; a metric with too few configurations has
    no model (one saved earlier is removed)."""
    from benchdb_pipeline.analytics import prediction

    metrics = ("throughput", "latency", "memory")
    with warehouse.get_connection(read_only=True) as con:  # read once, fit after closing
        frames = {m: prediction.training_frame(con, m, include_simulated=True) for m in metrics}
    metadata: dict[str, Any] = {}
    summaries = []
    for metric, frame in frames.items():
        try:
            evaluation = prediction.evaluate(frame, metric, step=context.log.info)
        except QueryError as exc:
            # An earlier warehouse's model would answer for this one: remove it.
            (reports_dir() / "models" / f"{metric}.joblib").unlink(missing_ok=True)
            summaries.append(f"- {metric}: {exc}")
            continue
        context.log.info("%s: fitting the model and its interval on %d configurations", metric, len(frame))
        fitted = prediction.fit(frame, metric)
        fitted.save(reports_dir() / "models" / f"{metric}.joblib")
        summaries.append(f"- {evaluation.summary()}")
        metadata[f"{metric}_mape_percent"] = round(evaluation.mape, 2)
        metadata[f"{metric}_baseline"] = evaluation.naive
        metadata[f"{metric}_baseline_mape_percent"] = round(evaluation.naive_mape, 2)
        metadata[f"{metric}_beats_baseline"] = evaluation.beats_baseline
        metadata[f"{metric}_interval_coverage_percent"] = round(100 * evaluation.coverage, 1)
        metadata[f"{metric}_training_data_sha256"] = fitted.data_hash
    context.log.info("\n".join(summaries))
    return dg.MaterializeResult(
        metadata={
            **metadata,
            "folder": dg.MetadataValue.path(str((reports_dir() / "models").resolve())),
            "summary": dg.MetadataValue.md("\n".join(summaries)),
        }
    )


@dg.asset(group_name=GROUP, kinds={"csv"}, deps=[performance_model])
def performance_predictions(context: dg.AssetExecutionContext):
    """Every untested configuration, predicted by each saved model with an 80 % interval
    and its nearest measured configurations."""
    from benchdb_pipeline.analytics import prediction

    folder = reports_dir() / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    counts = {}
    for model_path in sorted((reports_dir() / "models").glob("*.joblib")):
        fitted = prediction.PerformanceModel.load(model_path)
        gaps = prediction.untested(fitted.training)
        predicted = fitted.predict_with_neighbours(gaps) if len(gaps) else gaps
        predicted.to_csv(folder / f"predictions_{fitted.metric}.csv", index=False)
        counts[fitted.metric] = len(predicted)
    context.log.info("predicted untested configurations: %s", counts)
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(folder.resolve())),
            **{f"{metric}_predictions": n for metric, n in counts.items()},
        }
    )
