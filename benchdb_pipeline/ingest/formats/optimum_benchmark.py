"""optimum-benchmark's ``benchmark.json`` (``{"config": …, "report": …}``), and its
``benchmark_report.json`` when ``benchmark_config.json`` lies beside it.

Each target of the report (``load``, ``forward``, ``prefill``, ``decode``, ``per_token``,
``call``, …) is one result of the configured model: the backend's model, device and dtype, the
scenario's ``input_shapes`` (batch size, sequence length), the scenario and the target as the
test case. Latency (``mean``, ``p50``-``p99``, every value as a raw sample) fills the latency
columns in its unit; a throughput in samples (or images) per second the throughput column,
one in tokens per second ``metrics.measures``; peak memory is ``max_ram`` on a CPU and the
process's (else the device's) VRAM on a GPU, every memory figure kept under ``measures`` as are
energy and efficiency. The environment is the machine: the GPU named by the device (its
index in ``device_ids``) or the CPU, with the core count and OS; tool versions stay on the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from benchdb_pipeline.ingest.files import read_beside
from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, mapping_at, run_record
from benchdb_pipeline.ingest.formats.units import place
from benchdb_pipeline.ingest.normalize import MEASURES, Extraction, Problem

_TARGET_KEYS = {"memory", "latency", "throughput", "energy", "efficiency"}
_GPU_MEMORY = ("max_process_vram", "max_global_vram", "max_reserved", "max_allocated")


def _is_report(doc: object) -> bool:
    return (
        isinstance(doc, Mapping)
        and bool(doc)
        and all(isinstance(t, Mapping) and t.keys() and set(t) <= _TARGET_KEYS for t in doc.values())
    )


def _beside(path: str) -> Mapping | None:
    data = read_beside(Path(path).parent / "benchmark_config.json")
    try:
        config = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return None
    return config if isinstance(config, Mapping) else None


class OptimumBenchmark(Adapter):
    name = "optimum_benchmark"
    shape = '{"config": {"backend": {"model", "device"}, "scenario": {...}, "environment": {...}}, "report": {target: {"latency", "throughput", "memory"}}}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        if (
            isinstance(doc, Mapping)
            and isinstance(doc.get("config"), Mapping)
            and _is_report(doc.get("report"))
        ):
            return "backend" in doc["config"]
        return (
            isinstance(doc, Mapping)
            and _is_report(doc)
            and any("latency" in target for target in doc.values())
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        config, report = (doc["config"], doc["report"]) if "report" in doc else (_beside(source.path), doc)
        if config is None:
            out.problems.append(
                Problem(None, None, "an optimum-benchmark report without its configuration names no model and no "
                        "hardware: ingest benchmark.json, or keep benchmark_config.json beside the report")
            )  # fmt: skip
            return
        backend, scenario, environment = (
            mapping_at(config, k) for k in ("backend", "scenario", "environment")
        )
        versions = {k: v for k, v in environment.items() if k.endswith(("_version", "_commit")) and v}
        run = out.add_run(
            run_record(source, "performance", {}, metadata={"harness": "optimum-benchmark", "name": config.get("name"),
                                                              "backend": backend.get("name"), **versions})
        )  # fmt: skip
        machine = _machine(backend, environment)
        shapes = mapping_at(scenario, "input_shapes")
        for target, measured in report.items():
            locator = f"$.report.{target}" if "report" in doc else f"$.{target}"
            record: dict[str, Any] = {
                **machine,
                "model_name": backend.get("model"),
                "test_case": f"{scenario.get('name') or 'scenario'}:{target}",
                "batch_size": shapes.get("batch_size"),
                "sequence_length": shapes.get("sequence_length"),
                "precision": backend.get("dtype") or backend.get("torch_dtype"),
                "metrics": {"backend": backend.get("name"), "task": backend.get("task")},
            }
            if not isinstance(measured, Mapping) or not _fill(
                record, measured, machine["hardware_type"] == "cpu"
            ):
                out.note(run, f"{locator}: no measurement, left out")
                continue
            out.add("performance", record, locator, run=run)


def _machine(backend: Mapping, environment: Mapping) -> dict[str, Any]:
    device = str(backend.get("device") or "cpu")
    listed = environment.get("gpu")
    gpus: list = listed if isinstance(listed, list) else []
    kept = {
        k: environment[k]
        for k in ("cpu", "cpu_count", "cpu_ram_mb", "gpu_count", "gpu_vram_mb")
        if environment.get(k)
    }
    machine: dict[str, Any] = {
        "hardware_type": device,
        "platform": environment.get("platform"),
        "hardware_metadata": kept or None,
    }
    if device == "cpu":
        machine["device_name"] = str(environment.get("cpu") or "").strip() or None
        machine["compute_units"] = environment.get("cpu_count")
    else:
        ids = str(backend.get("device_ids") or "0").split(",")
        index = int(ids[0]) if ids[0].strip().isdigit() else 0
        machine["device_name"] = gpus[index] if index < len(gpus) else None
        machine["accelerator_count"] = len(ids)
    return machine


def _fill(record: dict, measured: Mapping, on_cpu: bool) -> bool:
    """Put a target's figures into ``record``; False when it has none."""
    latency = measured.get("latency")
    if isinstance(latency, Mapping) and is_number(latency.get("mean")):
        unit = latency.get("unit") or "s"
        record["time_unit"] = unit
        record["average_latency"] = latency["mean"]
        record.update({f"latency_p{p}": latency.get(f"p{p}") for p in (50, 90, 95, 99)})
        record["latencies"] = latency.get("values")
        record["metrics"]["latency_stdev"] = latency.get("stdev")
    throughput = measured.get("throughput")
    if isinstance(throughput, Mapping) and is_number(throughput.get("value")):
        place(record, "throughput", float(throughput["value"]), str(throughput.get("unit") or ""))
    measures = record["metrics"].setdefault(MEASURES, {})
    memory = measured.get("memory")
    if isinstance(memory, Mapping):
        unit = memory.get("unit") or "MB"
        figures = {k: v for k, v in memory.items() if k != "unit" and is_number(v)}
        measures.update({k: {"value": v, "unit": unit} for k, v in figures.items()})
        peak = (
            figures.get("max_ram")
            if on_cpu
            else next((figures[k] for k in _GPU_MEMORY if k in figures), None)
        )
        if peak is not None:
            record["memory_peak"] = peak
            record["memory_unit"] = unit
    for kind in ("energy", "efficiency"):
        value = measured.get(kind)
        if isinstance(value, Mapping):
            unit = value.get("unit")
            measures.update(
                {
                    f"{kind}_{k}": {"value": v, "unit": unit}
                    for k, v in value.items()
                    if k != "unit" and is_number(v)
                }
            )
    if not measures:
        del record["metrics"][MEASURES]
    return any(
        k in record for k in ("average_latency", "throughput_items_per_second", "memory_peak")
    ) or bool(measures)
