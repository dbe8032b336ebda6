"""``go test -bench`` output (text): ``BenchmarkName-P  N  <value> <unit> …`` lines under
``goos:``, ``goarch:``, ``pkg:`` and ``cpu:`` headers.

Each benchmark (its name without the ``-P`` GOMAXPROCS suffix, in its package) is one result:
``ns/op`` is the latency, and with ``-count=N`` each line's ``ns/op`` is one raw sample (the
latency is their mean). Every other ``<value> <unit>`` pair (``B/op``, ``allocs/op``,
``MB/s``, a ``b.ReportMetric`` unit) goes to metrics under its unit, as measured (the mean of
the lines). The benchmark ran on the host CPU named by ``cpu:`` (Go ≥ 1.16 prints it);
``goos``/``goarch`` are the platform. Go prints no date: the measured-at time stays NULL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from statistics import fmean

from benchdb_pipeline.ingest.formats.base import Source, TextAdapter, run_record
from benchdb_pipeline.ingest.normalize import Extraction

_LINE = re.compile(r"^(Benchmark\S*)\s+(\d+)((?:\s+[-+0-9.eE]+\s+\S+)+)\s*$")
_PAIR = re.compile(r"([-+0-9.eE]+)\s+(\S+)")
_PROCS = re.compile(r"^(.*?)-(\d+)$")
_HEADERS = ("goos", "goarch", "pkg", "cpu")


class GoBench(TextAdapter):
    name = "go_test_bench"
    shape = "BenchmarkParse-8   1000000   1052 ns/op   336 B/op   3 allocs/op"
    category = "performance"

    def recognises(self, head: str) -> bool:
        return any(_LINE.match(line) for line in head.splitlines())

    def parse_text(self, text: str) -> dict | None:
        """``{"headers": {...}, "benchmarks": {(pkg, name): {"procs", "lines": [...]}}}``."""
        headers: dict[str, str] = {}
        benchmarks: dict[str, dict] = {}
        for number, line in enumerate(text.splitlines(), 1):
            key, _, value = line.partition(": ")
            if key in _HEADERS and value:
                headers[key] = value.strip()
                continue
            found = _LINE.match(line)
            if not found:
                continue
            name, iterations, pairs = found.groups()
            procs = _PROCS.match(name)
            base, parallelism = (procs.group(1), int(procs.group(2))) if procs else (name, None)
            entry = benchmarks.setdefault(
                f"{headers.get('pkg', '')}\0{base}\0{parallelism}",
                {"package": headers.get("pkg"), "name": base, "procs": parallelism, "lines": [], "at": number,
                 "cpu": headers.get("cpu"), "goos": headers.get("goos"), "goarch": headers.get("goarch")},
            )  # fmt: skip
            entry["lines"].append(
                {
                    "iterations": int(iterations),
                    "values": {unit: float(v) for v, unit in _PAIR.findall(pairs)},
                }
            )
        return {"benchmarks": list(benchmarks.values())} if benchmarks else None

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(run_record(source, "performance", {}, metadata={"harness": "go test -bench"}))
        for bench in doc["benchmarks"]:
            lines = bench["lines"]
            times = [line["values"]["ns/op"] for line in lines if "ns/op" in line["values"]]
            units = sorted({unit for line in lines for unit in line["values"]} - {"ns/op"})
            metrics: dict[str, object] = {
                unit: fmean(line["values"][unit] for line in lines if unit in line["values"])
                for unit in units
            }
            metrics.update(
                {"package": bench["package"], "gomaxprocs": bench["procs"], "lines": len(lines),
                 "sample_kind": "ns/op of each line (-count)"}
            )  # fmt: skip
            record = {
                "model_name": bench["name"],
                "test_case": bench["package"],
                "hardware_type": "cpu",
                "device_name": bench["cpu"],
                "platform": "/".join(v for v in (bench["goos"], bench["goarch"]) if v) or None,
                "average_latency": fmean(times) if times else None,
                "latencies": times if len(times) > 1 else None,
                "iterations": max(line["iterations"] for line in lines),
                "metrics": {k: v for k, v in metrics.items() if v is not None},
            }
            out.add("performance", record, f"line {bench['at']}", run=run, units={"time": "ns"})
