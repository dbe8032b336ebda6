"""MLPerf Inference loadgen's ``mlperf_log_summary.txt`` (text), in a submission's layout
``…/results/<system>/<benchmark>/<scenario>/performance/run_N/`` with the system's
description in ``…/systems/<system>.json``.

One result per summary: the benchmark (``gptj-99``, ``resnet50``) is the model, the scenario
the test case. ``Samples per second`` (Offline) or ``Completed samples per second`` (Server)
is the throughput; the mean and the 50/90/95/99th percentile latencies (ns) fill the latency
columns; tokens per second, first-token and per-output-token latencies (LLM benchmarks) and
the other stats are kept under ``metrics.measures``. ``Result is : INVALID`` marks the result
failed: kept, but never a latest value or a baseline.

The summary names no hardware, so the system's description is required: its accelerator
(model, count, memory) or, with none, its host processor is the platform, with the OS, the
framework and the submitter kept beside. A summary whose system description cannot be found
is refused saying so: hardware is never guessed. The description is read from beside the
summary when it is ingested (the ledger's hash covers the summary alone).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path, PurePath

import orjson

from benchdb_pipeline.ingest.files import read_beside
from benchdb_pipeline.ingest.formats.base import Adapter, Source, TextAdapter, run_record
from benchdb_pipeline.ingest.normalize import MEASURES, Extraction, Problem
from benchdb_pipeline.ingest.rules import accelerator_type

_TITLE = "MLPerf Results Summary"
_LOADGEN = "MLPerf LoadGen"
_LINE = re.compile(r"^\s*([^:]+?)\s*:\s*(.+?)\s*$")
_PERCENTILE = re.compile(r"^(\d+\.\d+) percentile latency \(ns\)$")
_COLUMNS = {
    "50.00": "latency_p50_ms",
    "90.00": "latency_p90_ms",
    "95.00": "latency_p95_ms",
    "99.00": "latency_p99_ms",
}
_THROUGHPUT = ("Samples per second", "Completed samples per second")
_NS_TO_MS = 1e-6
_GB = re.compile(r"([\d.]+)\s*(GB|GiB|G)\b", re.I)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class MLPerfSummary(TextAdapter):
    name = "mlperf_loadgen_summary"
    shape = "================ MLPerf Results Summary ================ / SUT name : … / Scenario : Offline / …"
    category = "performance"

    def recognises(self, head: str) -> bool:
        return _TITLE in head[:2000]

    def parse_text(self, text: str) -> dict | None:
        if _TITLE not in text[:2000]:
            return None
        fields: dict[str, str] = {}
        parameters: dict[str, str] = {}
        target = fields
        for line in text.splitlines():
            if line.strip() == "Test Parameters Used":
                target = parameters
            found = _LINE.match(line)
            if found and not line.lstrip().startswith("*"):
                target.setdefault(found.group(1), found.group(2))
        return {"fields": fields, "parameters": parameters}

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        fields = doc["fields"]
        layout = _layout(source.path)
        run = out.add_run(
            run_record(
                source,
                "performance",
                {},
                metadata={"harness": "mlperf loadgen", "sut": fields.get("SUT name")},
            )
        )
        if layout is None:
            out.problems.append(
                Problem(None, None, "not in a submission's results/<system>/<benchmark>/<scenario>/ folders: "
                        "the summary names no benchmark and no hardware")
            )  # fmt: skip
            return
        system_file, system, benchmark = layout
        data = read_beside(system_file)
        try:
            described = orjson.loads(data) if data is not None else None
        except orjson.JSONDecodeError as exc:
            out.problems.append(Problem(None, None, f"{system_file} is not JSON: {exc}"))
            return
        if not isinstance(described, Mapping):
            out.problems.append(
                Problem(None, None, f"no description of system {system} at {system_file}: the summary names no "
                        "hardware, and hardware is never guessed")
            )  # fmt: skip
            return
        machine = _machine(described, system)
        if machine["hardware_type"] is None:
            out.problems.append(
                Problem(None, None, f"{system_file}: no known hardware type for the accelerator "
                        f"{machine['device_name']!r} (cuda, rocm, …): hardware is never guessed")
            )  # fmt: skip
            return
        record: dict = {
            **machine,
            "model_name": benchmark,
            "test_case": fields.get("Scenario"),
            "status": "ok" if fields.get("Result is") == "VALID" else "failed",
        }
        measures: dict[str, dict] = {}
        for key, value in fields.items():
            number = _number(value)
            if number is None:
                continue
            percentile = _PERCENTILE.match(key)
            if key in _THROUGHPUT:
                record["throughput_items_per_second"] = number
            elif key == "Mean latency (ns)":
                record["average_latency_ms"] = number * _NS_TO_MS
            elif percentile and percentile.group(1) in _COLUMNS:
                record[_COLUMNS[percentile.group(1)]] = number * _NS_TO_MS
            elif "(ns)" in key or "per second" in key.lower() or "Token" in key:
                unit = "ns" if "(ns)" in key else "1/s" if "per second" in key.lower() else None
                measures[key.replace(" (ns)", "")] = {"value": number, "unit": unit}
        record["metrics"] = {
            "result": fields.get("Result is"),
            "mode": fields.get("Mode"),
            "early_stopping": fields.get("Early stopping satisfied"),
            "min_duration": fields.get("Min duration satisfied"),
            "min_queries": fields.get("Min queries satisfied"),
            MEASURES: measures or None,
            "parameters": doc.get("parameters") or None,
        }
        record["metrics"] = {k: v for k, v in record["metrics"].items() if v is not None}
        out.add("performance", record, "$", run=run)


def _layout(path: str) -> tuple[Path, str, str] | None:
    """(the system description's path, the system, the benchmark) from a summary's path."""
    parts = PurePath(path).parts
    for index in range(len(parts) - 4, -1, -1):
        if parts[index] == "results" and index + 3 < len(parts):
            system, benchmark = parts[index + 1], parts[index + 2]
            return Path(*parts[:index], "systems", f"{system}.json"), system, benchmark
    return None


def _machine(described: Mapping, system: str) -> dict:
    """The platform a submission's system description names: its accelerator, else its host
    processor."""
    accelerator = str(described.get("accelerator_model_name") or "").strip()
    count = _number(str(described.get("accelerators_per_node") or "0")) or 0
    memory = _GB.search(str(described.get("accelerator_memory_capacity") or ""))
    has_accelerator = bool(accelerator) and accelerator.upper() not in ("N/A", "NONE") and count > 0
    kept = ("framework", "host_processor_model_name", "host_processor_core_count", "host_memory_capacity",
            "submitter", "division", "system_type", "other_software_stack")  # fmt: skip
    machine: dict = {
        "hardware_type": accelerator_type(accelerator) if has_accelerator else "cpu",
        "device_name": accelerator if has_accelerator else described.get("host_processor_model_name"),
        "host_name": described.get("system_name") or system,
        "platform": described.get("operating_system"),
        "hardware_metadata": {k: described[k] for k in kept if described.get(k) not in (None, "")} or None,
    }
    if has_accelerator:
        machine["accelerator_count"] = int(count)
        if memory:
            machine["memory_gb"] = float(memory.group(1))
    else:
        machine["compute_units"] = described.get("host_processor_core_count")
    return machine


class MLPerfSystem(Adapter):
    """A submission's ``systems/<system>.json``: the machine its results ran on, stored as a
    platform of its own (as a hardware detection document is)."""

    name = "mlperf_system_description"
    shape = (
        '{"system_name", "accelerator_model_name", "accelerators_per_node", "host_processor_model_name", …}'
    )
    category = "hardware"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and {"system_name", "accelerator_model_name", "host_processor_model_name"} <= doc.keys()
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(
            run_record(source, "hardware_detection", {}, metadata={"harness": "mlperf submission"})
        )
        machine = _machine(doc, source.stem)
        if machine["hardware_type"] is None:
            out.problems.append(
                Problem("$.accelerator_model_name", "accelerator_model_name",
                        f"no known hardware type for {machine['device_name']!r}: hardware is never guessed")
            )  # fmt: skip
            return
        out.add("hardware", machine, "$", run=run)


class MLPerfLog(Adapter):
    """loadgen's other outputs beside a summary: the accuracy log (``[{seq_id, qsl_idx,
    data}]``) and the trace (``{"traceEvents": […]}``). They hold no performance result: the
    ledger records them as read and empty, so a submission's folder ingests without refusals."""

    name = "mlperf_loadgen_log"
    shape = '[{"seq_id", "qsl_idx", "data"}] (mlperf_log_accuracy.json) or {"traceEvents": [...]} (mlperf_log_trace.json)'
    category = "performance"

    def matches(self, doc: object) -> bool:
        if isinstance(doc, Mapping):
            other = doc.get("otherData")
            return isinstance(other, Mapping) and str(other.get("version", "")).startswith(_LOADGEN)
        return (
            isinstance(doc, list)
            and bool(doc)
            and all(isinstance(e, Mapping) and {"qsl_idx", "data"} <= e.keys() for e in doc)
        )

    def extract(self, doc: object, out: Extraction, source: Source) -> None:
        return None  # a log of the run, not a result


class MLPerfTrace(TextAdapter):
    """loadgen's ``mlperf_log_trace.json`` as loadgen writes it: not always JSON (it doubles
    the quotes of some keys), read as the log it is: no result, recorded as empty."""

    name = "mlperf_loadgen_trace"
    shape = '{"traceEvents":[ … ], "otherData": {"version": "MLPerf LoadGen …"}} (not always valid JSON)'
    category = "performance"

    def recognises(self, head: str) -> bool:
        return head.startswith('{"traceEvents":[')

    def parse_text(self, text: str) -> dict | None:
        return (
            {"log": "trace"} if self.recognises(text) and f'"version":"{_LOADGEN}' in text[-2000:] else None
        )

    def extract(self, doc: object, out: Extraction, source: Source) -> None:
        return None  # a log of the run, not a result
