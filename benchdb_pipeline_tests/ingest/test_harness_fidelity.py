"""What real harness outputs contain, read right: complexity fits, pre-1.5 aggregates, huge
iteration counts, custom context, NaN, extra_info and params, failed runs.

Files are written by the real tools (pytest-benchmark, Google Benchmark's Python bindings
and Debian's C++ library, Debian's hyperfine); the pre-1.5 Google Benchmark layout is
written from its documented format, since no release that old installs here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.device_names import norm_device_name
from benchdb_pipeline.warehouse.inspect import quarantine_rows
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import query, run_pytest, scalar


def _run(command: list[str], cwd: Path | None = None) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=300, cwd=cwd)


def _stored(db: Path) -> dict[str, dict]:
    columns = (
        "test_case",
        "model_name",
        "batch_size",
        "precision",
        "average_latency_ms",
        "throughput_items_per_second",
        "iterations",
        "memory_peak_mb",
        "status",
        "metrics",
        "hardware_type",
        "device_name",
    )
    rows = query(
        db,
        f"SELECT {', '.join(columns)} FROM performance_results "
        "JOIN models USING (model_id) JOIN hardware_platforms USING (hardware_id)",
    )
    return {r[0]: dict(zip(columns, r, strict=True)) for r in rows}


def _ingested(db: Path, path: Path) -> dict[str, dict]:
    report = ingest(db, [path], workers=1)
    assert report.count("ingested") == 1, report.outcomes
    return _stored(db)


COMPLEXITY = """
import google_benchmark as benchmark

@benchmark.register
@benchmark.option.range_multiplier(2)
@benchmark.option.range(8, 64)
@benchmark.option.complexity(benchmark.oN)
def fill(state):
    while state:
        [0] * state.range(0)
    state.complexity_n = state.range(0)

if __name__ == "__main__":
    benchmark.main()
"""


def test_google_benchmark_complexity_rows_are_kept_as_the_familys_fit(tmp_path, db):
    script, out = tmp_path / "fill.py", tmp_path / "fill.json"
    script.write_text(COMPLEXITY)
    _run(
        [
            sys.executable,
            str(script),
            f"--benchmark_out={out}",
            "--benchmark_out_format=json",
            "--benchmark_min_time=0.005s",
            "--benchmark_context=model=list-fill,precision=int64",
        ]
    )
    doc = json.loads(out.read_text())
    assert {b.get("aggregate_name") for b in doc["benchmarks"]} >= {"BigO", "RMS"}
    stored = _ingested(db, out)
    assert set(stored) == {"fill/8", "fill/16", "fill/32", "fill/64"}
    for row in stored.values():
        fit = json.loads(row["metrics"])["complexity"]
        assert fit["big_o"] == "N" and "rms" in fit
        assert row["model_name"] == "list-fill"  # the custom context names the model
        assert row["precision"] == "int64"


NOOP = """
import google_benchmark as benchmark

@benchmark.register
def step(state):
    while state:
        pass

if __name__ == "__main__":
    benchmark.main()
"""


@pytest.mark.parametrize(
    ("context", "device"),
    [
        ("hardware=cuda,device=NVIDIA A100-SXM4-80GB", "NVIDIA A100-SXM4-80GB"),
        ("device=NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"),  # the name implies CUDA
        ("device=cuda:0,gpu_name=NVIDIA L4", "NVIDIA L4"),
    ],
)
def test_google_benchmark_context_naming_a_gpu_makes_a_cuda_platform(tmp_path, db, context, device):
    script, out = tmp_path / "step.py", tmp_path / "step.json"
    script.write_text(NOOP)
    _run(
        [
            sys.executable,
            str(script),
            f"--benchmark_out={out}",
            "--benchmark_out_format=json",
            "--benchmark_min_time=0.001s",
            f"--benchmark_context={context}",
        ]
    )
    host = json.loads(out.read_text())["context"]
    assert host["num_cpus"] >= 1 and "host_name" in host
    _ingested(db, out)
    platforms = query(
        db, "SELECT hardware_type, device_name, compute_units, host_name FROM hardware_platforms"
    )
    # The host's CPU count describes the CPU, not the GPU; the host name still says where it ran.
    assert platforms == [("cuda", device, None, host["host_name"])]


def test_google_benchmark_before_1_5_aggregates_are_not_benchmarks(tmp_path, db):
    """The pre-1.5 layout: aggregates as ``<name>_mean`` rows with no run_type."""
    reps = [
        {
            "name": "BM_infer/batch:8",
            "iterations": 1000,
            "real_time": t,
            "cpu_time": t,
            "time_unit": "us",
            "items_per_second": 8e6 / t,
        }
        for t in (10.0, 12.0, 11.0)
    ]
    aggregates = [
        {
            "name": f"BM_infer/batch:8_{kind}",
            "iterations": 3,
            "real_time": value,
            "cpu_time": value,
            "time_unit": "us",
        }
        for kind, value in (("mean", 11.0), ("median", 11.0), ("stddev", 1.0))
    ]
    path = tmp_path / "old.json"
    path.write_text(
        json.dumps(
            {
                "context": {
                    "date": "2019-03-01 10:00:00",
                    "num_cpus": 8,
                    "mhz_per_cpu": 3000,
                    "cpu_scaling_enabled": False,
                    "library_build_type": "release",
                },
                "benchmarks": reps + aggregates,
            }
        )
    )
    stored = _ingested(db, path)
    assert list(stored) == ["BM_infer/batch:8"]  # no _mean, _median or _stddev result
    row = stored["BM_infer/batch:8"]
    assert row["average_latency_ms"] == pytest.approx(0.011)
    assert row["batch_size"] == 8 and row["iterations"] == 3000
    # The mean aggregate has no items_per_second: the repetitions' mean stands in.
    assert row["throughput_items_per_second"] == pytest.approx(sum(8e6 / t for t in (10, 12, 11)) / 3)


CPP_BENCH = r"""
#include <benchmark/benchmark.h>
static void BM_noop(benchmark::State& state) {
  for (auto _ : state) { benchmark::ClobberMemory(); }
}
BENCHMARK(BM_noop)->MinTime(0.3);
int main(int argc, char** argv) {
  benchmark::AddCustomContext("model", "noop-loop");
  benchmark::AddCustomContext("commit", "0123abcd");
  benchmark::AddCustomContext("hardware", "cpu");
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
}
"""


@pytest.fixture(scope="module")
def cpp_benchmark(tmp_path_factory) -> Path:
    compiler = shutil.which("g++")
    header = Path("/usr/include/benchmark/benchmark.h")
    if compiler is None or not header.exists():
        pytest.skip("g++ and libbenchmark-dev (Debian) are needed; .ci/run installs them")
    folder = tmp_path_factory.mktemp("cpp")
    (folder / "bench.cc").write_text(CPP_BENCH)
    _run([compiler, "-O2", "bench.cc", "-o", "bench", "-lbenchmark", "-lpthread"], cwd=folder)
    out = folder / "noop.json"
    _run(
        [
            str(folder / "bench"),
            f"--benchmark_out={out}",
            "--benchmark_out_format=json",
            "--benchmark_repetitions=3",
        ]
    )
    return out


def test_billions_of_iterations_and_custom_context_from_the_cpp_library(cpp_benchmark, db):
    doc = json.loads(cpp_benchmark.read_text())
    reps = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
    total = sum(b["iterations"] for b in reps)
    stored = _ingested(db, cpp_benchmark)
    assert list(stored) == ["BM_noop/min_time:0.300"]  # not the _mean, _median … rows
    row = stored["BM_noop/min_time:0.300"]
    assert row["iterations"] == total
    assert row["model_name"] == "noop-loop"
    assert scalar(db, "SELECT git_commit FROM test_runs") == "0123abcd"
    if total <= 2**31:
        pytest.skip(f"this machine ran only {total:,} iterations; the BIGINT path is covered below")


def test_iterations_beyond_32_bits_fit(tmp_path, db):
    path = tmp_path / "many.json"
    path.write_text(
        json.dumps(
            {
                "context": {"num_cpus": 2},
                "benchmarks": [
                    {
                        "name": "BM_cheap",
                        "run_name": "BM_cheap",
                        "run_type": "iteration",
                        "iterations": 3_000_000_000,
                        "real_time": 0.3,
                        "cpu_time": 0.3,
                        "time_unit": "ns",
                    }
                ],
            }
        )
    )
    assert _ingested(db, path)["BM_cheap"]["iterations"] == 3_000_000_000


PYTEST_EXTRA = """
import pytest

def test_nan_accuracy(benchmark):
    benchmark.extra_info["accuracy"] = float("nan")
    benchmark(sum, range(10))

def test_user_latency(benchmark):
    benchmark.extra_info.update(latency_ms=0.0001, throughput=1e12, batch_size="8")
    benchmark(sum, range(10))

@pytest.mark.parametrize("precision,batch_size", [("fp16", 4)])
def test_params(benchmark, precision, batch_size):
    benchmark(sum, range(10))

def test_errored(benchmark):
    benchmark.extra_info["has_error"] = True
    benchmark(sum, range(10))
"""

OLD_CPUINFO = """
def pytest_benchmark_update_machine_info(config, machine_info):
    cpu = machine_info["cpu"]
    cpu["brand"] = cpu.pop("brand_raw")  # py-cpuinfo before 7 named it "brand"
"""


@pytest.fixture(scope="module")
def pytest_extra_file(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("extra")
    (folder / "test_extra.py").write_text(PYTEST_EXTRA)
    (folder / "conftest.py").write_text(OLD_CPUINFO)
    out = folder / "extra.json"
    run_pytest(folder, folder / "test_extra.py", f"--benchmark-json={out}")
    return out


def test_pytest_benchmark_extra_info_params_nan_and_errors(pytest_extra_file, db):
    raw = pytest_extra_file.read_text()
    assert "NaN" in raw  # Python's json wrote it; orjson alone would refuse the file
    doc = json.loads(raw)
    stored = _ingested(db, pytest_extra_file)
    stats = {b["name"]: b["stats"] for b in doc["benchmarks"]}
    user = stored["test_extra.py::test_user_latency"]
    # The harness measured these: the user's numbers go to metrics, untouched.
    assert user["average_latency_ms"] == pytest.approx(stats["test_user_latency"]["mean"] * 1000)
    assert user["throughput_items_per_second"] == pytest.approx(stats["test_user_latency"]["ops"] * 8)
    assert json.loads(user["metrics"])["extra_info"] == {"latency_ms": 0.0001, "throughput": 1e12}
    assert user["batch_size"] == 8
    params = stored["test_extra.py::test_params[fp16-4]"]
    assert (params["precision"], params["batch_size"]) == ("fp16", 4)
    assert stored["test_extra.py::test_errored"]["status"] == "failed"
    assert stored["test_extra.py::test_nan_accuracy"]["status"] == "ok"
    assert json.loads(stored["test_extra.py::test_nan_accuracy"]["metrics"]).get("accuracy") is None
    notes = json.loads(scalar(db, "SELECT metadata FROM test_runs"))["ingest_notes"]
    assert any("NaN" in note and "accuracy" in note for note in notes)
    # the device in its one spelling ("Intel(R) Xeon(R) Processor" is stored as "Intel Xeon")
    cpu = norm_device_name(doc["machine_info"]["cpu"]["brand"])
    assert {r["device_name"] for r in stored.values()} == {cpu}
    # A failed measurement is kept but is no latest value.
    assert scalar(db, "SELECT count(*) FROM latest_performance_metrics WHERE test_case LIKE '%errored%'") == 0


def test_nan_where_a_value_is_required_says_nan(tmp_path, db):
    path = tmp_path / "nan.json"
    path.write_text(
        '{"machine_info": {}, "benchmarks": [{"name": NaN, "fullname": "t", "stats": {"mean": 0.1}}]}'
    )
    report = ingest(db, [path], workers=1)
    assert report.count("quarantined") == 1
    assert "NaN" in report.quarantined[0].error and "not valid JSON" not in report.quarantined[0].error


def test_hyperfine_failed_runs_are_marked_failed(tmp_path, db):
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        pytest.skip("hyperfine (Debian) is needed; .ci/run installs it")
    out = tmp_path / "hf.json"
    _run([hyperfine, "-N", "-i", "--runs", "3", "--export-json", str(out), "false", "true"])
    stored = _ingested(db, out)
    assert stored["false"]["status"] == "failed" and stored["true"]["status"] == "ok"
    assert json.loads(stored["false"]["metrics"])["failed_runs"] == 3
    latest = {r[0] for r in query(db, "SELECT test_case FROM latest_performance_metrics")}
    assert latest == {"true"}


def test_hyperfine_memory_usage_becomes_peak_memory(tmp_path, db):
    """hyperfine 1.20 added memory_usage_byte (one peak RSS per run); Debian's is older, so
    the field is added to a real export as the newer release writes it."""
    hyperfine = shutil.which("hyperfine")
    if hyperfine is None:
        pytest.skip("hyperfine (Debian) is needed; .ci/run installs it")
    out = tmp_path / "hf.json"
    _run([hyperfine, "-N", "--runs", "2", "--export-json", str(out), "true"])
    doc = json.loads(out.read_text())
    doc["results"][0]["memory_usage_byte"] = [2_097_152, 3_145_728]
    out.write_text(json.dumps(doc))
    assert _ingested(db, out)["true"]["memory_peak_mb"] == pytest.approx(3.0)


def test_a_device_field_naming_a_gpu_is_a_device_name(tmp_path, db):
    path = tmp_path / "rows.json"
    path.write_text(
        json.dumps(
            [
                {
                    "model_name": "BERT-Base-Uncased",
                    "device": "NVIDIA A100-SXM4-80GB",
                    "batch_size": 1,
                    "average_latency_ms": 3.2,
                }
            ]
        )
    )
    stored = _ingested(db, path)
    row = next(iter(stored.values()))
    assert (row["hardware_type"], row["device_name"]) == ("cuda", "NVIDIA A100-SXM4-80GB")


@pytest.mark.parametrize(
    "doc, says",
    [
        (
            [{"name": "a", "value": 1}, {"name": "b", "value": 2}],
            "Its records resemble github_action_benchmark_custom but lack ['unit']",
        ),
        ([{"benchmark": "a.b", "mode": "avgt"}], "resemble jmh but lack ['primaryMetric']"),
        ({"context": {"num_cpus": 2}, "benchmarks": {"not": "a list"}}, "resembles google_benchmark"),
        ({"hello": "world"}, "Supported: pytest_benchmark, google_benchmark, hyperfine, pyperf"),
    ],
)
def test_an_unknown_format_says_what_is_supported_and_what_it_resembles(doc, says, tmp_path, db):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(doc))
    report = ingest(db, [path], workers=1)
    error = report.quarantined[0].error
    assert says in error and error.count("model_name is missing") == 0


def test_nan_in_a_required_measurement_refuses_that_record_only(tmp_path, db):
    path = tmp_path / "rows.json"
    rows = [
        {
            "model_name": "bert-base-uncased",
            "hardware_type": "cpu",
            "batch_size": 1,
            "throughput": float("nan"),
        },
        {"model_name": "bert-base-uncased", "hardware_type": "cpu", "batch_size": 2, "throughput": 50.0},
    ]
    path.write_text(json.dumps(rows))  # Python's json writes NaN as the bare word
    assert "NaN" in path.read_text()
    report = ingest(db, [path], workers=1)
    assert report.count("ingested") == 1 and report.quarantined == report.outcomes
    assert "NaN" in report.quarantined[0].error and "$[0]" in report.quarantined[0].error
    assert "of them with records quarantined" in report.summary()
    assert query(db, "SELECT batch_size FROM performance_results") == [(2,)]
    with session(db, read_only=True) as con:
        refused = quarantine_rows(con)  # what `benchdb quarantine` lists
    assert len(refused) == 1 and refused[0][1] == "$[0]" and "NaN" in refused[0][3]
