"""Rust's benchmarks: libtest's ``cargo bench`` text output and cargo-criterion's JSON messages.

libtest prints ``test <name> ... bench: <value> <unit> (+/- <deviation>)`` (``ns/iter``; custom
harnesses print ``cycles/iter``, ``MS/s``…): a time per iteration is the latency, any other
unit is kept under ``metrics.measures``, the deviation beside it. cargo-criterion
(``--message-format=json``) prints a ``benchmark-complete`` message per benchmark: the mean is
the latency, the median its p50, each sample's time per iteration a raw sample, and the typical
time, slope and median absolute deviation with their bounds are kept. Neither records the
machine or the time: the host CPU is assumed and the measured-at time stays NULL.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import orjson

from benchdb_pipeline.ingest.formats.base import (
    Adapter,
    Source,
    TextAdapter,
    is_number,
    mapping_at,
    run_record,
)
from benchdb_pipeline.ingest.formats.units import latency_factor, place
from benchdb_pipeline.ingest.normalize import Extraction

_LINE = re.compile(r"^test (\S+)\s+\.\.\. bench:\s+([\d,.]+) (\S+)(?: \(\+/- ([\d,.]+)\))?")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


class LibtestBench(TextAdapter):
    name = "cargo_bench_libtest"
    shape = "test bench_fib_20 ... bench:      18,149 ns/iter (+/- 755)"
    category = "performance"

    def recognises(self, head: str) -> bool:
        return any(_LINE.match(line) for line in head.splitlines())

    def parse_text(self, text: str) -> dict | None:
        found = [
            {"name": m.group(1), "value": _number(m.group(2)), "unit": m.group(3),
             "deviation": _number(m.group(4)) if m.group(4) else None, "line": number}
            for number, line in enumerate(text.splitlines(), 1)
            if (m := _LINE.match(line))
        ]  # fmt: skip
        return {"benchmarks": found} if found else None

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(
            run_record(source, "performance", {}, metadata={"harness": "cargo bench (libtest)"})
        )
        for bench in doc["benchmarks"]:
            record: dict = {"model_name": bench["name"], "test_case": bench["name"], "hardware_type": "cpu"}
            place(record, bench["name"], bench["value"], bench["unit"])
            record.setdefault("metrics", {})["deviation"] = {
                "value": bench["deviation"],
                "unit": bench["unit"],
            }
            out.add("performance", record, f"line {bench['line']}", run=run)


def _is_complete(doc: object) -> bool:
    return (
        isinstance(doc, Mapping)
        and doc.get("reason") == "benchmark-complete"
        and isinstance(doc.get("mean"), Mapping)
    )


class CargoCriterion(Adapter):
    """cargo-criterion's ``--message-format=json``: a ``benchmark-complete`` message per
    benchmark (one object, or one per line: see ``CargoCriterionLines``)."""

    name = "cargo_criterion"
    shape = '{"reason": "benchmark-complete", "id", "mean": {"estimate", "unit": "ns"}, "measured_values", "iteration_count"}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return _is_complete(doc)

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(run_record(source, "performance", {}, metadata={"harness": "cargo-criterion"}))
        _criterion(doc, out, run, "$")


class CargoCriterionLines(TextAdapter):
    """cargo-criterion's JSON messages one per line, as it prints them for several benchmarks."""

    name = "cargo_criterion_lines"
    shape = '{"reason": "benchmark-complete", …} one per line (group-complete lines are skipped)'
    category = "performance"

    def recognises(self, head: str) -> bool:
        return '"reason":"benchmark-complete"' in head.replace(" ", "")

    def parse_text(self, text: str) -> dict | None:
        found = []
        for number, line in enumerate(text.splitlines(), 1):
            try:
                message = orjson.loads(line)
            except orjson.JSONDecodeError:
                if line.strip():
                    return None  # not messages, one per line
                continue
            if _is_complete(message):
                found.append((number, message))
        return {"messages": found} if found else None

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(run_record(source, "performance", {}, metadata={"harness": "cargo-criterion"}))
        for number, message in doc["messages"]:
            _criterion(message, out, run, f"line {number}")


def _criterion(doc: Mapping, out: Extraction, run: int, locator: str) -> None:
    """One benchmark: the mean (its unit) the latency, the median its p50, each sample's time
    per iteration a raw sample; elements per iteration make a throughput."""
    mean, median = doc["mean"], mapping_at(doc, "median")
    values, counts = doc.get("measured_values") or [], doc.get("iteration_count") or []
    per_iteration = [
        v / n for v, n in zip(values, counts, strict=False) if is_number(v) and is_number(n) and n
    ]
    record: dict = {
        "model_name": doc.get("id"),
        "test_case": doc.get("id"),
        "hardware_type": "cpu",
        "time_unit": mean.get("unit") or doc.get("unit") or "ns",
        "average_latency": mean.get("estimate"),
        "latency_p50": median.get("estimate"),
        "latencies": per_iteration or None,
        "metrics": {
            k: doc[k] for k in ("typical", "slope", "median_abs_dev", "mean", "change") if doc.get(k)
        },
    }
    for throughput in doc.get("throughput") or []:
        if (
            isinstance(throughput, Mapping)
            and throughput.get("unit") == "elements"
            and is_number(mean.get("estimate"))
        ):
            factor = latency_factor(str(record["time_unit"]))
            if factor and mean["estimate"] > 0:
                record["throughput_items_per_second"] = throughput["per_iteration"] / (
                    mean["estimate"] * factor / 1000
                )
        elif isinstance(throughput, Mapping):
            record["metrics"].setdefault("throughput", []).append(dict(throughput))
    out.add("performance", record, locator, run=run)
