"""JMH's JSON result (``-rf json``): ``[{benchmark, mode, threads, forks, params?,
primaryMetric: {score, scoreError, scoreConfidence, scorePercentiles, scoreUnit, rawData},
secondaryMetrics}]``.

Each benchmark with its parameters is one result: parameters named like a column (``batch_size``,
``precision``, ``model``) fill it, the others name the test case with the benchmark. The score
goes where its unit says: a time per operation (``avgt``, ``sample``, ``ss`` modes: ``us/op``)
is the latency, its raw iteration scores the samples; a rate (``thrpt``: ``ops/s``) the
throughput. In ``sample`` mode the percentiles are of single operations: they fill the
latency percentiles. Secondary metrics (``·gc.alloc.rate``…) are kept under
``metrics.measures``. JMH records the JVM but not the machine: the host CPU is assumed.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, run_record, split_parameters
from benchdb_pipeline.ingest.formats.units import latency_factor, place
from benchdb_pipeline.ingest.normalize import MEASURES, Extraction, Problem

_PERCENTILES = {
    "50.0": "latency_p50_ms",
    "90.0": "latency_p90_ms",
    "95.0": "latency_p95_ms",
    "99.0": "latency_p99_ms",
}


class JMH(Adapter):
    name = "jmh"
    shape = '[{"benchmark", "mode": "thrpt", "primaryMetric": {"score", "scoreUnit": "ops/s"}}]'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, list)
            and bool(doc)
            and all(isinstance(e, Mapping) and "benchmark" in e and "primaryMetric" in e for e in doc)
        )

    def extract(self, doc: list, out: Extraction, source: Source) -> None:
        first = doc[0]
        jvm = {k: first.get(k) for k in ("jmhVersion", "jdkVersion", "vmName", "vmVersion") if first.get(k)}
        run = out.add_run(run_record(source, "performance", {}, metadata={"harness": "jmh", **jvm}))
        for index, entry in enumerate(doc):
            locator = f"$[{index}]"
            primary, params = entry["primaryMetric"], entry.get("params") or {}
            if not isinstance(primary, Mapping) or not isinstance(params, Mapping):
                out.problems.append(Problem(locator, "primaryMetric", "expected an object"))
                continue
            score, unit = primary.get("score"), primary.get("scoreUnit")
            if not is_number(score) or not isinstance(unit, str):
                out.problems.append(
                    Problem(f"{locator}.primaryMetric", "score", f"{score!r} {unit!r} is not a score")
                )
                continue
            fields, test_case = split_parameters(str(entry["benchmark"]), params)
            record: dict = {
                "model_name": entry["benchmark"],
                "test_case": test_case,
                "hardware_type": "cpu",
                **fields,
            }
            raw = [v for fork in primary.get("rawData") or [] for v in fork if is_number(v)]
            factor = latency_factor(unit)
            place(record, "score", float(score), unit, samples=raw if factor is not None else None)
            if entry.get("mode") == "sample" and factor is not None:
                percentiles = primary.get("scorePercentiles") or {}
                record.update(
                    {
                        col: percentiles[p] * factor
                        for p, col in _PERCENTILES.items()
                        if is_number(percentiles.get(p))
                    }
                )
            metrics = record.setdefault("metrics", {})
            metrics.update(
                {"mode": entry.get("mode"), "threads": entry.get("threads"), "forks": entry.get("forks"),
                 "score_error": primary.get("scoreError"), "score_unit": unit, "params": dict(params) or None}
            )  # fmt: skip
            if factor is None:
                metrics["raw_scores"] = raw
            for name, secondary in (entry.get("secondaryMetrics") or {}).items():
                if isinstance(secondary, Mapping) and is_number(secondary.get("score")):
                    metrics.setdefault(MEASURES, {})[name] = {
                        "value": secondary["score"],
                        "unit": secondary.get("scoreUnit"),
                    }
            record["metrics"] = {k: v for k, v in metrics.items() if v is not None}
            out.add("performance", record, locator, run=run)
