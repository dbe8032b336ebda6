"""Collected results of a hardware skill test: timings per device, and hardware availability.

Timings are in seconds. Each result names its device; the timing field names the test
case (``pipeline_avg_time`` → ``pipeline``). The ``hardware`` flags become compatibility
rows: detected or not, and compatible when a test on that device succeeded.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import (
    Adapter,
    Source,
    key_locator,
    mapping_at,
    object_entries,
    run_record,
)
from benchdb_pipeline.ingest.normalize import Extraction
from benchdb_pipeline.ingest.rules import convert

_TIMING_SUFFIXES = ("_avg_time", "_time")
_SECONDS = {"time": "s"}


def _timing(result: Mapping) -> tuple[str, float] | None:
    """(test case, seconds) from the result's timing field, e.g. pipeline_avg_time."""
    for key, value in result.items():
        for suffix in _TIMING_SUFFIXES:
            if key.endswith(suffix) and isinstance(value, (int, float)) and not isinstance(value, bool):
                return key[: -len(suffix)], value
    return None


class SkillTest(Adapter):
    name = "skill_test_results"
    shape = '{"metadata": {"model"}, "hardware": {...}, "results": {device: {...}}}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and isinstance(doc.get("results"), Mapping)
            and isinstance(doc.get("hardware"), Mapping)
            and isinstance(doc.get("metadata"), Mapping)
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        meta = doc["metadata"]
        model = meta.get("model")
        when = meta.get("timestamp")
        run = out.add_run(
            run_record(
                source, "hardware_skill", doc, started_at=when, metadata={"tested_on": meta.get("tested_on")}
            )
        )
        performance = mapping_at(doc, "performance")
        outcome: dict[str, list[bool]] = {}
        for key, locator, result in object_entries(out, doc["results"], "$.results", "a result object"):
            device = result.get("device") or key
            outcome.setdefault(str(device).lower(), []).append(result.get("success") is True)
            timing = _timing(result)
            if result.get("success") is not True or timing is None:
                continue
            case, seconds = timing
            stats = mapping_at(performance, key)
            metrics = {
                f"{name}_ms": convert(value, "time", "s")
                for name, value in stats.items()
                if name not in ("avg_time", "num_runs", "inference_time")
                and isinstance(value, (int, float))
                and not isinstance(value, bool)
            }
            out.add(
                "performance",
                {
                    "model_name": result.get("model") or model,
                    "hardware_type": device,
                    "test_case": case,
                    "average_latency": seconds,
                    "iterations": stats.get("num_runs"),
                    "timestamp": when,
                    "metrics": metrics or None,
                },
                locator,
                run=run,
                units=_SECONDS,
            )
        hardware = doc["hardware"]
        details = {k: v for k, v in hardware.items() if not isinstance(v, bool)}
        for hw, detected in hardware.items():
            if not isinstance(detected, bool):
                continue
            results = outcome.get(hw.lower(), [])
            out.add(
                "compatibility",
                {
                    "model_name": model,
                    "hardware_type": hw,
                    "detection_success": detected,
                    "is_compatible": any(results) if results else None,
                    "timestamp": when,
                    "metadata": {k: v for k, v in details.items() if k.startswith(hw.lower())} or None,
                },
                key_locator("$.hardware", hw),
                run=run,
            )
