"""pytest-benchmark's ``--benchmark-json``: ``machine_info``, ``commit_info``, ``benchmarks``.

Times are seconds per call. ``stats.data`` holds one sample per round (the mean call time
of that round), kept as raw samples; the percentiles are taken over them, as
pytest-benchmark's own median and quartiles are. A call is one item unless the test put a
``batch_size`` into ``benchmark.extra_info``; model, hardware and precision can be given
there too, and default to the test's name and the host CPU that ran it.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, overlay, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_SECONDS = {"time": "s"}
# pytest-benchmark's words for "not known".
_UNKNOWN = ("unversioned", "(unknown)", "")
# Statistics in seconds kept beside the columns, under metrics.
_KEPT_SECONDS = ("min", "max", "stddev", "iqr", "q1", "q3", "ld15iqr", "hd15iqr")


def _known(value: object) -> object:
    return None if value in _UNKNOWN else value


def host(machine: Mapping) -> dict:
    """The CPU that ran the tests, from ``machine_info`` (py-cpuinfo's fields)."""
    cpu = machine.get("cpu") if isinstance(machine.get("cpu"), Mapping) else {}
    return {
        "hardware_type": "cpu",
        "device_name": cpu.get("brand_raw") or None,
        "compute_units": cpu.get("count"),
        "platform": machine.get("system"),
        "platform_version": machine.get("release"),
        "hardware_metadata": {k: cpu[k] for k in ("arch", "vendor_id_raw", "hz_advertised_friendly")
                              if cpu.get(k)} or None,
    }


class PytestBenchmark(Adapter):
    name = "pytest_benchmark"
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (isinstance(doc, Mapping) and isinstance(doc.get("machine_info"), Mapping)
                and isinstance(doc.get("benchmarks"), list))

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        machine = doc["machine_info"]
        commit = doc.get("commit_info") if isinstance(doc.get("commit_info"), Mapping) else {}
        run = out.add_run(run_record(
            source, "performance", doc,
            started_at=doc.get("datetime"),
            git_commit=_known(commit.get("id")),
            git_branch=_known(commit.get("branch")),
            metadata={"harness": "pytest-benchmark", "harness_version": doc.get("version"),
                      "machine_info": dict(machine), "commit_info": dict(commit)},
        ))
        hardware = host(machine)
        for index, bench in enumerate(doc["benchmarks"]):
            locator = f"$.benchmarks[{index}]"
            record = self._record(bench, locator, out)
            if record is not None:
                record = overlay({**hardware, "timestamp": doc.get("datetime")}, record)
                out.add("performance", record, locator, run=run, units=_SECONDS)

    @staticmethod
    def _record(bench: object, locator: str, out: Extraction) -> dict | None:
        if not isinstance(bench, Mapping) or not isinstance(bench.get("stats"), Mapping):
            out.problems.append(Problem(locator, "stats", "expected a benchmark with a stats object"))
            return None
        stats, extra = bench["stats"], bench.get("extra_info") or {}
        if not isinstance(extra, Mapping):
            out.problems.append(Problem(locator, "extra_info", "expected an object"))
            return None
        rounds, per_round = stats.get("rounds"), stats.get("iterations")
        batch, ops = extra.get("batch_size"), stats.get("ops")
        measured = {
            "model_name": bench.get("name"),
            "test_case": bench.get("fullname"),
            "average_latency": stats.get("mean"),
            "latency_p50": stats.get("median"),
            "total_time": stats.get("total"),
            "latencies": stats.get("data"),
            "iterations": rounds * per_round if isinstance(rounds, int) and isinstance(per_round, int)
            else None,
            "throughput_items_per_second": ops * batch if is_number(ops) and is_number(batch) else ops,
            "metrics": {
                "stats_seconds": {k: stats[k] for k in _KEPT_SECONDS if k in stats},
                "outliers": stats.get("outliers"), "calls_per_second": ops,
                "rounds": rounds, "iterations_per_round": per_round,
                "group": bench.get("group"), "params": bench.get("params"),
                "sample_kind": "mean call time of each round",
            },
        }
        return overlay(measured, extra)
