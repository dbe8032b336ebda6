"""Machine identity: results of different hosts never share a platform or a series.

The harness files are written by the real pytest-benchmark; its documented
``pytest_benchmark_update_machine_info`` hook stands in for five machines (host name and
core count), since the test suite runs on one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchdb_pipeline.analytics.history import SERIES_COLUMNS, history_sql
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.reports.filters import EVERYTHING
from benchdb_pipeline.warehouse.identity import IDENTITY_ENV, platform_key
from benchdb_pipeline_tests.conftest import query, run_pytest

HOSTS = [("ci-runner-1", 2), ("ci-runner-2", 4), ("ci-runner-3", 6), ("laptop", 8), ("gpu-box", 16)]

CONFTEST = """
import os

def pytest_benchmark_update_machine_info(config, machine_info):
    machine_info["node"] = os.environ["BENCH_HOST"]
    machine_info["cpu"]["count"] = int(os.environ["BENCH_CPUS"])
"""

BENCH = """
def test_sum(benchmark):
    benchmark.extra_info.update(batch_size=8, model="python-sum")
    benchmark(sum, range(200))
"""

GPU_BENCH = """
import pytest

@pytest.mark.parametrize("precision", ["fp16"])
def test_infer(benchmark, precision):
    benchmark.extra_info.update(hardware="cuda", gpu_name="NVIDIA H100 80GB HBM3", batch_size="4")
    benchmark(sum, range(50))

def test_on_device(benchmark):
    benchmark.extra_info.update(device="cuda:0")
    benchmark(sum, range(50))
"""


def _pytest_benchmark(folder: Path, test: str, host: str, cpus: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_bench.py").write_text(test)
    out = folder / f"{host}.json"
    run_pytest(
        folder,
        folder / "test_bench.py",
        f"--benchmark-json={out}",
        env={"BENCH_HOST": host, "BENCH_CPUS": str(cpus), "PATH": "/usr/bin:/bin"},
    )
    return out


@pytest.fixture(scope="module")
def five_hosts(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("hosts")
    return [_pytest_benchmark(root / host, BENCH, host, cpus) for host, cpus in HOSTS]


def test_five_hosts_make_five_platforms_and_five_series(five_hosts, db, tmp_path):
    ingest(db, five_hosts, workers=1)
    platforms = query(
        db, "SELECT platform_key, host_name, compute_units, fingerprint FROM hardware_platforms"
    )
    assert len(platforms) == 5
    assert {p[1] for p in platforms} == {host for host, _ in HOSTS}
    assert {(p[1], p[2]) for p in platforms} == set(HOSTS)  # no core count merged across hosts
    assert len({p[3] for p in platforms}) == 5
    with __import__("benchdb_pipeline.warehouse.store", fromlist=["session"]).session(
        db, read_only=True
    ) as con:
        sql, params = history_sql("latency", EVERYTHING)
        rows = con.execute(sql, params).fetchall()
        columns = [d[0] for d in con.description]
    series = {tuple(row[columns.index(c)] for c in SERIES_COLUMNS) for row in rows}
    assert len(series) == 5 and len(rows) == 5


def test_hosts_of_the_same_named_hardware_are_one_platform(tmp_path, db):
    """The host name decides only where the file names no device: two runners of one CPU
    model and core count measure comparably."""
    twins = [_pytest_benchmark(tmp_path / host, BENCH, host, 2) for host in ("runner-a", "runner-b")]
    ingest(db, twins, workers=1)
    assert query(db, "SELECT count(*) FROM hardware_platforms") == [(1,)]


def test_identity_fields_are_a_setting(five_hosts, db, monkeypatch):
    """With only the CPU model in the identity, hosts of the same CPU are one platform."""
    monkeypatch.setenv(IDENTITY_ENV, "device_name")
    ingest(db, five_hosts, workers=1)
    assert query(db, "SELECT count(*) FROM hardware_platforms") == [(1,)]


def test_an_unknown_identity_field_is_refused(monkeypatch):
    monkeypatch.setenv(IDENTITY_ENV, "device_name,colour")
    with pytest.raises(ValueError, match="colour"):
        platform_key({"hardware_type": "cpu"})


def test_a_gpu_run_is_a_cuda_platform_with_the_gpus_name(tmp_path, db):
    path = _pytest_benchmark(tmp_path / "gpu", GPU_BENCH, "gpu-box", 16)
    doc = json.loads(path.read_text())
    ingest(db, [path], workers=1)
    rows = dict(
        query(
            db,
            """
        SELECT p.test_case, h.hardware_type || '|' || coalesce(h.device_name, '') || '|' ||
               coalesce(h.compute_units::VARCHAR, '') || '|' || h.host_name
        FROM performance_results p JOIN hardware_platforms h USING (hardware_id)""",
        )
    )
    cpu = doc["machine_info"]["cpu"]["brand_raw"]
    assert rows["test_bench.py::test_infer[fp16]"] == "cuda|NVIDIA H100 80GB HBM3||gpu-box"
    assert rows["test_bench.py::test_on_device"] == "cuda|||gpu-box"
    assert cpu not in " ".join(rows.values())
    batch, throughput, ops = query(
        db,
        """
        SELECT batch_size, throughput_items_per_second, json_extract(metrics, '$.calls_per_second')::DOUBLE
        FROM performance_results WHERE test_case LIKE '%test_infer%'""",
    )[0]
    assert batch == 4 and throughput == pytest.approx(4 * ops)  # "4" coerced, items per second
