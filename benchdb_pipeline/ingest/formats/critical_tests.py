"""Critical model test results: one test process per model, with its exit and stderr."""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, mapping_at, object_entries, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

TEST_MODULE = "critical_model_tests"


def _last_line(text: str | None) -> str | None:
    """The error a traceback ends with: its last non-empty line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else None


class CriticalModelTests(Adapter):
    name = "critical_model_tests"
    shape = '{"model_results": {model: {...}}, "summary": {...}}'
    category = "integration"

    def matches(self, doc: object) -> bool:
        return isinstance(doc, Mapping) and isinstance(doc.get("model_results"), Mapping)

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        when = doc.get("test_timestamp") or doc.get("timestamp")
        summary = mapping_at(doc, "summary")
        failed = summary.get("failed")
        run = out.add_run(
            run_record(
                source,
                "integration",
                doc,
                started_at=when,
                success=None if not isinstance(failed, int) else failed == 0,
                metadata={"summary": summary} if summary else None,
            )
        )
        for model, locator, result in object_entries(
            out, doc["model_results"], "$.model_results", "a test result object"
        ):
            stderr = result.get("stderr") or None
            if stderr is not None and not isinstance(stderr, str):
                out.problems.append(Problem(locator, "stderr", "expected text"))
                continue
            passed = str(result.get("status", "")).lower() in ("passed", "pass", "success")
            metadata = {k: result[k] for k in ("return_code", "stdout") if result.get(k) not in (None, "")}
            out.add(
                "integration",
                {
                    "test_module": TEST_MODULE,
                    "test_name": model,
                    "model_name": model,
                    "status": result.get("status"),
                    "elapsed_time": result.get("elapsed_time"),
                    "error_message": None if passed else _last_line(stderr),
                    "error_traceback": None if passed else stderr,
                    "timestamp": when,
                    "metadata": metadata or None,
                },
                locator,
                run=run,
            )
