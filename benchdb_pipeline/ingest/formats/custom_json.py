"""github-action-benchmark's custom JSON (``customBiggerIsBetter`` /
``customSmallerIsBetter``): ``[{name, unit, value, range?, extra?}]``.

Each name is one result. The unit decides the column: a time (``ns``, ``ms/op``) is the
latency, a rate (``ops/s``, ``req/s``) the throughput; any other unit (``Megabytes``,
``count``, …) is kept under ``metrics.measures`` with the unit as written, never refused for
it. Entries of one name are one result. ``range`` and ``extra`` are kept as given. The format
names no machine and no date: the host CPU is assumed and the measured-at time stays NULL.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, run_record
from benchdb_pipeline.ingest.formats.units import place
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_FIELDS = {"name", "unit", "value", "range", "extra"}


class CustomBenchmarkJSON(Adapter):
    name = "github_action_benchmark_custom"
    shape = '[{"name": "parse", "unit": "ns", "value": 90.9, "range": 0.5}]'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, list)
            and bool(doc)
            and all(isinstance(e, Mapping) and {"name", "unit", "value"} <= e.keys() <= _FIELDS for e in doc)
        )

    def extract(self, doc: list, out: Extraction, source: Source) -> None:
        run = out.add_run(
            run_record(source, "performance", {}, metadata={"harness": "github-action-benchmark"})
        )
        records: dict[str, tuple[str, dict]] = {}
        for index, entry in enumerate(doc):
            locator = f"$[{index}]"
            name, unit, value = entry["name"], entry["unit"], entry["value"]
            if not isinstance(name, str) or not isinstance(unit, str):
                out.problems.append(Problem(locator, "name", "name and unit must be text"))
                continue
            if not is_number(value):
                out.problems.append(Problem(locator, "value", f"{value!r} is not a number"))
                continue
            _, record = records.setdefault(
                name, (locator, {"model_name": name, "test_case": name, "hardware_type": "cpu"})
            )
            place(
                record,
                name if name not in record.get("metrics", {}).get("measures", {}) else f"{name} ({unit})",
                float(value),
                unit,
            )
            details = {k: entry[k] for k in ("range", "extra") if k in entry}
            if details:
                record.setdefault("metrics", {}).setdefault("details", {})[unit] = details
        for locator, record in records.values():
            out.add("performance", record, locator, run=run)
