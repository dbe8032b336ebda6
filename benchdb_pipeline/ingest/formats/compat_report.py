"""Compatibility reports the old converter read (the corpus has none; users have them on disk).

Four shapes, each about one or more models on named hardware:

- ``{"tests": [{"model": …, "compatibility": {<hw>: {…}}}]}``, the model falling back to the
  document's;
- ``{"model": …, "compatibility": {<hw>: {…}}}``;
- ``{"model": …, "errors": [{"hardware_type": …, "message": …, "error_type": …}]}``: each error
  says the model is not compatible with that hardware;
- ``{"model": …, "<hw>": true|false, "<hw>_error": "…"}`` for known hardware types.

A cell's ``is_compatible`` (or ``compatible``), ``error`` and ``error_type`` fill their
columns; ``level``, ``memory_required`` and ``memory_available`` (units as the file gives
them) are kept in the row's metadata.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, object_entries, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_MODEL = ("model", "model_name", "model_id")
_FLAG_TYPES = ("cpu", "cuda", "rocm", "mps", "openvino", "webnn", "webgpu", "qnn")


def _model(doc: Mapping) -> object:
    return next((doc[key] for key in _MODEL if doc.get(key) is not None), None)


def _flags(doc: Mapping) -> list[str]:
    """The hardware types a document states a bare true/false for."""
    return [key for key in _FLAG_TYPES if isinstance(doc.get(key), bool)]


class CompatibilityReport(Adapter):
    name = "compatibility_report"
    shape = '{"tests": [{"compatibility": {...}}]}, or a model with per-hardware verdicts'
    category = "compatibility"

    def matches(self, doc: object) -> bool:
        if not isinstance(doc, Mapping):
            return False
        tests = doc.get("tests")
        if isinstance(tests, list) and any(
            isinstance(t, Mapping) and isinstance(t.get("compatibility"), Mapping) for t in tests
        ):
            return True
        if _model(doc) is None:
            return False
        return (
            isinstance(doc.get("compatibility"), Mapping)
            or isinstance(doc.get("errors"), list)
            or bool(_flags(doc))
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        when = doc.get("timestamp")
        run = out.add_run(run_record(source, "compatibility", doc, started_at=when))
        common = {"model_name": _model(doc), "timestamp": when}
        if isinstance(doc.get("tests"), list):
            for index, test in enumerate(doc["tests"]):
                at = f"$.tests[{index}]"
                if not isinstance(test, Mapping) or not isinstance(test.get("compatibility"), Mapping):
                    out.problems.append(Problem(at, "compatibility", "expected cells keyed by hardware"))
                    continue
                model = _model(test) or common["model_name"]
                self._cells(out, run, {**common, "model_name": model}, test["compatibility"], at)
        elif isinstance(doc.get("compatibility"), Mapping):
            self._cells(out, run, common, doc["compatibility"], "$")
        elif isinstance(doc.get("errors"), list):
            for index, error in enumerate(doc["errors"]):
                at = f"$.errors[{index}]"
                if not isinstance(error, Mapping):
                    out.problems.append(Problem(at, None, "expected an error object"))
                    continue
                record = {k: v for k, v in error.items() if k != "message"}
                out.add(
                    "compatibility",
                    {**common, **record, "is_compatible": False, "error_message": error.get("message")},
                    at,
                    run=run,
                )
        else:
            for hw in _flags(doc):
                record = {**common, "hardware_type": hw, "is_compatible": doc[hw]}
                record["error_message"] = doc.get(f"{hw}_error")
                out.add("compatibility", record, f"$.{hw}", run=run)

    @staticmethod
    def _cells(out: Extraction, run: int, common: Mapping, cells: Mapping, parent: str) -> None:
        for hw, at, cell in object_entries(out, cells, f"{parent}.compatibility", "a compatibility cell"):
            out.add("compatibility", {**common, "hardware_type": hw, **cell}, at, run=run)
