"""The benchmark-harness adapters, on files written by the real tools: pytest-benchmark,
Google Benchmark (its Python bindings) and hyperfine (Debian's)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchdb_pipeline.ingest.formats.google_benchmark import named_arguments
from benchdb_pipeline.ingest.parse import parse_bytes
from benchdb_pipeline.warehouse.device_names import norm_device_name
from benchdb_pipeline_tests.conftest import FIXTURES, REPO, debian_tool, ingest_one, query, run_pytest

PYTEST_BENCHMARK_TEST = """
import pytest

@pytest.mark.parametrize("n", [16, 256])
def test_sum(benchmark, n):
    benchmark.extra_info.update(batch_size=n, precision="fp32")
    benchmark(sum, range(n))

def test_sorted(benchmark):
    benchmark.extra_info["model"] = "python-sorted"
    benchmark(sorted, list(range(100, 0, -1)))
"""

GOOGLE_BENCHMARK_SCRIPT = """
import google_benchmark as benchmark

@benchmark.register
@benchmark.option.arg_names(["batch"])
@benchmark.option.arg(8)
@benchmark.option.arg(64)
def sum_list(state):
    data = list(range(state.range(0)))
    while state:
        sum(data)
    state.items_processed = state.iterations * state.range(0)

@benchmark.register
def no_device(state):
    while state:
        state.skip_with_error("no such device")
        break

if __name__ == "__main__":
    benchmark.main()
"""


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _results(db: Path) -> dict[str, dict]:
    columns = (
        "model_name",
        "test_case",
        "hardware_type",
        "device_name",
        "compute_units",
        "batch_size",
        "precision",
        "average_latency_ms",
        "latency_p50_ms",
        "latency_p99_ms",
        "throughput_items_per_second",
        "iterations",
        "measured_at",
        "result_id",
        "metrics",
    )
    rows = query(
        db,
        f"""
        SELECT {", ".join(columns)} FROM performance_results
        JOIN models USING (model_id) JOIN hardware_platforms USING (hardware_id)""",
    )
    return {row[1]: dict(zip(columns, row, strict=True)) for row in rows}


def _ingested(db: Path, path: Path) -> tuple[dict, dict[str, dict]]:
    """Ingest a harness's file; returns the file's document and the stored results by test case."""
    report = ingest_one(db, path)
    assert report.count("ingested") == 1, report.outcomes
    return json.loads(path.read_text()), _results(db)


def _written_by(command: list[str], out: Path, env: dict[str, str] | None = None) -> Path:
    subprocess.run(command, check=True, capture_output=True, timeout=300, env=env)
    return out


def _samples(db: Path, result_id: int) -> list[float]:
    return [
        r[0]
        for r in query(
            db,
            "SELECT latency_ms FROM performance_samples WHERE result_id = ? ORDER BY iteration",
            [result_id],
        )
    ]


# Older pytest-benchmark releases people still run, installed by `make harnesses` beside
# the pytest they need (3.x and 4.x do not run under pytest 8).
OLD_HARNESSES = REPO / ".venv" / "harnesses"


@pytest.fixture(scope="module", params=["installed", "4.0.0", "3.4.1"])
def pytest_benchmark_file(request, tmp_path_factory) -> Path:
    env = None
    if request.param != "installed":
        release = OLD_HARNESSES / f"pytest-benchmark-{request.param}"
        if not release.is_dir():
            pytest.skip(
                f"pytest-benchmark {request.param} is not installed at {release}: run `make harnesses`"
            )
        env = {**os.environ, "PYTHONPATH": str(release)}
    folder = tmp_path_factory.mktemp("pytest_benchmark")
    (folder / "test_speed.py").write_text(PYTEST_BENCHMARK_TEST)
    out = folder / "speed.json"
    run_pytest(
        folder,
        folder / "test_speed.py",
        "--benchmark-min-rounds=5",
        "--benchmark-max-time=0.02",
        f"--benchmark-json={out}",
        env=env,
    )
    if request.param != "installed":
        assert json.loads(out.read_text())["version"] == request.param
    return out


def test_pytest_benchmark_values_match_the_file(pytest_benchmark_file, db):
    doc, stored = _ingested(db, pytest_benchmark_file)
    assert len(stored) == len(doc["benchmarks"]) == 3
    cpu = doc["machine_info"]["cpu"]
    for bench in doc["benchmarks"]:
        row, stats = stored[bench["fullname"]], bench["stats"]
        assert row["average_latency_ms"] == pytest.approx(_ms(stats["mean"]))
        assert row["latency_p50_ms"] == pytest.approx(_ms(stats["median"]))
        assert _samples(db, row["result_id"]) == pytest.approx([_ms(s) for s in stats["data"]])
        assert row["iterations"] == stats["rounds"] * stats["iterations"]
        assert (row["hardware_type"], row["device_name"], row["compute_units"]) == (
            "cpu",
            norm_device_name(cpu["brand_raw"]),  # the device in its one spelling
            cpu["count"],
        )
        assert row["measured_at"].isoformat() == doc["datetime"].replace("+00:00", "")
        batch = bench["extra_info"].get("batch_size")
        assert row["batch_size"] == batch
        assert row["throughput_items_per_second"] == pytest.approx(stats["ops"] * (batch or 1))
    assert stored["test_speed.py::test_sorted"]["model_name"] == "python-sorted"
    assert stored["test_speed.py::test_sum[16]"]["model_name"] == "test_sum[16]"
    assert stored["test_speed.py::test_sum[16]"]["precision"] == "fp32"
    machine = json.loads(query(db, "SELECT metadata FROM test_runs")[0][0])["machine_info"]
    assert machine == doc["machine_info"]


@pytest.fixture(scope="module")
def google_benchmark_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("google_benchmark")
    script = folder / "bench.py"
    script.write_text(GOOGLE_BENCHMARK_SCRIPT)
    out = folder / "bench.json"
    return _written_by(
        [
            sys.executable,
            str(script),
            f"--benchmark_out={out}",
            "--benchmark_out_format=json",
            "--benchmark_repetitions=3",
            "--benchmark_min_time=0.01s",
        ],
        out,
    )


def test_google_benchmark_values_match_the_file(google_benchmark_file, db):
    doc, stored = _ingested(db, google_benchmark_file)
    assert set(stored) == {"sum_list/batch:8", "sum_list/batch:64"}
    for name, row in stored.items():
        rows = [b for b in doc["benchmarks"] if b["run_name"] == name]
        reps = [b for b in rows if b["run_type"] == "iteration"]
        mean = next(b for b in rows if b.get("aggregate_name") == "mean")
        median = next(b for b in rows if b.get("aggregate_name") == "median")
        assert {b["time_unit"] for b in rows} == {"ns"}
        assert _samples(db, row["result_id"]) == pytest.approx([b["real_time"] / 1e6 for b in reps])
        assert row["average_latency_ms"] == pytest.approx(mean["real_time"] / 1e6)
        assert row["latency_p50_ms"] == pytest.approx(median["real_time"] / 1e6)
        assert row["throughput_items_per_second"] == pytest.approx(mean["items_per_second"])
        assert row["iterations"] == sum(b["iterations"] for b in reps)
        assert row["batch_size"] == int(name.rsplit(":", 1)[1])
        assert row["model_name"] == "sum_list"
        assert row["compute_units"] == doc["context"]["num_cpus"]
        assert json.loads(row["metrics"])["cpu_time"] == pytest.approx(mean["cpu_time"])
    success, metadata = query(db, "SELECT success, metadata FROM test_runs")[0]
    assert success is False
    assert json.loads(metadata)["failed_benchmarks"] == {"no_device": "no such device"}


@pytest.fixture(scope="module")
def hyperfine_file(tmp_path_factory) -> Path:
    hyperfine = debian_tool("hyperfine", "hyperfine")
    folder = tmp_path_factory.mktemp("hyperfine")
    out = folder / "sleep.json"
    return _written_by(
        [
            hyperfine,
            "--runs",
            "4",
            "--warmup",
            "1",
            "-N",
            "--export-json",
            str(out),
            "-P",
            "batch_size",
            "1",
            "2",
            "sleep 0.00{batch_size}",
        ],
        out,
    )


def test_hyperfine_values_match_the_file(hyperfine_file, db):
    doc, stored = _ingested(db, hyperfine_file)
    assert len(stored) == 2
    for result in doc["results"]:
        row = stored[result["command"]]
        assert _samples(db, row["result_id"]) == pytest.approx([_ms(t) for t in result["times"]])
        assert row["average_latency_ms"] == pytest.approx(_ms(result["mean"]))
        assert row["latency_p50_ms"] == pytest.approx(_ms(result["median"]))
        assert row["latency_p99_ms"] <= _ms(result["max"]) + 1e-9
        assert row["batch_size"] == int(result["parameters"]["batch_size"])
        assert row["measured_at"] is None  # hyperfine records no date; nothing is invented
        assert row["throughput_items_per_second"] is None
        assert json.loads(row["metrics"])["exit_codes"] == [0]


def test_a_bad_harness_record_is_refused_with_its_place(tmp_path, db):
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"results": [{"command": "x", "times": [0.1, "slow"], "mean": 0.1}]}))
    report = ingest_one(db, path)
    assert report.count("quarantined") == 1
    assert "record $.results[0]" in report.quarantined[0].error
    assert "sample [1]" in report.quarantined[0].error


@pytest.mark.parametrize(
    "doc",
    [
        {"machine_info": {}, "benchmarks": [{"name": "t", "fullname": "t"}]},
        {"context": {}, "benchmarks": [{"name": "a", "real_time": 1, "time_unit": "fortnights"}]},
    ],
)
def test_harness_files_with_missing_or_unknown_fields_are_quarantined(doc, tmp_path, db):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    report = ingest_one(db, path)
    assert report.count("quarantined") == 1
    assert query(db, "SELECT count(*) FROM performance_results") == [(0,)]


def test_google_benchmark_named_arguments():
    assert named_arguments("BM_infer/batch:8/seq_len:128/threads:2") == {"batch": "8", "seq_len": "128"}
    assert named_arguments("BM_plain/64") == {}


def _leaf_paths(value: object, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _leaf_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value[:3]):
            found += _leaf_paths(item, (*path, index))
    return found


def _replaced(doc: object, path: tuple, value: object) -> object:
    if not path:
        return value
    copy = json.loads(json.dumps(doc))
    parent = copy
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return copy


WRONG_VALUES = (None, "x", [], {}, -1, True, 1e300, [None])


def test_a_value_of_the_wrong_type_anywhere_is_named_never_a_crash(google_benchmark_file, hyperfine_file):
    """Each field of real harness output and of every fixture, set to a value of each wrong
    type: the file goes in or is refused with its reason, never with an exception that no
    adapter foresaw (a TypeError from deep inside)."""
    files = [google_benchmark_file, hyperfine_file, *sorted(FIXTURES.glob("*.json"))]
    crashes = []
    for file in files:
        try:
            doc = json.loads(file.read_text())
        except ValueError:
            continue  # the fixture that is not JSON
        paths = _leaf_paths(doc)
        for path in paths[:: max(1, len(paths) // 60)]:
            for value in WRONG_VALUES:
                parsed = parse_bytes(json.dumps(_replaced(doc, path, value)).encode(), file.name)
                if parsed.error and ("cannot read" in parsed.error or "could not be read" in parsed.error):
                    crashes.append((file.name, path, value, parsed.error))
    assert not crashes, crashes[:5]
