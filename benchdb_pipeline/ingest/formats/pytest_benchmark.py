"""pytest-benchmark's ``--benchmark-json``: ``machine_info``, ``commit_info``, ``benchmarks``.

Times are seconds per call. ``stats.data`` holds one sample per round (the mean call time
of that round), kept as raw samples; the percentiles are taken over them, as
pytest-benchmark's own median and quartiles are.

What the harness measured is never overridden: a ``latency_ms`` or ``throughput`` that a
test put into ``extra_info`` is kept under ``metrics.extra_info`` (and used only for a column
the harness left empty). Descriptors come from ``params`` (parametrised tests), then
``extra_info`` on top: model, hardware, device, batch size, precision. A call is one item
unless a batch size is known; throughput is then items (calls × batch) per second. Model
defaults to the test's name, hardware to the host CPU (py-cpuinfo's ``brand_raw``, or
``brand`` in older versions), with its core count and the host name. ``has_error`` (set by
the documented hook that keeps errored benchmarks) marks the result failed.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, mapping_at, on_host, overlay, run_record
from benchdb_pipeline.ingest.normalize import KINDS, Extraction, Problem

_SECONDS = {"time": "s"}
# pytest-benchmark's words for "not known".
_UNKNOWN = ("unversioned", "(unknown)", "")
# Statistics in seconds kept beside the columns, under metrics.
_KEPT_SECONDS = ("min", "max", "stddev", "iqr", "q1", "q3", "ld15iqr", "hd15iqr")
_LOOKUP = KINDS["performance"].lookup


def _known(value: object) -> object:
    return None if value in _UNKNOWN else value


def host(machine: Mapping) -> dict:
    """The machine that ran the tests, from ``machine_info`` (py-cpuinfo's fields)."""
    cpu = mapping_at(machine, "cpu")
    return {
        "hardware_type": "cpu",
        "device_name": cpu.get("brand_raw") or cpu.get("brand") or None,
        "compute_units": cpu.get("count"),
        "host_name": machine.get("node") or None,
        "platform": machine.get("system"),
        "platform_version": machine.get("release"),
        "hardware_metadata": {
            k: cpu[k] for k in ("arch", "vendor_id_raw", "hz_advertised_friendly") if cpu.get(k)
        }
        or None,
    }


def _column(key: str) -> str | None:
    hit = _LOOKUP.get(key)
    return hit[0].column if hit else None


class PytestBenchmark(Adapter):
    name = "pytest_benchmark"
    shape = '{"machine_info", "commit_info", "benchmarks": [{"name", "stats": {...}}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and isinstance(doc.get("machine_info"), Mapping)
            and isinstance(doc.get("benchmarks"), list)
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        machine = doc["machine_info"]
        commit = mapping_at(doc, "commit_info")
        run = out.add_run(
            run_record(
                source,
                "performance",
                doc,
                started_at=doc.get("datetime"),
                git_commit=_known(commit.get("id")),
                git_branch=_known(commit.get("branch")),
                metadata={
                    "harness": "pytest-benchmark",
                    "harness_version": doc.get("version"),
                    "machine_info": dict(machine),
                    "commit_info": dict(commit),
                },
            )
        )
        machine_row = host(machine)
        for index, bench in enumerate(doc["benchmarks"]):
            locator = f"$.benchmarks[{index}]"
            record = self._record(bench, locator, out)
            if record is not None:
                record = on_host({**machine_row, "timestamp": doc.get("datetime")}, record)
                out.add("performance", record, locator, run=run, units=_SECONDS)

    @staticmethod
    def _record(bench: object, locator: str, out: Extraction) -> dict | None:
        if not isinstance(bench, Mapping) or not isinstance(bench.get("stats"), Mapping):
            out.problems.append(Problem(locator, "stats", "expected a benchmark with a stats object"))
            return None
        stats, extra = bench["stats"], bench.get("extra_info") or {}
        params = mapping_at(bench, "params")
        if not isinstance(extra, Mapping):
            out.problems.append(Problem(locator, "extra_info", "expected an object"))
            return None
        rounds, per_round, ops = stats.get("rounds"), stats.get("iterations"), stats.get("ops")
        measured = {
            "average_latency": stats.get("mean"),
            "latency_p50": stats.get("median"),
            "total_time": stats.get("total"),
            "latencies": stats.get("data"),
            "iterations": rounds * per_round
            if isinstance(rounds, int) and isinstance(per_round, int)
            else None,
        }
        measured_columns = {_column(k) for k, v in measured.items() if v is not None}
        given = overlay(params, extra)
        # What the user wrote for a column the harness measured goes to metrics, untouched.
        shadowed = {
            k: v
            for k, v in given.items()
            if _column(k) in measured_columns or _column(k) == "throughput_items_per_second"
        }
        descriptors = {k: v for k, v in given.items() if k not in shadowed}
        batch = KINDS["performance"].normalise(descriptors, locator, partial=True)[0].get("batch_size")
        failed = extra.get("has_error") is True
        user_throughput = {k: v for k, v in shadowed.items() if _column(k) == "throughput_items_per_second"}
        record = {
            "model_name": bench.get("name"),
            "test_case": bench.get("fullname"),
            **{k: v for k, v in measured.items() if v is not None},
            "throughput_items_per_second": ops * batch if ops is not None and batch else ops,
            "metrics": {
                "stats_seconds": {k: stats[k] for k in _KEPT_SECONDS if k in stats},
                "outliers": stats.get("outliers"),
                "calls_per_second": ops,
                "rounds": rounds,
                "iterations_per_round": per_round,
                "group": bench.get("group"),
                "params": bench.get("params"),
                "extra_info": dict(shadowed) or None,
                "sample_kind": "mean call time of each round",
            },
        }
        if ops is None and user_throughput:  # the harness measured none: the user's stands
            record.pop("throughput_items_per_second")
            record.update(user_throughput)
        if failed:
            record["status"] = "failed"
        descriptors.pop("has_error", None)
        return overlay(record, descriptors)
