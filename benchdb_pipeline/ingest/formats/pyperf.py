"""pyperf's JSON (``python -m pyperf timeit -o``, ``pyperformance``): ``{version,
metadata, benchmarks: [{metadata?, runs: [{metadata, warmups, values}]}]}``.

Each benchmark (its ``name`` in its own metadata, else the file's) is one result: every value
of every run is one raw sample (a calibration run has only warmups), their mean the latency,
in the benchmark's ``unit`` (``second``; a ``byte`` or ``integer`` benchmark is kept under
``metrics.measures``). The common metadata is the machine: ``cpu_model_name``, ``cpu_count``,
``hostname``, ``platform``; the first run's ``date`` is when it was measured. Loops, the
Python version and the tuning state stay in the run's metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from statistics import fmean

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, mapping_at, run_record
from benchdb_pipeline.ingest.formats.units import place
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_UNITS = {"second": "s"}
_RUN_METADATA = (
    "perf_version",
    "python_version",
    "python_implementation",
    "loops",
    "cpu_config",
    "aslr",
    "timer",
)


class Pyperf(Adapter):
    name = "pyperf"
    shape = '{"version", "metadata": {...}, "benchmarks": [{"runs": [{"values": [...]}]}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        if not isinstance(doc, Mapping):
            return False
        benchmarks = doc.get("benchmarks")
        return (
            isinstance(benchmarks, list)
            and bool(benchmarks)
            and isinstance(benchmarks[0], Mapping)
            and isinstance(benchmarks[0].get("runs"), list)
            and "version" in doc
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        common = mapping_at(doc, "metadata")
        kept = {k: common[k] for k in _RUN_METADATA if k in common}
        run = out.add_run(run_record(source, "performance", {}, metadata={"harness": "pyperf", **kept}))
        for index, bench in enumerate(doc["benchmarks"]):
            locator = f"$.benchmarks[{index}]"
            metadata = {**common, **mapping_at(bench, "metadata")}
            runs = [r for r in bench.get("runs") or [] if isinstance(r, Mapping)]
            values = [float(v) for r in runs for v in r.get("values") or [] if is_number(v)]
            if not values:
                out.problems.append(Problem(locator, "runs", "no values (only warmups or calibration)"))
                continue
            dates = [mapping_at(r, "metadata").get("date") for r in runs if r.get("values")]
            unit = metadata.get("unit", "second")
            record = {
                "model_name": metadata.get("name") or source.stem,
                "test_case": metadata.get("name"),
                "hardware_type": "cpu",
                "device_name": metadata.get("cpu_model_name"),
                "compute_units": metadata.get("cpu_count"),
                "host_name": metadata.get("hostname"),
                "platform": metadata.get("platform"),
                "measured_at": next((d for d in dates if d), None),
                "iterations": len(values),
                "metrics": {
                    "loops": metadata.get("loops"),
                    "runs": len(runs),
                    "values_per_run": len(runs[-1].get("values") or []),
                },
            }
            place(
                record,
                str(metadata.get("name") or "value"),
                fmean(values),
                _UNITS.get(unit, unit),
                samples=values,
            )
            out.add("performance", record, locator, run=run)
