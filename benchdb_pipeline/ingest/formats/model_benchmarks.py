"""``run_model_benchmarks`` output: benchmarks.<family>.<model>.<hardware>.benchmark_results.

Configurations are keyed ``batch_<b>_seq_<s>``; latencies, ``avg_latency`` and
``total_time`` are in seconds (declared to the rules, which convert them).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, object_entries, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_CONFIG = re.compile(r"^batch_(\d+)(?:_seq_(\d+))?$")
_SECONDS = {"time": "s"}
_DONE = ("completed", "success", "ok")


class ModelBenchmarks(Adapter):
    name = "run_model_benchmarks"
    shape = '{"benchmarks": {family: {model: {hw: {"benchmark_results": {...}}}}}}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("benchmarks"), Mapping):
            return False
        for models in doc["benchmarks"].values():
            for hardware in models.values() if isinstance(models, Mapping) else ():
                for result in hardware.values() if isinstance(hardware, Mapping) else ():
                    if isinstance(result, Mapping) and ("benchmark_results" in result or "status" in result):
                        return True
        return False

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(
            run_record(
                source,
                "performance",
                doc,
                started_at=doc.get("timestamp"),
                metadata={"hardware_info": doc["hardware_info"]} if "hardware_info" in doc else None,
            )
        )
        for family, family_at, models in object_entries(
            out, doc["benchmarks"], "$.benchmarks", "models keyed by name"
        ):
            for model, model_at, hardware in object_entries(out, models, family_at, "hardware keyed by type"):
                for hw, at, result in object_entries(out, hardware, model_at, "a benchmark result object"):
                    self._hardware(out, run, doc, family, model, hw, result, at)

    def _hardware(self, out, run, doc, family, model, hw, result, locator) -> None:
        common = {
            "model_name": result.get("model_name") or model,
            "model_family": result.get("family") or family,
            "hardware_type": result.get("hardware") or hw,
            "timestamp": result.get("timestamp") or doc.get("timestamp"),
        }
        if result.get("model_class"):
            common["model_metadata"] = {"model_class": result["model_class"]}
        status = str(result.get("status", "completed")).lower()
        if status not in _DONE:
            out.add(
                "compatibility",
                {
                    **common,
                    "is_compatible": False,
                    "error_message": result.get("error"),
                    "metadata": {"status": status},
                },
                locator,
                run=run,
            )
            return
        configs = result.get("benchmark_results") or {}
        if not isinstance(configs, Mapping):
            out.problems.append(
                Problem(locator, "benchmark_results", "expected configurations keyed batch_<b>_seq_<s>")
            )
            return
        extra = {}
        if result.get("model_load_time") is not None:
            extra["model_load_time_seconds"] = result["model_load_time"]
        for key, at, config in object_entries(
            out, configs, f"{locator}.benchmark_results", "a configuration object"
        ):
            shape = _CONFIG.match(key)
            if str(config.get("status", "completed")).lower() not in _DONE:
                failures = out.runs[run].setdefault("metadata", {}).setdefault("failed_configurations", {})
                failures[at] = config.get("error") or config.get("status")
                continue
            record = {**common, **{k: v for k, v in config.items() if k != "status"}}
            if shape:
                record.setdefault("batch_size", int(shape[1]))
                if shape[2]:
                    record.setdefault("sequence_length", int(shape[2]))
            if extra:
                record["metrics"] = {**extra, **(config.get("metrics") or {})}
            out.add("performance", record, at, run=run, units=_SECONDS)
