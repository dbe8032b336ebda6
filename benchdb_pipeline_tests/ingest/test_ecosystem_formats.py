"""Other tools' result files, as those tools write them: made here with the real tool where it
installs (pyperf, `go test -bench`), else as their authors published them (see
format_fixtures/SOURCES.md). Each lands in the right columns, units and samples."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchdb_pipeline.ingest.discovery import discover
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.conftest import FORMAT_FIXTURES, debian_tool, query

ECOSYSTEM = FORMAT_FIXTURES
RESULTS = """
    SELECT m.display_name, p.test_case, h.hardware_type, h.device_name, p.average_latency_ms,
           p.throughput_items_per_second, p.metrics, p.measured_at,
           (SELECT list(latency_ms ORDER BY iteration) FROM performance_samples s WHERE s.result_id = p.result_id)
    FROM performance_results p JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
    ORDER BY p.result_id"""


def stored(tmp_path: Path, *files: Path) -> tuple[list[dict], list[str]]:
    """Each result of the files as a dict, and the formats the ledger recorded."""
    db = tmp_path / "w.duckdb"
    report = ingest(db, list(files), workers=1)
    assert not report.quarantined, [o.error for o in report.quarantined]
    columns = [
        "model",
        "test_case",
        "hardware",
        "device",
        "latency_ms",
        "throughput",
        "metrics",
        "measured_at",
        "samples",
    ]
    rows = [dict(zip(columns, row, strict=True)) for row in query(db, RESULTS)]
    for row in rows:
        row["metrics"] = json.loads(row["metrics"]) if row["metrics"] else {}
    return rows, [f for (f,) in query(db, "SELECT format FROM source_files ORDER BY file_id")]


def test_bencher_metric_format(tmp_path):
    rows, formats = stored(tmp_path, ECOSYSTEM / "bmf.json")
    assert formats == ["bencher_metric_format"]
    named = {row["test_case"]: row for row in rows}
    bench = named["benchmark_name"]
    assert bench["latency_ms"] == pytest.approx(88.0e-6)  # latency is in nanoseconds
    assert bench["throughput"] == pytest.approx(5.55)  # operations per second
    assert bench["metrics"]["bounds"]["latency"] == {"lower_value": 87.42, "upper_value": 88.88, "unit": "ns"}
    build = named["/bin/sh -c ./my_build_script.sh"]
    assert build["latency_ms"] is None and build["metrics"]["measures"]["build-time"] == {
        "value": 87.0,
        "unit": "s",
    }
    assert named["my_binary"]["metrics"]["measures"]["file-size"] == {"value": 42.0, "unit": "B"}
    assert {row["hardware"] for row in rows} == {"cpu"}


def test_github_action_benchmark_custom_json(tmp_path):
    rows, formats = stored(
        tmp_path,
        ECOSYSTEM / "customSmallerIsBetter_output2.json",
        ECOSYSTEM / "customBiggerIsBetter_output.json",
    )
    assert formats == ["github_action_benchmark_custom"] * 2
    named = {row["test_case"]: row for row in rows}
    assert named["No instrumentation"]["latency_ms"] == pytest.approx(90.9439e-6)
    assert named["No instrumentation"]["metrics"]["details"] == {"ns": {"range": 0.519165}}
    assert named["Binary file"]["latency_ms"] == pytest.approx(3886.75e-6)
    assert named["My Custom Bigger Is Better Benchmark - Throughput"]["throughput"] == 70.0
    memory = named["My Custom Bigger Is Better Benchmark - Free Memory"]
    # a unit benchdb does not model is kept with its value, not refused and not guessed at
    assert memory["metrics"]["measures"] == {
        "My Custom Bigger Is Better Benchmark - Free Memory": {"value": 150.0, "unit": "Megabytes"}
    }
    assert memory["latency_ms"] is None and memory["throughput"] is None


def test_jmh_json(tmp_path):
    (row,), formats = stored(tmp_path, ECOSYSTEM / "jmh_output.json")
    assert formats == ["jmh"]
    assert row["model"] == "org.openjdk.jmh.samples.JMHSample_01_HelloWorld.wellHelloThere"
    assert row["throughput"] == pytest.approx(3.3762388731228185e9)  # thrpt, ops/s
    assert row["metrics"]["mode"] == "thrpt" and row["metrics"]["score_error"] == pytest.approx(
        1.4287985743935993e7
    )
    assert row["metrics"]["raw_scores"] == [3.376842765688582e9, 3.37651988895058e9, 3.375353964729294e9]


def test_jmh_average_time_with_parameters(tmp_path):
    """avgt in us/op: the latency and its raw samples; a parameter named like a column fills it,
    the others keep series of different parameters apart."""
    doc = json.loads((ECOSYSTEM / "jmh_output.json").read_text())
    entry = doc[0]
    entry.update(mode="avgt", params={"batch_size": "8", "size": "1024"})
    entry["primaryMetric"].update(score=12.5, scoreUnit="us/op", rawData=[[12.0, 13.0], [12.4, 12.6]])
    path = tmp_path / "jmh_avgt.json"
    path.write_text(json.dumps(doc))
    (row,), _ = stored(tmp_path, path)
    assert row["latency_ms"] == pytest.approx(0.0125) and row["samples"] == pytest.approx(
        [0.012, 0.013, 0.0124, 0.0126]
    )
    assert row["test_case"].endswith("wellHelloThere[size=1024]")
    assert query(tmp_path / "w.duckdb", "SELECT batch_size FROM performance_results") == [(8,)]


def test_benchmarkdotnet_json(tmp_path):
    (row,), formats = stored(tmp_path, ECOSYSTEM / "benchmarkdotnet.json")
    assert formats == ["benchmarkdotnet"]
    assert row["model"] == "Fantomas.Benchmarks.Runners+CodePrinterTest.Format"
    assert row["latency_ms"] == pytest.approx(47470178082.2e-6)  # nanoseconds per operation
    assert row["samples"] == pytest.approx(
        [v * 1e-6 for v in (48016226159, 46011386499, 46951833349, 46910122331, 49461322073)]
    )
    assert row["device"] == "Intel Core i7-7820HQ CPU 2.90GHz (Kaby Lake)"
    assert str(row["measured_at"]) == "2020-05-29 12:58:17"  # from the title's time stamp
    assert row["metrics"]["measures"]["BytesAllocatedPerOperation"] == {"value": 23405419512, "unit": "B/op"}
    (platform,) = query(tmp_path / "w.duckdb", "SELECT platform_key, platform FROM hardware_platforms")
    assert "cores=8" in platform[0] and platform[1].startswith("macOS Catalina")


def test_pyperf_made_here(tmp_path):
    out = tmp_path / "timeit.json"
    subprocess.run(
        [sys.executable, "-m", "pyperf", "timeit", "--quiet", "-p", "2", "-n", "3", "-w", "1", "-l", "100",
         "-o", str(out), "sorted(range(50))"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    written = json.loads(out.read_text())
    values = [v for run in written["benchmarks"][0]["runs"] for v in run.get("values", [])]
    (row,), formats = stored(tmp_path, out)
    assert formats == ["pyperf"] and len(values) == 6
    assert row["samples"] == pytest.approx([v * 1000 for v in values])  # seconds, per loop
    assert row["latency_ms"] == pytest.approx(sum(values) / len(values) * 1000)
    assert row["measured_at"] is not None
    (host,) = query(tmp_path / "w.duckdb", "SELECT host_name, compute_units FROM hardware_platforms")
    assert host == (written["metadata"]["hostname"], written["metadata"]["cpu_count"])


GO_BENCHMARKS = """package benchdemo

import (
	"fmt"
	"strings"
	"testing"
)

func BenchmarkSprintf(b *testing.B) {
	for i := 0; i < b.N; i++ {
		_ = fmt.Sprintf("%d", i)
	}
}

func BenchmarkJoin(b *testing.B) {
	parts := []string{"a", "b", "c", "d"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = strings.Join(parts, ",")
	}
	b.ReportMetric(4, "parts/op")
}
"""


def go_bench_output(folder: Path) -> Path:
    """`go test -bench` output of a small module (stdlib only: no network), -count 2."""
    go = debian_tool("go", "golang-go")
    module = folder / "gomod"
    module.mkdir()
    (module / "go.mod").write_text("module example.com/benchdemo\n\ngo 1.19\n")
    (module / "bench_test.go").write_text(GO_BENCHMARKS)
    env = {
        **os.environ,
        "GOCACHE": str(folder / "gocache"),
        "GOPATH": str(folder / "gopath"),
        "GOFLAGS": "-mod=mod",
    }
    done = subprocess.run(
        [go, "test", "-run", "^$", "-bench", ".", "-benchmem", "-count", "2", "-benchtime", "500x"],
        cwd=module, env=env, capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    out = folder / "go_bench.txt"
    out.write_text(done.stdout)
    shutil.rmtree(module)
    return out


def test_go_test_bench_made_here(tmp_path):
    out = go_bench_output(tmp_path)
    lines = [line.split() for line in out.read_text().splitlines() if line.startswith("Benchmark")]
    rows, formats = stored(tmp_path, out)
    assert formats == ["go_test_bench"] and len(rows) == 2
    join = next(row for row in rows if row["model"] == "BenchmarkJoin")
    nanoseconds = [float(line[2]) for line in lines if line[0].startswith("BenchmarkJoin")]
    assert join["samples"] == pytest.approx([v * 1e-6 for v in nanoseconds])  # each -count line, ns/op
    assert join["metrics"]["parts/op"] == 4.0 and "B/op" in join["metrics"] and "allocs/op" in join["metrics"]
    assert join["test_case"] == "example.com/benchdemo" and join["hardware"] == "cpu"


def test_a_folder_mixing_formats_is_read_whole_and_reported_per_format(tmp_path):
    folder = tmp_path / "mixed"
    shutil.copytree(ECOSYSTEM, folder, ignore=shutil.ignore_patterns("declared"))  # a format of its own
    (folder / "notes.txt").write_text("release notes, not results\n")
    (folder / "run.log").write_text("goos: linux\nBenchmarkX-2  100  5.0 ns/op\nPASS\n")
    found = discover([folder])
    assert found.skipped_text == 1 and str(folder / "run.log") in found  # read by its content
    report = ingest(tmp_path / "w.duckdb", found, workers=1)
    assert not report.quarantined
    assert report.by_format() == {
        "benchmarkdotnet": (1, 1),
        "bencher_metric_format": (1, 3),
        "github_action_benchmark_custom": (2, 6),
        "go_test_bench": (1, 1),
        "jmh": (1, 1),
        "mlperf_loadgen_summary": (1, 1),
        "mlperf_system_description": (1, 1),
        "cargo_bench_libtest": (2, 7),
        "cargo_criterion": (1, 1),
        "optimum_benchmark": (1, 2),
        "catch2_xml": (1, 3),
        "vitest_bench": (1, 2),
    }


def test_text_that_is_no_known_format_is_refused_saying_so(tmp_path):
    path = tmp_path / "results.json"
    path.write_text("BenchmarkLike output but not quite\n")
    report = ingest(tmp_path / "w.duckdb", [path], workers=1)
    (refused,) = report.quarantined
    assert "not valid JSON" in refused.error and "nor a known text format (go_test_bench" in refused.error


MLPERF = ECOSYSTEM / "mlperf_submission"
LOADGEN_RUN = """
import array, sys
import mlperf_loadgen as lg

def issue(samples):
    buffers, responses = [], []
    for sample in samples:
        sum(range(2000))  # the work of one sample
        data = array.array("B", [0])
        buffers.append(data)
        responses.append(lg.QuerySampleResponse(sample.id, data.buffer_info()[0], 1))
    lg.QuerySamplesComplete(responses)

settings = lg.TestSettings()
settings.scenario = lg.TestScenario.SingleStream
settings.mode = lg.TestMode.PerformanceOnly
settings.min_duration_ms = 500
settings.min_query_count = 100
out = lg.LogOutputSettings()
out.outdir = sys.argv[1]
log = lg.LogSettings()
log.log_output = out
sut = lg.ConstructSUT(issue, lambda: None)
qsl = lg.ConstructQSL(256, 64, lambda s: None, lambda s: None)
lg.StartTestWithLogSettings(sut, qsl, settings, log)
lg.DestroyQSL(qsl)
lg.DestroySUT(sut)
"""


def test_mlperf_summary_of_a_published_submission(tmp_path):
    rows, formats = stored(tmp_path, MLPERF)
    assert sorted(formats) == ["mlperf_loadgen_summary", "mlperf_system_description"]
    (row,) = rows
    assert (row["model"], row["test_case"], row["hardware"], row["device"]) == (
        "gptj-99", "Offline", "cuda", "NVIDIA GeForce RTX 4090"
    )  # fmt: skip
    assert row["throughput"] == pytest.approx(0.709659) and row["latency_ms"] == pytest.approx(1409.128381)
    assert row["metrics"]["result"] == "VALID"
    assert row["metrics"]["measures"]["Tokens per second (inferred)"] == {"value": 48.9664, "unit": "1/s"}
    assert row["metrics"]["parameters"]["performance_sample_count"] == "13368"
    (platform,) = query(
        tmp_path / "w.duckdb", "SELECT platform_key, accelerator_count, host_name FROM hardware_platforms"
    )
    assert platform == ("cuda|NVIDIA GeForce RTX 4090|mem_gb=24|accelerators=1", 1, "gh_action")


def test_mlperf_loadgen_run_here(tmp_path):
    pytest.importorskip(
        "mlperf_loadgen",
        reason="mlcommons-loadgen is not installed: it comes with the dev extra (make test installs it)",
    )
    root = tmp_path / "submission"
    run = root / "results" / "this-host" / "sum-of-range" / "SingleStream" / "performance" / "run_1"
    run.mkdir(parents=True)
    (root / "systems").mkdir()
    (root / "systems" / "this-host.json").write_text(
        json.dumps({"system_name": "this-host", "accelerator_model_name": "N/A", "accelerators_per_node": 0,
                    "host_processor_model_name": "AMD EPYC 7B13", "host_processor_core_count": "2",
                    "operating_system": "Linux", "framework": "python"})
    )  # fmt: skip
    script = tmp_path / "run_loadgen.py"
    script.write_text(LOADGEN_RUN)
    subprocess.run([sys.executable, str(script), str(run)], check=True, capture_output=True, timeout=120)
    summary = (run / "mlperf_log_summary.txt").read_text()
    p90 = next(
        float(line.split(":")[1])
        for line in summary.splitlines()
        if line.startswith("90.00 percentile latency")
    )
    (run / "mlperf_log_accuracy.json").write_text(
        '[{"seq_id": 0, "qsl_idx": 3, "data": "00"}]'
    )  # as accuracy mode writes
    db = tmp_path / "w.duckdb"
    report = ingest(db, [root], workers=1)  # the summary, the system, loadgen's logs: nothing refused
    assert not report.quarantined, [o.error for o in report.quarantined]
    assert report.count("empty") == 2  # the trace and the accuracy log hold no result
    (result,) = query(
        db,
        "SELECT m.model_name, p.test_case, h.hardware_type, h.device_name, p.latency_p90_ms, p.status, "
        "p.metrics->>'result' FROM performance_results p JOIN models m USING (model_id) "
        "JOIN hardware_platforms h USING (hardware_id)",
    )
    assert result[:4] == ("sum-of-range", "SingleStream", "cpu", "AMD EPYC 7B13")
    assert result[4] == pytest.approx(p90 * 1e-6)
    valid = "Result is : VALID" in summary
    assert result[5:] == (("ok", "VALID") if valid else ("failed", "INVALID"))


def test_an_mlperf_summary_without_its_system_is_refused_saying_why(tmp_path):
    lone = tmp_path / "mlperf_log_summary.txt"
    shutil.copy(next(MLPERF.rglob("mlperf_log_summary.txt")), lone)
    (refused,) = ingest(tmp_path / "w.duckdb", [lone], workers=1).quarantined
    assert "names no benchmark and no hardware" in refused.error
    copied = tmp_path / "copy"
    shutil.copytree(MLPERF, copied)
    for system in copied.rglob("systems/*.json"):
        system.unlink()
    (refused,) = ingest(tmp_path / "w2.duckdb", [copied], workers=1).quarantined
    assert "no description of system" in refused.error and "never guessed" in refused.error


def test_a_file_read_beside_a_result_is_capped_as_result_files_are(tmp_path, monkeypatch):
    """A system description over BENCHDB_MAX_FILE_MB is not read: its summary says so."""
    copied = tmp_path / "copy"
    shutil.copytree(MLPERF, copied)
    (system,) = copied.rglob("systems/*.json")
    system.write_text(system.read_text() + " " * 50_000)
    monkeypatch.setenv("BENCHDB_MAX_FILE_MB", "0.01")  # 10 KB: the summary is 1.6 KB
    report = ingest(tmp_path / "w.duckdb", [next(copied.rglob("mlperf_log_summary.txt"))], workers=1)
    assert "no description of system" in report.quarantined[0].error


ASV_BENCHMARKS = """
class Inference:
    params = ([1, 8], ["fp32", "int8"])
    param_names = ["batch_size", "kernel"]

    def setup(self, batch_size, kernel):
        self.data = list(range(100 * batch_size))

    def time_run(self, batch_size, kernel):
        if kernel == "int8" and batch_size == 8:
            raise RuntimeError("no int8 kernel for batch 8")  # asv records null: failed
        sorted(self.data)

    def peakmem_run(self, batch_size, kernel):
        [0] * (1000 * batch_size)


def track_tokens():
    return 42


track_tokens.unit = "tokens"
"""


def test_asv_results_made_here(tmp_path):
    asv = Path(sys.executable).parent / "asv"
    if not asv.exists():
        pytest.skip("asv is not installed: it comes with the dev extra (make test installs it)")
    project = tmp_path / "project"
    (project / "benchmarks").mkdir(parents=True)
    (project / "benchmarks" / "__init__.py").write_text("")
    (project / "benchmarks" / "bench.py").write_text(ASV_BENCHMARKS)
    (project / "asv.conf.json").write_text(json.dumps(
        {"version": 1, "project": "demo", "project_url": "http://example.com", "repo": ".", "branches": ["main"],
         "environment_type": "existing", "benchmark_dir": "benchmarks", "results_dir": "results",
         "html_dir": "html", "build_command": [], "install_command": [], "uninstall_command": []}
    ))  # fmt: skip
    env = {**os.environ, "HOME": str(tmp_path / "home"), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@x"}  # fmt: skip
    (tmp_path / "home").mkdir()

    def run(*command: str, fails: bool = False) -> str:
        done = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == (2 if fails else 0), done.stdout + done.stderr
        return done.stdout

    run("git", "init", "-q", "-b", "main", ".")
    run("git", "add", "-A")
    run("git", "commit", "-qm", "benchmarks")
    commit = run("git", "rev-parse", "HEAD").strip()
    run(str(asv), "machine", "--yes")
    run(
        str(asv),
        "run",
        "-E",
        f"existing:{sys.executable}",
        "--set-commit-hash",
        commit,
        "--quick",
        "--record-samples",
        fails=True,  # exit status 2: a benchmark failed, as planted
    )
    machine = json.loads((tmp_path / "home" / ".asv-machine.json").read_text())
    ((name, described),) = ((k, v) for k, v in machine.items() if k != "version")

    db = tmp_path / "w.duckdb"
    report = ingest(db, [project / "results"], workers=1)
    assert not report.quarantined and report.by_format()["asv"] == (1, 9)  # 4 + 4 parametrised, 1 track
    assert report.by_format()["asv_support"] == (2, 0)  # benchmarks.json and machine.json
    rows = {
        test_case: rest
        for test_case, *rest in query(
            db,
            "SELECT p.test_case, p.batch_size, p.status, p.average_latency_ms, p.memory_peak_mb, "
            "p.metrics->'measures', h.device_name, h.host_name, r.git_commit, "
            "(SELECT count(*) FROM performance_samples s WHERE s.result_id = p.result_id) "
            "FROM performance_results p JOIN hardware_platforms h USING (hardware_id) JOIN test_runs r USING (run_id)",
        )
    }
    ok = rows["bench.Inference.time_run[kernel='fp32']"]
    assert ok[0] in (1, 8) and ok[1] == "ok" and ok[2] > 0 and ok[8] >= 1  # samples recorded
    failed = [
        r for case, r in rows.items() if case == "bench.Inference.time_run[kernel='int8']" and r[0] == 8
    ]
    assert failed and failed[0][1] == "failed" and failed[0][2] is None
    assert rows["bench.Inference.peakmem_run[kernel='int8']"][3] > 0  # peak memory, bytes to MB
    assert json.loads(rows["bench.track_tokens"][4]) == {"track_tokens": {"value": 42, "unit": "tokens"}}
    assert ok[6] == name and ok[7] == commit and ok[5]  # the machine asv names, the commit
    assert described["cpu"] and ok[5]


OPTIMUM = ECOSYSTEM / "optimum_benchmark" / "benchmark.json"


def test_optimum_benchmark_json(tmp_path):
    rows, formats = stored(tmp_path, OPTIMUM)
    assert formats == ["optimum_benchmark"]
    named = {row["test_case"]: row for row in rows}
    forward = named["inference:forward"]
    assert forward["model"] == "BAAI/bge-base-en-v1.5" and forward["hardware"] == "cpu"
    assert forward["device"] == "Intel Xeon Platinum 8259CL"
    assert forward["latency_ms"] == pytest.approx(11329.571039485746) and len(forward["samples"]) == 10
    assert forward["throughput"] == pytest.approx(5.648934083819028)  # samples/s
    assert named["inference:load"]["latency_ms"] == pytest.approx(15598.86232309509)
    assert query(
        tmp_path / "w.duckdb", "SELECT DISTINCT batch_size, sequence_length FROM performance_results"
    ) == [(64, 128)]


def test_optimum_benchmark_on_a_gpu_generating_tokens(tmp_path):
    """A text-generation run on the GPU: the device's name and its VRAM, tokens per second kept
    apart from the throughput column; a bare report reads its configuration from beside it."""
    doc = json.loads(OPTIMUM.read_text())
    doc["config"]["backend"].update(device="cuda", device_ids="0", dtype="float16", model="gpt2")
    per_token = {
        "unit": "s",
        "values": [0.02, 0.021],
        "count": 2,
        "mean": 0.0205,
        "p50": 0.0205,
        "p90": 0.021,
        "p95": 0.021,
        "p99": 0.021,
    }
    doc["report"] = {
        "decode": {"memory": {"unit": "MB", "max_ram": 900.0, "max_global_vram": 3000.0, "max_process_vram": 2500.0},
                   "latency": per_token, "throughput": {"unit": "tokens/s", "value": 48.8},
                   "energy": {"unit": "kWh", "cpu": 1e-6, "gpu": 3e-6, "total": 4e-6}, "efficiency": None},
        "load": {"memory": None, "latency": None, "throughput": None, "energy": None, "efficiency": None},
    }  # fmt: skip
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "benchmark_config.json").write_text(json.dumps(doc["config"]))
    (folder / "benchmark_report.json").write_text(json.dumps(doc["report"]))
    (row,), formats = stored(tmp_path, folder / "benchmark_report.json")
    assert formats == ["optimum_benchmark"]
    assert (row["hardware"], row["device"], row["throughput"]) == ("cuda", "NVIDIA T4", None)  # one spelling
    assert row["metrics"]["measures"]["throughput"] == {"value": 48.8, "unit": "tokens/s"}
    assert row["metrics"]["measures"]["energy_total"] == {"value": 4e-6, "unit": "kWh"}
    assert query(tmp_path / "w.duckdb", "SELECT memory_peak_mb, precision FROM performance_results") == [
        (2500.0, "fp16")
    ]
    (folder / "benchmark_config.json").unlink()
    lone = ingest(tmp_path / "w2.duckdb", [folder / "benchmark_report.json"], workers=1)
    assert "without its configuration names no model and no hardware" in lone.quarantined[0].error


def test_cargo_bench_libtest_output(tmp_path):
    rows, formats = stored(tmp_path, ECOSYSTEM / "cargo_output.txt", ECOSYSTEM / "cargo_output_units.txt")
    assert formats == ["cargo_bench_libtest"] * 2
    named = {row["test_case"]: row for row in rows}
    assert named["bench_fib_20"]["latency_ms"] == pytest.approx(18149e-6)  # "18,149 ns/iter"
    assert named["bench_fib_20"]["metrics"]["deviation"] == {"value": 755.0, "unit": "ns/iter"}
    assert named["cmov"]["metrics"]["measures"] == {"cmov": {"value": 2835.0, "unit": "cycles/iter"}}
    assert (
        named["upload"]["metrics"]["measures"]["upload"]["unit"] == "MS/s"
        and named["upload"]["throughput"] is None
    )


def test_cargo_criterion_messages(tmp_path):
    (row,), formats = stored(tmp_path, ECOSYSTEM / "criterion_output.json")
    assert formats == ["cargo_criterion"]
    assert row["test_case"] == "Queries/[LIGHT] Bam query all"
    assert row["latency_ms"] == pytest.approx(12384.362708639734e-6) and len(row["samples"]) == 50
    assert row["samples"][0] == pytest.approx(23353750.0 / 1906 * 1e-6)  # each sample's time per iteration
    assert row["metrics"]["slope"]["estimate"] == pytest.approx(12481.003131880992)
    # cargo-criterion prints one message per line for several benchmarks: the same, as text
    message = json.loads((ECOSYSTEM / "criterion_output.json").read_text())
    lines = tmp_path / "criterion.out"
    lines.write_text("\n".join(json.dumps({**message, "id": f"group/{i}"}) for i in range(3)) + "\n")
    rows, formats = stored(tmp_path / "lines", lines)
    assert formats == ["cargo_criterion_lines"] and [r["test_case"] for r in rows] == [
        "group/0",
        "group/1",
        "group/2",
    ]


def test_catch2_xml_reporter(tmp_path):
    rows, formats = stored(tmp_path, ECOSYSTEM / "catch2_benchmarks.xml")
    assert formats == ["catch2_xml"]
    named = {(row["test_case"], row["model"]): row for row in rows}
    fib = named[("Fibonacci", "fib-20")]  # model names as model names are kept: no spaces
    assert fib["latency_ms"] == pytest.approx(11241.1e-6)  # nanoseconds
    assert fib["metrics"]["standard_deviation_ns"] == pytest.approx(312.246)
    assert fib["metrics"]["mean"]["lowerBound"] == pytest.approx(11132.4)
    assert named[("Vectors", "sum-1000")]["latency_ms"] == pytest.approx(302.568e-6)
    assert query(tmp_path / "w.duckdb", "SELECT sum(iterations) FROM performance_results") == [(109,)]


def test_vitest_bench_json(tmp_path):
    rows, formats = stored(tmp_path, ECOSYSTEM / "vitest_bench.json")
    assert formats == ["vitest_bench"]
    named = {row["model"]: row for row in rows}
    sort = named["Array.sort-1000"]
    assert sort["test_case"] == "sort.bench.js > sorting"
    assert sort["latency_ms"] == pytest.approx(0.12819101435529495)  # milliseconds
    assert sort["throughput"] == pytest.approx(7800.858781165381)  # hz: operations per second
    assert sort["metrics"]["sampleCount"] == 3901 and sort["metrics"]["rme"] == pytest.approx(
        13.835069829549134
    )
    assert query(tmp_path / "w.duckdb", "SELECT max(latency_p99_ms) FROM performance_results") == [
        (pytest.approx(4.088619999999992),)
    ]
