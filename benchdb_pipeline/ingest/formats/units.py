"""Where a measurement that arrives as ``(value, unit)`` belongs: the latency column for a
time per operation, the throughput column for operations per unit of time, else
``metrics.measures`` under its name with its unit kept (a file size, an allocation count, a
unit benchdb does not model): never refused for its unit alone."""

from __future__ import annotations

import re

from benchdb_pipeline.ingest.normalize import MEASURES
from benchdb_pipeline.ingest.rules import UNITS

_PER_OPERATION = re.compile(r"^(.+?)\s*/\s*(op|ops|operation|iter|iteration|call|run)$")
_RATE = re.compile(
    r"^(ops?|operations?|req|requests?|items?|it|samples?|calls?|iter|iterations?|runs?|queries)\s*/\s*(.+)$"
)


def latency_factor(unit: str) -> float | None:
    """Milliseconds per one of ``unit`` (``ns``, ``us/op``, ``s/iter``); None if not a time."""
    unit = unit.strip().lower()
    found = _PER_OPERATION.match(unit)
    return UNITS["time"].get(found.group(1) if found else unit)


def rate_factor(unit: str) -> float | None:
    """Items per second per one of ``unit`` (``ops/s``, ``req/ms``); None if not a rate."""
    found = _RATE.match(unit.strip().lower())
    per = UNITS["time"].get(found.group(2)) if found else None
    return 1000.0 / per if per else None


def place(record: dict, name: str, value: float, unit: str | None, *, samples: list | None = None) -> str:
    """Put one measurement into ``record``: ``average_latency_ms`` (and its samples),
    ``throughput_items_per_second``, or ``metrics.measures[name]``; returns where it went.
    A column already filled keeps its value and this one goes to the measures."""
    if unit:
        factor = latency_factor(unit)
        if factor is not None and "average_latency_ms" not in record:
            record["average_latency_ms"] = value * factor
            if samples:
                record["latencies_ms"] = [v * factor for v in samples]
            return "average_latency_ms"
        factor = rate_factor(unit)
        if factor is not None and "throughput_items_per_second" not in record:
            record["throughput_items_per_second"] = value * factor
            return "throughput_items_per_second"
    measures = record.setdefault("metrics", {}).setdefault(MEASURES, {})
    measures[name] = {"value": value, "unit": unit}
    return MEASURES
