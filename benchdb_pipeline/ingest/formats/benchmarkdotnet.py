"""BenchmarkDotNet's full JSON export (``*-report-full.json``; the brief one has the same
fields without the measurements): ``{Title, HostEnvironmentInfo, Benchmarks: [{FullName,
Type, Method, Parameters, Statistics, Memory, Metrics}]}``.

Each benchmark with its parameters is one result. ``Statistics`` are nanoseconds per
operation: the mean is the latency, the median and P90/P95 its percentiles, ``OriginalValues``
(one per workload iteration) the raw samples. Allocated bytes per operation and the GC
collections are kept under ``metrics.measures``. ``HostEnvironmentInfo`` is the machine: its
processor (name and logical cores), OS and runtime. BenchmarkDotNet writes no date in JSON
(the title carries the run's time as ``-YYYYMMDD-HHMMSS``, used when present).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from benchdb_pipeline.ingest.formats.base import (
    Adapter,
    Source,
    is_number,
    mapping_at,
    run_record,
    split_parameters,
)
from benchdb_pipeline.ingest.normalize import MEASURES, Extraction, Problem

_STAMP = re.compile(r"-(\d{8}-\d{6})$")
_NS = {"time": "ns"}


def _parameters(text: object) -> dict:
    """``"N=10, Size=100"`` (or ``&``-joined) as a mapping."""
    if not isinstance(text, str) or not text.strip():
        return {}
    pairs = (part.partition("=") for part in re.split(r"\s*[&,]\s*", text.strip()))
    return {k.strip(): v.strip() for k, _, v in pairs if k.strip()}


class BenchmarkDotNet(Adapter):
    name = "benchmarkdotnet"
    shape = '{"HostEnvironmentInfo": {...}, "Benchmarks": [{"FullName", "Statistics": {"Mean", ...}}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and isinstance(doc.get("Benchmarks"), list)
            and "HostEnvironmentInfo" in doc
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        host = mapping_at(doc, "HostEnvironmentInfo")
        stamp = _STAMP.search(str(doc.get("Title") or ""))
        measured = datetime.strptime(stamp.group(1), "%Y%m%d-%H%M%S").isoformat() if stamp else None
        run = out.add_run(
            run_record(source, "performance", {}, started_at=measured,
                       metadata={"harness": "BenchmarkDotNet", "title": doc.get("Title"),
                                 "runtime": host.get("RuntimeVersion"),
                                 "benchmarkdotnet": host.get("BenchmarkDotNetVersion")})
        )  # fmt: skip
        machine = {
            "hardware_type": "cpu",
            "device_name": host.get("ProcessorName"),
            "compute_units": host.get("LogicalCoreCount"),
            "platform": host.get("OsVersion"),
            "hardware_metadata": {k: host[k] for k in ("Architecture", "PhysicalCoreCount") if k in host}
            or None,
        }
        for index, bench in enumerate(doc["Benchmarks"]):
            locator = f"$.Benchmarks[{index}]"
            stats = bench.get("Statistics") if isinstance(bench, Mapping) else None
            if not isinstance(stats, Mapping) or not is_number(stats.get("Mean")):
                out.problems.append(
                    Problem(locator, "Statistics", "no statistics (the benchmark did not run)")
                )
                continue
            name = bench.get("FullName") or f"{bench.get('Type')}.{bench.get('Method')}"
            fields, test_case = split_parameters(str(name), _parameters(bench.get("Parameters")))
            percentiles = mapping_at(stats, "Percentiles")
            memory = mapping_at(bench, "Memory")
            measures = {
                key: {"value": memory[key], "unit": "B/op" if key.startswith("Bytes") else "count"}
                for key in (
                    "BytesAllocatedPerOperation",
                    "Gen0Collections",
                    "Gen1Collections",
                    "Gen2Collections",
                )
                if is_number(memory.get(key))
            }
            record = {
                **machine,
                "model_name": str(name),
                "test_case": test_case,
                **fields,
                "average_latency": stats["Mean"],
                "latency_p50": stats.get("Median"),
                "latency_p90": percentiles.get("P90"),
                "latency_p95": percentiles.get("P95"),
                "latencies": stats.get("OriginalValues"),
                "measured_at": measured,
                "metrics": {
                    "standard_deviation_ns": stats.get("StandardDeviation"),
                    "standard_error_ns": stats.get("StandardError"),
                    "iterations": stats.get("N"),
                    "display": bench.get("DisplayInfo"),
                    **({MEASURES: measures} if measures else {}),
                },
            }
            out.add("performance", record, locator, run=run, units=_NS)
