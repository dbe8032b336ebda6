"""The old direct benchmark: ``batch_results`` keyed by batch size, latencies in ms."""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, object_entries, run_record
from benchdb_pipeline.ingest.normalize import Extraction

# Keys of a batch entry that describe the entry, not the measurement.
_ENTRY_FLAGS = ("success", "error")


class DirectBenchmark(Adapter):
    name = "direct_benchmark"
    shape = '{"model", "batch_results": {batch: {"latency_ms", ...}}}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return isinstance(doc, Mapping) and isinstance(doc.get("batch_results"), Mapping)

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        failed = {
            key: entry.get("error")
            for key, entry in doc["batch_results"].items()
            if isinstance(entry, Mapping) and entry.get("success") is False
        }
        run = out.add_run(
            run_record(
                source,
                "performance",
                doc,
                started_at=doc.get("timestamp"),
                success=doc.get("success"),
                metadata={"failed_batches": failed} if failed else None,
            )
        )
        shared = {k: doc[k] for k in ("model", "hardware", "device_name", "precision") if k in doc}
        for key, locator, entry in object_entries(
            out, doc["batch_results"], "$.batch_results", "an object per batch size"
        ):
            if key in failed:
                continue
            record = {**shared, **{k: v for k, v in entry.items() if k not in _ENTRY_FLAGS}}
            record.setdefault("batch_size", key)
            record.setdefault("timestamp", doc.get("timestamp"))
            out.add("performance", record, locator, run=run)
