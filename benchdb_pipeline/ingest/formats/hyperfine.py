"""hyperfine's ``--export-json``: ``results[]`` with ``command``, ``times`` and ``parameters``.

Times are wall-clock seconds of each run of a whole command, kept as raw samples. A
parameter scan's values (``-P batch_size 1 8``) become fields, so ``model``,
``batch_size`` or ``precision`` parameters fill those columns; without a ``model``
parameter the command is the model. hyperfine records no date and no machine: the
measured-at time stays NULL and the hardware is the CPU with no device name. A command that
exited non-zero in any run (``-i``) is stored with status ``failed``: kept, but never a
latest value, a series point or a baseline. ``memory_usage_byte`` (hyperfine ≥ 1.20, one
peak RSS per run) gives the peak memory.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, overlay, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_SECONDS = {"time": "s"}


class Hyperfine(Adapter):
    name = "hyperfine"
    shape = '{"results": [{"command", "times": [...], "mean"}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        results = doc.get("results") if isinstance(doc, Mapping) else None
        return (
            isinstance(results, list)
            and bool(results)
            and isinstance(results[0], Mapping)
            and "command" in results[0]
            and "times" in results[0]
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(run_record(source, "performance", doc, metadata={"harness": "hyperfine"}))
        for index, result in enumerate(doc["results"]):
            locator = f"$.results[{index}]"
            if not isinstance(result, Mapping):
                out.problems.append(Problem(locator, None, "expected an object per command"))
                continue
            parameters = result.get("parameters") or {}
            if not isinstance(parameters, Mapping):
                out.problems.append(Problem(locator, "parameters", "expected an object"))
                continue
            exit_codes = result.get("exit_codes") or []
            if not isinstance(exit_codes, list) or not all(
                isinstance(code, int) and not isinstance(code, bool) for code in exit_codes
            ):
                out.problems.append(Problem(locator, "exit_codes", "expected a list of whole numbers"))
                continue
            failed_runs = sum(1 for code in exit_codes if code != 0)
            memory = result.get("memory_usage_byte")
            if isinstance(memory, list):
                memory = max(memory, default=None, key=lambda v: v if isinstance(v, (int, float)) else -1)
            record = {
                "hardware_type": "cpu",
                "model_name": result.get("command"),
                "test_case": result.get("command"),
                "latencies": result.get("times"),
                "average_latency": result.get("mean"),
                "latency_p50": result.get("median"),
                "memory_peak_bytes": memory,
                "status": "failed" if failed_runs else "ok",
                "metrics": {
                    "stddev_seconds": result.get("stddev"),
                    "min_seconds": result.get("min"),
                    "max_seconds": result.get("max"),
                    "user_seconds": result.get("user"),
                    "system_seconds": result.get("system"),
                    "failed_runs": failed_runs,
                    "exit_codes": sorted(set(exit_codes)),
                    "sample_kind": "wall-clock time of each run of the command",
                },
            }
            out.add("performance", overlay(record, parameters), locator, run=run, units=_SECONDS)
