"""Sensor ticks on the incoming folder: cursor on what was seen, run keys, batches."""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest

from benchdb_pipeline.defs import sensors
from benchdb_pipeline.defs.resources import WarehouseResource
from benchdb_pipeline.defs.sensors import incoming_files_sensor
from benchdb_pipeline_tests.conftest import scalar
from benchdb_pipeline_tests.defs.test_ingestion_assets import ASSETS


def drop(folder, name, throughput=1.0):
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([{"model": "m", "hardware": "cpu", "throughput": throughput}]))
    return path


def settle():
    """Past the sensor's settle margin (0.2 s): files written before are whole."""
    time.sleep(0.3)


@pytest.fixture
def incoming(tmp_path, monkeypatch):
    folder = tmp_path / "incoming"
    folder.mkdir()
    monkeypatch.setenv("BENCHDB_INCOMING", str(folder))
    monkeypatch.setenv("BENCHDB_DB", str(tmp_path / "never-opened.duckdb"))
    return folder


def tick(instance, cursor=None):
    from benchdb_pipeline.definitions import defs

    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    result = incoming_files_sensor(context)
    return (result if isinstance(result, list) else []), context.cursor


def test_new_files_are_requested_once(incoming, tmp_path):
    drop(incoming, "a.json")
    drop(incoming, "sub/b.json")
    settle()
    with dg.instance_for_test() as instance:
        requests, cursor = tick(instance)
        assert len(requests) == 1
        paths = requests[0].run_config["ops"]["raw_result_files"]["config"]["paths"]
        assert [p.rsplit("/", 1)[-1] for p in paths] == ["a.json", "b.json"]
        assert len(cursor) < 80  # a high-water mark, not a listing
        assert tick(instance, cursor)[0] == []  # nothing new
        drop(incoming, "a.json", throughput=2.0)  # changed content, in place
        settle()
        again, _ = tick(instance, cursor)
        assert [r.run_config["ops"]["raw_result_files"]["config"]["paths"] for r in again] == [
            [str((incoming / "a.json").resolve())]
        ]
        assert again[0].run_key != requests[0].run_key
        selected = {key.to_user_string() for key in requests[0].asset_selection}
        assert {"raw_result_files", "performance_results", "performance_report", "regressions"} <= selected
        assert not selected & {"change_points", "anomalies", "performance_model"}  # nightly
    assert not (tmp_path / "never-opened.duckdb").exists()  # the sensor never opened it


def test_many_files_are_split_into_batches(incoming, monkeypatch):
    monkeypatch.setattr(sensors, "MAX_FILES_PER_RUN", 3)
    for i in range(7):
        drop(incoming, f"{i}.json")
    settle()
    with dg.instance_for_test() as instance:
        requests, _ = tick(instance)
    assert [len(r.run_config["ops"]["raw_result_files"]["config"]["paths"]) for r in requests] == [3, 3, 1]
    assert len({r.run_key for r in requests}) == 3


def test_a_requested_run_ingests_the_files(incoming, tmp_path):
    drop(incoming, "a.json", throughput=4.0)
    settle()
    db = tmp_path / "wh.duckdb"
    with dg.instance_for_test() as instance:
        (request,), _ = tick(instance)
        result = dg.materialize(
            ASSETS,
            run_config=request.run_config,
            instance=instance,
            resources={"warehouse": WarehouseResource(database=str(db))},
        )
    assert result.success
    assert scalar(db, "SELECT throughput_items_per_second FROM performance_results") == 4.0
