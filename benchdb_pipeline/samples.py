"""Bundled sample data: one deterministic set of files in every supported format.

Every value here is simulated, and every file says so (``is_simulated`` / ``is_simulation``),
so the warehouse flags it. The numbers follow a simple cost model (latency grows with batch
size and model size, shrinks with device speed and lower precision) with seeded jitter, so
charts and comparisons look like benchmarks without pretending to be measurements.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import orjson

SEED = 20260105
EPOCH = datetime(2026, 1, 5, 2, 0, 0)

# name → (family, modality, parameters in millions, base latency in ms at batch 1 on cpu fp32)
MODELS = {
    "bert-base-uncased": ("bert", "text", 110.0, 21.0),
    "prajjwal1/bert-tiny": ("bert", "text", 4.4, 1.6),
    "t5-small": ("t5", "text", 60.5, 14.0),
    "gpt2": ("gpt2", "text", 124.4, 26.0),
    "google/vit-base-patch16-224": ("vit", "vision", 86.6, 38.0),
    "openai/whisper-tiny": ("whisper", "audio", 39.0, 55.0),
}
# type → (device name, relative speed, memory in GB)
HARDWARE = {
    "cpu": ("Sample CPU (simulated, 16 cores)", 1.0, 64.0),
    "cuda": ("Sample GPU (simulated CUDA)", 14.0, 24.0),
    "rocm": ("Sample GPU (simulated ROCm)", 11.0, 32.0),
    "openvino": ("Sample NPU (simulated OpenVINO)", 3.0, 16.0),
}
PRECISION_SPEED = {"fp32": 1.0, "fp16": 1.8, "bf16": 1.7, "int8": 2.4}


class _SampleModel:
    """The seeded cost model every sample value comes from."""

    def __init__(self) -> None:
        self.sample_rng = random.Random(SEED)

    def latency_ms(self, model: str, hw: str, batch: int, precision: str, drift: float = 1.0) -> float:
        base = MODELS[model][3]
        speed = HARDWARE[hw][1] * PRECISION_SPEED[precision]
        jitter = 1 + self.sample_rng.uniform(-0.03, 0.03)
        return round(base * batch**0.82 / speed * drift * jitter, 4)

    def samples(self, mean_ms: float, n: int) -> list[float]:
        return [round(mean_ms * (1 + self.sample_rng.gauss(0, 0.04)), 4) for _ in range(n)]

    def memory_mb(self, model: str, batch: int, precision: str) -> float:
        bytes_per = 2 if precision in ("fp16", "bf16") else (1 if precision == "int8" else 4)
        weights = MODELS[model][2] * bytes_per
        return round(weights + 48.0 * batch * (1 + self.sample_rng.uniform(0, 0.05)), 1)


def _timestamp(hours: float) -> str:
    return (EPOCH + timedelta(hours=hours)).isoformat()


def sample_documents() -> dict[str, object]:
    """Relative path → JSON document, for every supported format."""
    cost = _SampleModel()
    docs: dict[str, object] = {}

    # Canonical rows (the old converter's test-data form), one file per model × hardware.
    for model in ("bert-base-uncased", "t5-small", "google/vit-base-patch16-224"):
        for hw in ("cpu", "cuda"):
            rows = []
            for batch in (1, 8, 32):
                for precision in ("fp32", "fp16") if hw == "cuda" else ("fp32",):
                    latency = cost.latency_ms(model, hw, batch, precision)
                    rows.append(
                        {
                            "model_name": model,
                            "model_family": MODELS[model][0],
                            "modality": MODELS[model][1],
                            "hardware_type": hw,
                            "device_name": HARDWARE[hw][0],
                            "batch_size": batch,
                            "precision": precision,
                            "test_case": "inference",
                            "average_latency_ms": latency,
                            "throughput_items_per_second": round(batch * 1000 / latency, 3),
                            "memory_peak_mb": cost.memory_mb(model, batch, precision),
                            "iterations": 100,
                            "warmup_iterations": 10,
                            "total_time_seconds": round(latency * 110 / 1000, 3),
                            "timestamp": _timestamp(1),
                            "is_simulated": True,
                        }
                    )
            docs[f"performance_rows/{model.replace('/', '_')}_{hw}.json"] = rows

    # Canonical documents: six nightly runs on main, the last one slower on one series.
    for night in range(6):
        drift = 1.18 if night == 5 else 1.0
        perf = []
        for model in ("bert-base-uncased", "gpt2"):
            for hw in ("cpu", "cuda", "rocm"):
                for batch in (1, 4, 16):
                    series_drift = drift if (model, hw) == ("gpt2", "cuda") else 1.0
                    latency = cost.latency_ms(model, hw, batch, "fp32", series_drift)
                    samples = cost.samples(latency, 20)
                    perf.append(
                        {
                            "model": model,
                            "hardware": hw,
                            "device_name": HARDWARE[hw][0],
                            "device_memory_gb": HARDWARE[hw][2],
                            "batch_size": batch,
                            "sequence_length": 128,
                            "precision": "fp32",
                            "test_case": "inference",
                            "throughput": round(batch * 1000 / latency, 3),
                            "memory_mb": cost.memory_mb(model, batch, "fp32"),
                            "latencies_ms": samples,
                            "warmup_iterations": 5,
                            "timestamp": _timestamp(24 * night + 2),
                        }
                    )
        docs[f"nightly/run_{night + 1:02d}.json"] = {
            "test_run": {
                "test_name": "nightly inference benchmark",
                "test_type": "performance",
                "started_at": _timestamp(24 * night + 2),
                "completed_at": _timestamp(24 * night + 2.5),
                "git_commit": f"{0x5A3F1E + night:07x}sample",
                "git_branch": "main",
                "command_line": "benchdb run --models-set sample --hardware cpu cuda rocm",
                "is_simulated": True,
            },
            "performance_results": perf,
            "hardware_compatibility": [
                {
                    "model_name": model,
                    "hardware_type": hw,
                    "device_name": HARDWARE[hw][0],
                    "is_compatible": True,
                    "detection_success": True,
                    "initialization_success": True,
                    "timestamp": _timestamp(24 * night + 2),
                }
                for model in ("bert-base-uncased", "gpt2")
                for hw in ("cpu", "cuda", "rocm")
            ],
            "integration_test_results": [
                {
                    "test_module": "test_generation",
                    "test_class": "TestGreedy",
                    "test_name": "test_output_shape",
                    "model_name": "gpt2",
                    "hardware_type": "cuda",
                    "device_name": HARDWARE["cuda"][0],
                    "status": "passed" if night != 3 else "failed",
                    "execution_time_seconds": 1.25 + night * 0.01,
                    "error_message": None if night != 3 else "AssertionError: shape (1, 20) != (1, 21)",
                    "timestamp": _timestamp(24 * night + 2.6),
                    "assertions": [
                        {
                            "name": "output shape",
                            "passed": night != 3,
                            "expected": "(1, 21)",
                            "actual": "(1, 21)" if night != 3 else "(1, 20)",
                        },
                    ],
                },
            ],
        }

    # The old direct benchmark, latencies in ms.
    for model in ("prajjwal1/bert-tiny", "openai/whisper-tiny"):
        batches = {}
        for batch in (1, 2, 4):
            latency = cost.latency_ms(model, "cpu", batch, "fp32")
            batches[str(batch)] = {
                "success": True,
                "batch_size": batch,
                "avg_latency_ms": latency,
                "throughput_items_per_second": round(batch * 1000 / latency, 3),
                "memory_mb": cost.memory_mb(model, batch, "fp32"),
                "latencies_ms": cost.samples(latency, 10),
                "device": "cpu",
                "timestamp": _timestamp(30 + batch / 60),
            }
        docs[f"direct_benchmark/direct_benchmark_{model.replace('/', '_')}_cpu.json"] = {
            "model": model,
            "hardware": "cpu",
            "success": True,
            "batch_results": batches,
            "timestamp": _timestamp(30),
            "is_simulated": True,
        }

    # run_model_benchmarks output, latencies in seconds.
    benchmarks: dict[str, dict] = {}
    for model in ("bert-base-uncased", "google/vit-base-patch16-224"):
        family = {"text": "embedding", "vision": "vision"}[MODELS[model][1]]
        per_hw = {}
        for hw in ("cpu", "cuda"):
            configs = {}
            for batch in (1, 4):
                for seq in (32, 128):
                    latency_s = cost.latency_ms(model, hw, batch, "fp32", seq / 64) / 1000
                    latencies = [round(x / 1000, 6) for x in cost.samples(latency_s * 1000, 20)]
                    configs[f"batch_{batch}_seq_{seq}"] = {
                        "status": "completed",
                        "latencies": latencies,
                        "avg_latency": round(sum(latencies) / len(latencies), 6),
                        "throughput": round(batch / latency_s, 3),
                        "total_time": round(sum(latencies), 6),
                        "iterations": 20,
                    }
            per_hw[hw] = {
                "status": "completed",
                "model_name": model,
                "family": family,
                "hardware": hw,
                "benchmark_results": configs,
                "timestamp": _timestamp(50),
                "model_load_time": 2.5,
            }
        benchmarks.setdefault(family, {})[model] = per_hw
    docs["model_benchmarks/benchmark_results.json"] = {
        "timestamp": "20260107_040000",
        "is_simulated": True,
        "hardware_info": {"cpu": True, "cuda": True, "mps": False, "rocm": False, "openvino": False},
        "benchmarks": benchmarks,
    }

    # A web-platform result.
    latency = cost.latency_ms("prajjwal1/bert-tiny", "cpu", 1, "fp32") * 6
    docs["web_platform/bert_webgpu_result.json"] = {
        "model_key": "bert",
        "model_name": "prajjwal1/bert-tiny",
        "platform": "webgpu",
        "status": "success",
        "test_file": "web_platform_tests/bert/webgpu_test.html",
        "browser": "chromium",
        "browser_opened": False,
        "headless": True,
        "timestamp": _timestamp(60),
        "platform_support": {"available": True, "simulated": True},
        "implementation_type": "SIMULATED_WEBGPU",
        "is_simulation": True,
        "modality": "text",
        "metrics": {
            "inference_time_ms": round(latency, 3),
            "load_time_ms": 210.0,
            "memory_mb": 96.0,
            "throughput_items_per_second": round(1000 / latency, 3),
        },
    }

    # Hardware skill-test collected results, times in seconds.
    seconds = {hw: round(cost.latency_ms("gpt2", hw, 1, "fp32") / 1000, 5) for hw in ("cpu", "cuda")}
    docs["skill_tests/test_gpt2_cpu-cuda.json"] = {
        "results": {
            f"pipeline_{hw}": {"success": True, "model": "gpt2", "device": hw, "pipeline_avg_time": t}
            for hw, t in seconds.items()
        },
        "examples": [],
        "performance": {
            f"pipeline_{hw}": {
                "avg_time": t,
                "min_time": round(t * 0.95, 5),
                "max_time": round(t * 1.06, 5),
                "num_runs": 3,
            }
            for hw, t in seconds.items()
        },
        "hardware": {"cpu": True, "cuda": True, "cuda_version": "12.4", "openvino": False},
        "metadata": {
            "model": "gpt2",
            "timestamp": _timestamp(70),
            "tested_on": {"cpu": True, "cuda": True, "openvino": False},
        },
        "is_simulated": True,
    }

    # The compatibility matrix: family-level cells, one naming models.
    docs["compatibility/hardware_compatibility_matrix.json"] = {
        "timestamp": "20260108_120000",
        "is_simulated": True,
        "hardware_types": ["cpu", "cuda", "openvino"],
        "model_families": {
            "text_generation": {
                "hardware_compatibility": {
                    "cpu": {
                        "compatible": True,
                        "performance_rating": "medium",
                        "benchmark_results": [{"timestamp": _timestamp(80), "model_name": "gpt2"}],
                    },
                    "cuda": {"compatible": True, "performance_rating": "high", "benchmark_results": []},
                    "openvino": {"compatible": False, "performance_rating": None, "benchmark_results": []},
                }
            },
            "audio": {
                "hardware_compatibility": {
                    "cpu": {"compatible": True, "performance_rating": "low", "benchmark_results": []},
                    "openvino": {"compatible": False, "performance_rating": None, "benchmark_results": []},
                }
            },
        },
    }

    # Critical model tests.
    docs["critical_tests/critical_model_tests.json"] = {
        "test_timestamp": _timestamp(90),
        "is_simulated": True,
        "summary": {"total": 2, "tested": 2, "passed": 1, "failed": 1, "missing": 0, "pass_rate": "50.0%"},
        "model_results": {
            "bert": {"status": "passed", "return_code": 0, "elapsed_time": 4.2, "stdout": "OK", "stderr": ""},
            "whisper": {
                "status": "failed",
                "return_code": 1,
                "elapsed_time": 0.8,
                "stdout": "",
                "stderr": "Traceback (most recent call last):\nRuntimeError: sample failure (simulated)\n",
            },
        },
    }

    # A benchmark summary whose metric arrays are empty: a valid file with no records.
    docs["summary/benchmark_summary.json"] = {
        "timestamp": "20260108_130000",
        "is_simulated": True,
        "hardware_types": ["cpu", "cuda"],
        "model_families": {
            "text_generation": {
                "models_tested": ["gpt2"],
                "hardware_results": {"cpu": {"latency_ms": [], "throughput": []}},
            }
        },
        "performance_comparison": {"text_generation": {}},
    }

    # The old converter's compatibility report and hardware detection layouts.
    docs["compatibility/compatibility_report.json"] = {
        "timestamp": _timestamp(95),
        "is_simulated": True,
        "tests": [
            {
                "model": "t5-small",
                "compatibility": {
                    "cuda": {"is_compatible": True, "level": "full", "memory_required": 900},
                    "webnn": {
                        "is_compatible": False,
                        "error": "op not supported (simulated)",
                        "error_type": "op",
                    },
                },
            }
        ],
    }
    gpu_name, _, gpu_memory = HARDWARE["cuda"]
    cpu_name, _, cpu_memory = HARDWARE["cpu"]
    docs["hardware/hardware_detection.json"] = {
        "timestamp": _timestamp(96),
        "is_simulated": True,
        "cuda": True,
        "cuda_devices": [{"name": gpu_name, "total_memory": gpu_memory, "compute_capability": "8.6"}],
        "cuda_driver_version": "535.0 (simulated)",
        "rocm": False,
        "rocm_error": "no ROCm runtime (simulated)",
        "mps": False,
        "system": {"platform": "Linux", "cpu_info": cpu_name, "memory_total": cpu_memory},
    }

    docs.update(_harness_documents(cost))

    # One file the pipeline must refuse, to show quarantine at work.
    docs["invalid/negative_throughput.json"] = [
        {
            "model_name": "bert-base-uncased",
            "hardware_type": "cpu",
            "batch_size": 4,
            "throughput": -12.5,
            "latency_ms": 40.0,
            "is_simulated": True,
        }
    ]
    return docs


def _harness_documents(cost: _SampleModel) -> dict[str, object]:
    """One file in each benchmark harness's own format (times in seconds or ns)."""
    cpu_name = HARDWARE["cpu"][0]
    pytest_benchmarks = []
    for batch in (1, 8):
        mean_ms = cost.latency_ms("prajjwal1/bert-tiny", "cpu", batch, "fp32")
        data = [ms / 1000 for ms in cost.samples(mean_ms, 7)]
        ordered = sorted(data)
        pytest_benchmarks.append(
            {
                "group": None,
                "name": f"test_infer[{batch}]",
                "fullname": f"tests/test_speed.py::test_infer[{batch}]",
                "params": {"batch": batch},
                "param": str(batch),
                "extra_info": {"model": "prajjwal1/bert-tiny", "batch_size": batch, "precision": "fp32"},
                "stats": {
                    "min": ordered[0],
                    "max": ordered[-1],
                    "mean": sum(data) / len(data),
                    "median": ordered[3],
                    "rounds": len(data),
                    "iterations": 1,
                    "total": sum(data),
                    "ops": len(data) / sum(data),
                    "data": data,
                },
            }
        )
    google_rows = []
    for batch in (1, 4):
        mean_ns = cost.latency_ms("t5-small", "cpu", batch, "fp32") * 1e6
        reps = [round(ns) for ns in cost.samples(mean_ns, 3)]
        common = {"run_name": f"BM_t5_small/batch:{batch}", "repetitions": 3, "threads": 1, "time_unit": "ns"}
        google_rows += [
            {
                "name": common["run_name"],
                **common,
                "run_type": "iteration",
                "repetition_index": i,
                "iterations": 20,
                "real_time": ns,
                "cpu_time": ns,
                "items_per_second": batch * 1e9 / ns,
            }
            for i, ns in enumerate(reps)
        ]
        google_rows.append(
            {
                "name": f"{common['run_name']}_mean",
                **common,
                "run_type": "aggregate",
                "aggregate_name": "mean",
                "iterations": 3,
                "real_time": sum(reps) / 3,
                "cpu_time": sum(reps) / 3,
                "items_per_second": batch * 3e9 / sum(reps),
            }
        )
    hyperfine_results = []
    for batch in (1, 2):
        times = [ms / 1000 for ms in cost.samples(cost.latency_ms("gpt2", "cpu", batch, "fp32") + 900, 5)]
        hyperfine_results.append(
            {
                "command": f"python generate.py --model gpt2 --batch-size {batch}",
                "mean": sum(times) / 5,
                "median": sorted(times)[2],
                "min": min(times),
                "max": max(times),
                "times": times,
                "exit_codes": [0] * 5,
                "parameters": {"model": "gpt2", "batch_size": str(batch)},
            }
        )
    return {
        "harnesses/pytest_benchmark.json": {
            "is_simulated": True,
            "datetime": _timestamp(100),
            "version": "5.1.0",
            "machine_info": {
                "node": "sample-host",
                "system": "Linux",
                "release": "6.1.0",
                "cpu": {"brand_raw": cpu_name, "count": 16, "arch": "X86_64"},
            },
            "commit_info": {
                "id": "0123456789abcdef0123456789abcdef01234567",
                "branch": "main",
                "dirty": False,
            },
            "benchmarks": pytest_benchmarks,
        },
        "harnesses/google_benchmark.json": {
            "is_simulated": True,
            "context": {
                "date": _timestamp(101),
                "host_name": "sample-host",
                "num_cpus": 16,
                "mhz_per_cpu": 3000,
                "library_build_type": "release",
            },
            "benchmarks": google_rows,
        },
        "harnesses/hyperfine.json": {"is_simulated": True, "results": hyperfine_results},
    }


def write_samples(output_dir: str | Path) -> list[Path]:
    """Write the sample set under ``output_dir``; returns the files written."""
    root = Path(output_dir)
    written = []
    for relative, doc in sample_documents().items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
        written.append(path)
    return written
