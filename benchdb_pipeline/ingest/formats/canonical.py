"""The project's canonical formats: rows named like the tables' columns.

- a bare list of performance rows (the old converter's test data, and quick hand-made files);
- a document ``{"test_run": {...}, "performance_results": [...], "hardware_compatibility":
  [...], "integration_test_results": [...], "web_platform_results": [...]}``; ``results`` is
  accepted for ``performance_results``. The runner and CI artifacts write this one; the old
  converter's ``{"model", "hardware", "device", "timestamp", "results": [...]}`` is the same
  document with fields at the top that every record falls back to.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, on_host, overlay, run_record
from benchdb_pipeline.ingest.normalize import KINDS, Extraction, Problem, route_device

_SECTIONS = {
    "performance_results": "performance",
    "results": "performance",
    "hardware_compatibility": "compatibility",
    "integration_test_results": "integration",
    "web_platform_results": "web_platform",
}
_RUN_KEYS = ("git_commit", "git_branch", "command_line", "started_at", "completed_at")


_MODEL_KEYS = {key for key, (rule, *_) in KINDS["performance"].lookup.items() if rule.column == "model_name"}


class RowList(Adapter):
    name = "performance_rows"
    shape = '[{"model_name": "gpt2", "hardware_type": "cuda", "latency_ms": 12.5}]'
    category = "performance"

    def matches(self, doc: object) -> bool:
        """A list of rows of which at least one names its model (a list where none does is
        some other tool's output, refused with what it resembles, not row by row)."""
        return isinstance(doc, list) and (
            not doc
            or (
                isinstance(doc[0], Mapping)
                and any(isinstance(row, Mapping) and _MODEL_KEYS & row.keys() for row in doc)
            )
        )

    def extract(self, doc: list, out: Extraction, source: Source) -> None:
        run = out.add_run(run_record(source, "performance", {}))
        for index, record in enumerate(doc):
            out.add("performance", record, f"$[{index}]", run=run)


def _parent_fields(doc: Mapping, kind: str) -> dict:
    """The document's own fields that records of ``kind`` fall back to (the old converter's
    ``{"model", "hardware", "device", "timestamp", "results": [...]}``): every top-level key
    the kind's rules know, except the sections and the run's fields."""
    lookup = KINDS[kind].lookup
    fields = {
        key: value
        for key, value in doc.items()
        if key in lookup and key not in _SECTIONS and key not in _RUN_KEYS and not isinstance(value, list)
    }
    return dict(route_device(fields)) if fields else fields


class Document(Adapter):
    name = "benchdb_document"
    shape = '{"test_run": {...}, "performance_results": [{...}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and any(isinstance(doc.get(key), list) for key in _SECTIONS)
            and not isinstance(doc.get("results"), Mapping)
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run_fields = doc.get("test_run") or {k: doc[k] for k in _RUN_KEYS if k in doc}
        if not isinstance(run_fields, Mapping):
            out.problems.append(Problem("$.test_run", "test_run", "expected an object"))
            return
        sections = [key for key in _SECTIONS if isinstance(doc.get(key), list)]
        test_type = run_fields.get("test_type") or _SECTIONS[sections[0]]
        run = out.add_run({**run_record(source, test_type, doc), **run_fields}, "$.test_run")
        for key in sections:
            kind = _SECTIONS[key]
            defaults = _parent_fields(doc, kind)
            for index, record in enumerate(doc[key]):
                if defaults and isinstance(record, Mapping):
                    record = (
                        on_host(defaults, record)
                        if kind == "performance"
                        else overlay(defaults, record, kind)
                    )
                out.add(kind, record, f"$.{key}[{index}]", run=run)

    def category_for(self, doc: Mapping) -> str:
        kinds = {_SECTIONS[key] for key in _SECTIONS if doc.get(key)}
        return kinds.pop() if len(kinds) == 1 else "mixed"
