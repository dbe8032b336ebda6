"""Google Benchmark's ``--benchmark_format=json`` / ``--benchmark_out``: ``context`` and
``benchmarks``.

Rows are grouped by ``run_name``: each repetition's ``iteration`` row gives one raw sample
(its mean time per iteration, in the row's ``time_unit``); ``aggregate`` rows (mean,
median, stddev, cv) give the average and median where present, and are never results of
their own. Before 1.5 the library wrote aggregates as rows named ``<name>_mean``,
``_median``, ``_stddev`` (also after named arguments, ``BM_x/batch:8_mean``) with no
``run_type``: they are recognised as aggregates of ``<name>`` when that name has rows.
Complexity fits (``BigO`` and ``RMS`` rows, ``SetComplexityN``) are kept under the
family's ``metrics.complexity``. Named arguments (``BM_infer/batch:8/seq_len:128``) and
custom context (``--benchmark_context=k=v``, ``AddCustomContext``: model, hardware,
precision, commit, branch) become fields; the family name is the default model. The host is
the CPU with its core count and host name. A benchmark that reported ``error_occurred``
yields no result (the run records its error); one with no time at all is left out with a
note.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, on_host, overlay, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

# The context keys the library writes itself; any other key is the user's custom context.
_STANDARD_CONTEXT = frozenset(
    (
        "date",
        "host_name",
        "executable",
        "num_cpus",
        "mhz_per_cpu",
        "cpu_scaling_enabled",
        "aslr_enabled",
        "caches",
        "load_avg",
        "library_version",
        "library_build_type",
        "json_schema_version",
        "sys_info",
    )
)
_CONTEXT_KEPT = (
    "host_name",
    "executable",
    "num_cpus",
    "mhz_per_cpu",
    "cpu_scaling_enabled",
    "caches",
    "load_avg",
    "library_version",
    "library_build_type",
)
# Fields of a row that are not user counters.
_ROW_FIELDS = frozenset(
    (
        "name",
        "family_index",
        "per_family_instance_index",
        "run_name",
        "run_type",
        "repetitions",
        "repetition_index",
        "threads",
        "iterations",
        "real_time",
        "cpu_time",
        "time_unit",
        "aggregate_name",
        "aggregate_unit",
        "error_occurred",
        "error_message",
        "label",
    )
)
_AGGREGATE_SUFFIXES = ("mean", "median", "stddev", "cv")
_COMPLEXITY = ("BigO", "RMS")
_COMPLEXITY_FIELDS = ("big_o", "real_coefficient", "cpu_coefficient", "rms", "time_unit")
_RUN_CONTEXT = ("commit", "git_commit", "sha", "branch", "git_branch")


def named_arguments(run_name: str) -> dict[str, str]:
    """``family/batch:8/threads:2`` → ``{"batch": "8"}`` (thread counts are Google's own)."""
    parts = run_name.split("/")[1:]
    return dict(
        part.split(":", 1)
        for part in parts
        if ":" in part
        and not part.startswith(
            ("threads:", "real_time", "manual_time", "min_time:", "repeats:", "iterations:")
        )
    )


def _classify(row: Mapping, names: set[str]) -> tuple[str, str, str | None]:
    """(series name, kind, aggregate name); kind is iteration, aggregate or complexity."""
    name, aggregate = row["name"], row.get("aggregate_name")
    base, _, suffix = name.rpartition("_")
    if aggregate in _COMPLEXITY or "big_o" in row or "rms" in row:
        return row.get("run_name") or base or name, "complexity", aggregate or suffix
    if row.get("run_type") == "aggregate":
        return row.get("run_name") or name, "aggregate", aggregate
    if "run_type" not in row and suffix in _AGGREGATE_SUFFIXES and base in names:
        return base, "aggregate", suffix  # before 1.5: no run_type, the suffix says it
    return row.get("run_name") or name, "iteration", None


# Row fields read as names: text or absent.
_TEXT_FIELDS = ("run_name", "run_type", "aggregate_name", "time_unit", "label", "error_message")


class GoogleBenchmark(Adapter):
    name = "google_benchmark"
    shape = '{"context": {...}, "benchmarks": [{"name", "real_time", "time_unit"}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and isinstance(doc.get("context"), Mapping)
            and isinstance(doc.get("benchmarks"), list)
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        context = doc["context"]
        custom = {k: v for k, v in context.items() if k not in _STANDARD_CONTEXT}
        rows: list[tuple[int, Mapping]] = []
        for index, row in enumerate(doc["benchmarks"]):
            if not isinstance(row, Mapping) or not isinstance(row.get("name"), str):
                out.problems.append(
                    Problem(f"$.benchmarks[{index}]", "name", "expected a benchmark row with a name")
                )
                continue
            if texts := [k for k in _TEXT_FIELDS if row.get(k) is not None and not isinstance(row[k], str)]:
                out.problems.append(Problem(f"$.benchmarks[{index}]", texts[0], "expected text"))
                continue
            rows.append((index, row))
        names = {row["name"] for _, row in rows}
        groups: dict[str, list[tuple[int, Mapping, str | None]]] = {}
        complexity: dict[str, dict] = {}
        for index, row in rows:
            series, kind, aggregate = _classify(row, names)
            if kind == "complexity":
                fit = complexity.setdefault(series.split("/", 1)[0], {})
                fit.update({k: row[k] for k in _COMPLEXITY_FIELDS if k in row})
                continue
            groups.setdefault(series, []).append((index, row, aggregate if kind == "aggregate" else None))
        failed = {
            name: members[0][1].get("error_message")
            for name, members in groups.items()
            if any(row.get("error_occurred") for _, row, _ in members)
        }
        run = out.add_run(
            run_record(
                source,
                "performance",
                doc,
                started_at=context.get("date"),
                success=not failed,
                **{k: custom[k] for k in _RUN_CONTEXT if k in custom},
                metadata={
                    "harness": "google-benchmark",
                    **({"failed_benchmarks": failed} if failed else {}),
                    **({"custom_context": custom} if custom else {}),
                    **{k: context[k] for k in _CONTEXT_KEPT if k in context},
                },
            )
        )
        host = {
            "hardware_type": "cpu",
            "compute_units": context.get("num_cpus"),
            "host_name": context.get("host_name"),
            "timestamp": context.get("date"),
        }
        given = {k: v for k, v in custom.items() if k not in _RUN_CONTEXT}
        for name, members in groups.items():
            if name in failed:
                continue
            if not any(is_number(row.get("real_time")) for _, row, _ in members):
                out.note(run, f"{name}: no time measured; not stored as a result")
                continue
            family = name.split("/", 1)[0]
            described = on_host({**host, "model_name": family, "test_case": name}, given)
            self._add(name, members, described, complexity.get(family), out, run)

    @staticmethod
    def _add(
        name: str,
        members: list[tuple[int, Mapping, str | None]],
        described: dict,
        complexity: dict | None,
        out: Extraction,
        run: int,
    ) -> None:
        locator = f"$.benchmarks[{members[0][0]}]"
        iterations = [row for _, row, aggregate in members if aggregate is None]
        aggregates = {aggregate: row for _, row, aggregate in members if aggregate is not None}
        units = {row.get("time_unit") for _, row, _ in members}
        if len(units) > 1:
            out.problems.append(Problem(locator, "time_unit", f"rows of {name} mix time units {units}"))
            return
        summary = aggregates.get("mean") or (iterations[0] if len(iterations) == 1 else {})
        counts = [row.get("iterations") for row in iterations]
        whole_counts = [count for count in counts if is_number(count)]
        counters = {k: v for k, v in summary.items() if k not in _ROW_FIELDS}
        throughput = counters.pop("items_per_second", None)
        rates = [row["items_per_second"] for row in iterations if is_number(row.get("items_per_second"))]
        if throughput is None and rates:  # the aggregate lacks it: the repetitions' mean
            throughput = sum(rates) / len(rates)
        measured = {
            "latencies": [row.get("real_time") for row in iterations],
            "average_latency": summary.get("real_time"),
            "latency_p50": aggregates["median"].get("real_time") if "median" in aggregates else None,
            "iterations": sum(whole_counts) if counts and len(whole_counts) == len(counts) else None,
            "throughput_items_per_second": throughput,
            "metrics": {
                "cpu_time": summary.get("cpu_time"),
                "time_unit": next(iter(units)),
                "threads": summary.get("threads"),
                "repetitions": len(iterations),
                "iterations_per_repetition": counts,
                "aggregates": {k: v.get("real_time") for k, v in aggregates.items() if k},
                "counters": counters or None,
                "complexity": complexity,
                "label": summary.get("label"),
                "sample_kind": "mean time per iteration of each repetition",
            },
        }
        record = overlay({**described, **measured}, named_arguments(name))
        out.add("performance", record, locator, run=run, units={"time": next(iter(units)) or "ns"})
