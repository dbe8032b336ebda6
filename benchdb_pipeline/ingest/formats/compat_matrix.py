"""The hardware compatibility matrix: model_families.<family>.hardware_compatibility.<hw>.

A matrix rates families, so each family × hardware cell is a family-level row; models named
in the cell's ``benchmark_results`` get a row of their own with the same verdict and their
own timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, object_entries, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem


class CompatibilityMatrix(Adapter):
    name = "hardware_compatibility_matrix"
    shape = '{"model_families": {family: {"hardware_compatibility": {hw: {...}}}}}'
    category = "compatibility"

    def matches(self, doc: object) -> bool:
        families = doc.get("model_families") if isinstance(doc, Mapping) else None
        return isinstance(families, Mapping) and any(
            isinstance(f, Mapping) and "hardware_compatibility" in f for f in families.values()
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        when = doc.get("timestamp")
        run = out.add_run(run_record(source, "compatibility", doc, started_at=when))
        for family, family_at, body in object_entries(
            out, doc["model_families"], "$.model_families", "a model family object"
        ):
            cells = body.get("hardware_compatibility")
            if not isinstance(cells, Mapping):
                out.problems.append(
                    Problem(family_at, "hardware_compatibility", "expected cells keyed by hardware")
                )
                continue
            for hw, at, cell in object_entries(
                out, cells, f"{family_at}.hardware_compatibility", "a compatibility cell object"
            ):
                rating = cell.get("performance_rating")
                verdict = {
                    "model_family": family,
                    "hardware_type": hw,
                    "is_compatible": cell.get("compatible"),
                    "compatibility_score": rating if isinstance(rating, (int, float)) else None,
                    "metadata": {"performance_rating": rating} if isinstance(rating, str) else None,
                }
                models = cell.get("benchmark_results") or []
                if not isinstance(models, list):
                    out.problems.append(
                        Problem(at, "benchmark_results", "expected a list of benchmark entries")
                    )
                    continue
                if not models:
                    out.add("compatibility", {**verdict, "timestamp": when}, at, run=run)
                for index, entry in enumerate(models):
                    entry_at = f"{at}.benchmark_results[{index}]"
                    if not isinstance(entry, Mapping):
                        out.problems.append(Problem(entry_at, None, "expected a benchmark entry object"))
                        continue
                    out.add(
                        "compatibility",
                        {
                            **verdict,
                            "model_name": entry.get("model_name"),
                            "timestamp": entry.get("timestamp") or when,
                        },
                        entry_at,
                        run=run,
                    )
