"""`benchdb run` as users run it: real measurements, stored as one test run, or written as a
result file for CI artifacts; what cannot be measured is recorded with its reason."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from benchdb_pipeline.ingest.normalize import percentile
from benchdb_pipeline_tests.conftest import RUNNER_MISSING, ingest_one, query, scalar
from benchdb_pipeline_tests.test_cli import benchdb

torch = pytest.importorskip("torch", reason=RUNNER_MISSING)
pytest.importorskip(
    "transformers",
    reason=RUNNER_MISSING,
)

SMALL = ("--models", "bert-tiny", "--iterations", "4", "--warmup", "1", "--sequence-length", "8", "-q")


@pytest.fixture(scope="module")
def cpu_run(tmp_path_factory):
    """bert-tiny on the CPU (fp32, bf16; batches 1 and 2) and on CUDA where there is none."""
    folder = tmp_path_factory.mktemp("run")
    db = folder / "w.duckdb"
    hardware = "cpu" if torch.cuda.is_available() else "cpu,cuda"
    result = benchdb(
        "run",
        *SMALL,
        "--hardware",
        hardware,
        "--batch-sizes",
        "1,2",
        "--precision",
        "fp32,bf16",
        "--db",
        str(db),
    )
    return result, db


def test_results_are_stored_as_one_real_test_run(cpu_run):
    result, db = cpu_run
    assert "4 configurations measured" in result.stdout, result.stderr
    assert scalar(db, "SELECT count(*) FROM test_runs") == 1
    run = query(db, "SELECT is_simulated, success, metadata, started_at, completed_at FROM test_runs")[0]
    assert run[0] is False and run[3] <= run[4]
    metadata = json.loads(run[2])
    assert metadata["torch"] == torch.__version__
    assert metadata["plan"]["batch_sizes"] == [1, 2]
    rows = query(
        db,
        """
        SELECT r.result_id, r.batch_size, r.precision, r.sequence_length, r.iterations,
               r.warmup_iterations, r.average_latency_ms, r.latency_p50_ms, r.latency_p99_ms,
               r.throughput_items_per_second, r.memory_peak_mb, r.metrics, r.measured_at,
               m.model_name, m.parameters_million, h.hardware_type, h.compute_units
        FROM performance_results r JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
        ORDER BY r.precision, r.batch_size""",
    )
    assert [(r[1], r[2]) for r in rows] == [(1, "bf16"), (2, "bf16"), (1, "fp32"), (2, "fp32")]
    for row in rows:
        samples = [
            s[0]
            for s in query(
                db,
                "SELECT latency_ms FROM performance_samples WHERE result_id = ? ORDER BY iteration",
                [row[0]],
            )
        ]
        assert len(samples) == row[4] == 4 and row[5] == 1 and row[3] == 8
        assert all(s > 0 for s in samples)
        assert row[6] == pytest.approx(math.fsum(samples) / 4)
        assert row[7] == pytest.approx(percentile(sorted(samples), 0.5))
        assert min(samples) <= row[7] <= row[8] <= max(samples)
        assert row[9] == pytest.approx(row[1] * 4 / (math.fsum(samples) / 1000))
        assert row[10] is not None and row[10] >= 0
        metrics = json.loads(row[11])
        assert metrics["weights"] in ("random initialisation", "pretrained (local cache)")
        assert metrics["model_load_time_ms"] > 0
        assert row[12] is not None
        assert (row[13], row[14], row[15]) == ("prajjwal1/bert-tiny", pytest.approx(4.386, abs=0.01), "cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_a_missing_platform_is_a_compatibility_row_not_a_measurement(cpu_run):
    result, db = cpu_run
    assert result.returncode == 1  # some configurations could not be measured
    assert "not measured: prajjwal1/bert-tiny on cuda fp32" in result.stdout
    assert (
        scalar(
            db,
            """SELECT count(*) FROM performance_results JOIN hardware_platforms USING (hardware_id)
                         WHERE hardware_type = 'cuda'""",
        )
        == 0
    )
    cuda = query(
        db,
        """SELECT is_compatible, detection_success, error_type, error_message
                        FROM hardware_compatibility JOIN hardware_platforms USING (hardware_id)
                        WHERE hardware_type = 'cuda'""",
    )
    assert len(cuda) == 2
    assert all(
        r[0] is None and r[1] is False and r[2] == "platform_not_available" and "CUDA" in r[3] for r in cuda
    )
    assert (
        scalar(
            db,
            """SELECT count(*) FROM hardware_compatibility JOIN hardware_platforms USING (hardware_id)
                         WHERE hardware_type = 'cpu' AND is_compatible""",
        )
        == 2
    )


def test_output_dir_writes_a_canonical_file_that_ingests(tmp_path, db):
    out = tmp_path / "artifacts"
    result = benchdb("run", *SMALL, "--batch-sizes", "1", "--output-dir", str(out))
    assert result.returncode == 0, result.stderr
    files = list(out.glob("benchdb_run_*.json"))
    assert len(files) == 1 and not list(tmp_path.rglob("*.duckdb"))
    document = json.loads(files[0].read_text())
    assert document["test_run"]["is_simulated"] is False
    assert len(document["performance_results"][0]["latencies_ms"]) == 4
    report = ingest_one(db, files[0])
    assert report.count("ingested") == 1
    assert scalar(db, "SELECT count(*) FROM performance_samples") == 4


def test_a_configuration_that_fails_is_recorded_with_its_error(tmp_path, db):
    # bert-tiny has 512 positions: 600 tokens cannot run, whatever the device.
    result = benchdb(
        "run",
        "--models",
        "bert-tiny",
        "--batch-sizes",
        "1",
        "--iterations",
        "1",
        "--warmup",
        "0",
        "--sequence-length",
        "600",
        "-q",
        "--db",
        str(db),
    )
    assert result.returncode == 1
    assert scalar(db, "SELECT count(*) FROM performance_results") == 0
    row = query(db, "SELECT is_compatible, error_type, error_message, metadata FROM hardware_compatibility")
    assert len(row) == 1 and row[0][0] is False and row[0][1] and row[0][2]
    assert json.loads(row[0][3]) == {"precision": "fp32", "batch_size": 1}


def test_usage_errors_exit_2(tmp_path):
    assert benchdb("run", "--models", "bert-huge").returncode == 2
    assert benchdb("run", "--models", "bert-tiny", "--hardware", "tpu").returncode == 2
    assert benchdb("run", "--models", "bert-tiny", "--models-set", "small").returncode == 2
    bad = benchdb("run", "--models", "bert-tiny", "--batch-sizes", "one")
    assert bad.returncode == 2 and "comma-separated int" in bad.stderr


def test_without_pytorch_the_runner_says_how_to_install_it(tmp_path):
    code = (
        "import sys; sys.modules['torch'] = None; from benchdb_pipeline.cli import main; "
        "main(['run', '--models', 'bert-tiny', '--output-dir', sys.argv[1]])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "pip install torch==2.13.0" in result.stderr
    assert not list(tmp_path.iterdir())
