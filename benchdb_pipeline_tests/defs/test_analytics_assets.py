"""The regression asset, its triage check, and the alert sensor with a real webhook."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg

from benchdb_pipeline.defs.analytics import (
    anomalies,
    change_points,
    performance_model,
    performance_predictions,
    regression_alert_sensor,
    regressions,
    untriaged_regressions,
)
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.analytics.test_regressions import series_row, write_runs


class Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers["Content-Length"])
        Receiver.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def regressed_warehouse(tmp_path):
    runs = [[series_row(0, throughput=100.0 + i % 3)] for i in range(8)] + [[series_row(0, throughput=70.0)]]
    write_runs(tmp_path / "runs", runs)
    db = tmp_path / "wh.duckdb"
    ingest(db, [tmp_path / "runs"], workers=1)
    return db


def test_regressions_asset_check_and_alert(tmp_path, monkeypatch):
    db = regressed_warehouse(tmp_path)
    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("BENCHDB_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    monkeypatch.setenv("BENCHDB_DASHBOARD_URL", "https://bench.example.org/")
    try:
        with dg.instance_for_test() as instance:
            result = dg.materialize(
                [regressions, untriaged_regressions],
                instance=instance,
                resources={"warehouse": WarehouseResource(database=str(db))},
                selection=[regressions],
            )
            assert result.success
            meta = result.asset_materializations_for_node("regressions")[0].metadata
            assert meta["new_regressions"].value == 1
            assert "regressions found" in meta["summary"].value
            run = meta["checked_run"].value
            assert (
                meta["dashboard"].value
                == f"https://bench.example.org/ui/regressions?status=all#alert-run-{run}"
            )
            (evaluation,) = result.get_asset_check_evaluations()
            assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.WARN
            assert evaluation.metadata["dashboard"].value == "https://bench.example.org/ui/regressions"

            outcome = list(regression_alert_sensor(dg.build_sensor_context(instance=instance)))
            assert "alerted on 1 new regressions" in outcome[0].skip_message
    finally:
        server.shutdown()
    alert = (tmp_path / "reports" / "regression_alert.md").read_text()
    assert "throughput" in alert and "regressions found" in alert
    assert Receiver.received and "regressions found" in Receiver.received[-1]["text"]


def test_analysis_assets_write_their_results(tmp_path, monkeypatch):
    db = regressed_warehouse(tmp_path)
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    result = dg.materialize(
        [change_points, anomalies], resources={"warehouse": WarehouseResource(database=str(db))}
    )
    assert result.success
    for name, folder in (("change_points", "change-points"), ("anomalies", "anomaly-detection")):
        meta = result.asset_materializations_for_node(name)[0].metadata
        assert meta["summary"].value.startswith("## Benchmark analysis")
        assert (tmp_path / "reports" / "analysis" / folder / "summary.md").exists()


def test_performance_model_and_predictions(tmp_path, monkeypatch):
    from benchdb_pipeline.warehouse import synthetic
    from benchdb_pipeline.warehouse.store import session

    db = tmp_path / "syn.duckdb"
    with session(db) as con:
        synthetic.fill(con, synthetic.Shape(models=3, platforms=3, runs=1))
        con.execute(
            "DELETE FROM performance_results WHERE model_id = (SELECT min(model_id) FROM models) "
            "AND batch_size = 8"
        )
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    result = dg.materialize(
        [performance_model, performance_predictions],
        resources={"warehouse": WarehouseResource(database=str(db))},
    )
    assert result.success
    model = result.asset_materializations_for_node("performance_model")[0].metadata
    for metric in ("throughput", "latency", "memory"):
        assert len(model[f"{metric}_training_data_sha256"].value) == 64
    # Synthetic results follow a power law in batch size, which the power-law baseline fits
    # as well as the model: the comparison is reported, whichever way it goes.
    assert model["throughput_beats_baseline"].value is (
        model["throughput_mape_percent"].value < model["throughput_baseline_mape_percent"].value
    )
    assert model["throughput_baseline"].value in ("nearest batch", "power law")
    assert 50 <= model["throughput_interval_coverage_percent"].value <= 100
    predictions = result.asset_materializations_for_node("performance_predictions")[0].metadata
    assert predictions["throughput_predictions"].value == 3 * 2  # batch 8 on 3 platforms × 2 precisions
    written = (tmp_path / "reports" / "analysis" / "predictions_latency.csv").read_text()
    assert "nearest_measured" in written.splitlines()[0] and "interval_low" in written


def test_a_warehouse_too_small_to_model_predicts_nothing_from_an_earlier_model(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHDB_REPORTS", str(tmp_path / "reports"))
    stale = tmp_path / "reports" / "models" / "throughput.joblib"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a model fitted on another warehouse")
    result = dg.materialize(
        [performance_model, performance_predictions],
        resources={"warehouse": WarehouseResource(database=str(regressed_warehouse(tmp_path)))},
    )
    assert result.success
    assert not stale.exists()
    model = result.asset_materializations_for_node("performance_model")[0].metadata
    assert "too few to evaluate" in model["summary"].value
    predictions = result.asset_materializations_for_node("performance_predictions")[0].metadata
    assert not any(key.endswith("_predictions") for key in predictions)
