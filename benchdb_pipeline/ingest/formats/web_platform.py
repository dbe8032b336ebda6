"""A web-platform test's ``result.json`` (WebNN / WebGPU in a browser)."""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, mapping_at, run_record
from benchdb_pipeline.ingest.normalize import Extraction

_DESCRIPTIVE = ("model_key", "headless", "browser_opened", "platform_support", "status")


class WebPlatformResult(Adapter):
    name = "web_platform_result"
    shape = '{"platform": "webgpu", "browser", "metrics": {...}}'
    category = "web_platform"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and isinstance(doc.get("platform"), str)
            and isinstance(doc.get("metrics"), Mapping)
            and any(k in doc for k in ("implementation_type", "platform_support", "browser"))
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        support = mapping_at(doc, "platform_support")
        simulated = doc.get("is_simulation")
        if simulated is None:
            simulated = support.get("simulated")
        status = doc.get("status")
        run = out.add_run(
            run_record(
                source,
                "web_platform",
                doc,
                started_at=doc.get("timestamp"),
                is_simulated=simulated,
                success=None if status is None else str(status).lower() == "success",
            )
        )
        record = {
            "model_name": doc.get("model_name") or doc.get("model"),
            "modality": doc.get("modality"),
            "hardware_type": doc["platform"],
            "browser": doc.get("browser"),
            "browser_version": doc.get("browser_version"),
            "test_file": doc.get("test_file"),
            "success": None if status is None else str(status).lower() == "success",
            "implementation_type": doc.get("implementation_type"),
            "is_simulation": simulated,
            "error_message": doc.get("error"),
            "timestamp": doc.get("timestamp"),
            **doc["metrics"],
            "metrics": {k: doc[k] for k in _DESCRIPTIVE if k in doc},
        }
        out.add("web_platform", record, "$", run=run)
