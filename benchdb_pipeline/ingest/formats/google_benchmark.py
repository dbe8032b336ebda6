"""Google Benchmark's ``--benchmark_format=json`` / ``--benchmark_out``: ``context`` and
``benchmarks``.

Rows are grouped by ``run_name``: each repetition's ``iteration`` row gives one raw sample
(its mean time per iteration, in the row's ``time_unit``); ``aggregate`` rows (mean,
median, stddev, cv) give the average and median where present. Named arguments
(``BM_infer/batch:8/seq_len:128``) become fields; the family name is the model. A
benchmark that reported ``error_occurred`` yields no result: the run records its error.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, overlay, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_CONTEXT_KEPT = ("host_name", "executable", "mhz_per_cpu", "cpu_scaling_enabled", "caches",
                 "load_avg", "library_version", "library_build_type")
# Fields of a row that are not user counters.
_ROW_FIELDS = frozenset((
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "iterations", "real_time", "cpu_time", "time_unit",
    "aggregate_name", "aggregate_unit", "error_occurred", "error_message", "label",
))


def named_arguments(run_name: str) -> dict[str, str]:
    """``family/batch:8/threads:2`` → ``{"batch": "8"}`` (thread counts are Google's own)."""
    parts = run_name.split("/")[1:]
    return dict(part.split(":", 1) for part in parts if ":" in part and not part.startswith(
        ("threads:", "real_time", "manual_time", "min_time:", "repeats:", "iterations:")))


class GoogleBenchmark(Adapter):
    name = "google_benchmark"
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (isinstance(doc, Mapping) and isinstance(doc.get("context"), Mapping)
                and isinstance(doc.get("benchmarks"), list))

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        context = doc["context"]
        groups: dict[str, list[tuple[int, Mapping]]] = {}
        for index, row in enumerate(doc["benchmarks"]):
            if not isinstance(row, Mapping) or not isinstance(row.get("name"), str):
                out.problems.append(Problem(f"$.benchmarks[{index}]", "name",
                                            "expected a benchmark row with a name"))
                continue
            groups.setdefault(row.get("run_name") or row["name"], []).append((index, row))
        failed = {name: rows[0][1].get("error_message") for name, rows in groups.items()
                  if any(row.get("error_occurred") for _, row in rows)}
        run = out.add_run(run_record(
            source, "performance", doc,
            started_at=context.get("date"),
            success=not failed,
            metadata={"harness": "google-benchmark",
                      **({"failed_benchmarks": failed} if failed else {}),
                      **{k: context[k] for k in _CONTEXT_KEPT if k in context}},
        ))
        hardware = {"hardware_type": "cpu", "compute_units": context.get("num_cpus"),
                    "timestamp": context.get("date")}
        for name, rows in groups.items():
            if name not in failed:
                self._add(name, rows, hardware, out, run)

    @staticmethod
    def _add(name: str, rows: list[tuple[int, Mapping]], defaults: dict, out: Extraction,
             run: int) -> None:
        locator = f"$.benchmarks[{rows[0][0]}]"
        iterations = [row for _, row in rows if row.get("run_type", "iteration") == "iteration"]
        aggregates = {row.get("aggregate_name"): row for _, row in rows
                      if row.get("run_type") == "aggregate"}
        units = {row.get("time_unit") for _, row in rows}
        if len(units) > 1:
            out.problems.append(Problem(locator, "time_unit", f"rows of {name} mix time units {units}"))
            return
        summary = aggregates.get("mean") or (iterations[0] if len(iterations) == 1 else {})
        counts = [row.get("iterations") for row in iterations]
        counters = {k: v for k, v in summary.items() if k not in _ROW_FIELDS}
        record = {
            "model_name": name.split("/", 1)[0],
            "test_case": name,
            "latencies": [row.get("real_time") for row in iterations],
            "average_latency": summary.get("real_time"),
            "latency_p50": aggregates["median"].get("real_time") if "median" in aggregates else None,
            "iterations": sum(counts) if counts and all(is_number(c) for c in counts) else None,
            "throughput_items_per_second": counters.pop("items_per_second", None),
            "metrics": {
                "cpu_time": summary.get("cpu_time"),
                "time_unit": next(iter(units)),
                "threads": summary.get("threads"),
                "repetitions": len(iterations),
                "iterations_per_repetition": counts,
                "aggregates": {k: v.get("real_time") for k, v in aggregates.items() if k},
                "counters": counters or None,
                "label": summary.get("label"),
                "sample_kind": "mean time per iteration of each repetition",
            },
        }
        record = overlay({**defaults, **record}, named_arguments(name))
        out.add("performance", record, locator, run=run, units={"time": next(iter(units)) or "ns"})
