"""Bencher Metric Format (BMF): ``{benchmark: {measure: {value, lower_value?, upper_value?}}}``.

Each benchmark is one result, named by its key. Bencher's built-in measures have fixed units:
``latency`` in nanoseconds (the latency column) and ``throughput`` in operations per second
(the throughput column); every other measure (``build-time`` in seconds, ``file-size`` in
bytes, a custom one) is kept under ``metrics.measures`` with its unit where Bencher defines
one. ``lower_value``/``upper_value`` are kept beside their value. BMF names no machine and no
date: the host CPU is assumed and the measured-at time stays NULL.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, key_locator, run_record
from benchdb_pipeline.ingest.formats.units import place
from benchdb_pipeline.ingest.normalize import MEASURES, Extraction, Problem

# Bencher's built-in measures and their units.
UNITS = {"latency": "ns", "throughput": "ops/s", "build-time": "s", "file-size": "B"}


def _is_measure(value: object) -> bool:
    return (
        isinstance(value, Mapping)
        and "value" in value
        and set(value) <= {"value", "lower_value", "upper_value"}
    )


class BencherMetricFormat(Adapter):
    name = "bencher_metric_format"
    shape = '{"bench": {"latency": {"value": 88.0, "lower_value": 87.4}}}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and bool(doc)
            and all(
                isinstance(b, Mapping) and b and all(_is_measure(m) for m in b.values()) for b in doc.values()
            )
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(
            run_record(source, "performance", {}, metadata={"harness": "bencher metric format"})
        )
        for name, measures in doc.items():
            locator = key_locator("$", name)
            record: dict = {"model_name": name, "test_case": name, "hardware_type": "cpu"}
            bounds: dict[str, dict] = {}
            for measure, metric in measures.items():
                value = metric["value"]
                if not is_number(value):
                    out.problems.append(
                        Problem(key_locator(locator, measure), "value", f"{value!r} is not a number")
                    )
                    continue
                if measure in ("latency", "throughput"):
                    place(record, measure, float(value), UNITS[measure])
                else:  # a build time or a file size is no operation's latency
                    record.setdefault("metrics", {}).setdefault(MEASURES, {})[measure] = {
                        "value": float(value),
                        "unit": UNITS.get(measure),
                    }
                kept = {k: metric[k] for k in ("lower_value", "upper_value") if k in metric}
                if kept:
                    bounds[measure] = {**kept, "unit": UNITS.get(measure)}
            if bounds:
                record.setdefault("metrics", {})["bounds"] = bounds
            out.add("performance", record, locator, run=run)
