"""The benchmark summary: per-family metric arrays that summarise other result files.

Its arrays aggregate results stored from the files they came from, so a summary adds no
measurements: with empty arrays it is a valid file with no records ('empty'); with values
it is refused, pointing at the results file it summarises.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, key_locator
from benchdb_pipeline.ingest.normalize import Extraction, Problem


class BenchmarkSummary(Adapter):
    name = "benchmark_summary"
    shape = '{"model_families": {family: {"hardware_results": {hw: {metric: [...]}}}}}'
    category = "summary"

    def matches(self, doc: object) -> bool:
        families = doc.get("model_families") if isinstance(doc, Mapping) else None
        return isinstance(families, Mapping) and any(
            isinstance(f, Mapping) and "hardware_results" in f for f in families.values()
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        for family, body in doc["model_families"].items():
            results = body.get("hardware_results") if isinstance(body, Mapping) else None
            for hw, metrics in results.items() if isinstance(results, Mapping) else ():
                for metric, values in metrics.items() if isinstance(metrics, Mapping) else ():
                    if values:
                        at = key_locator(
                            key_locator(f"{key_locator('$.model_families', family)}.hardware_results", hw),
                            metric,
                        )
                        out.problems.append(
                            Problem(
                                at,
                                metric,
                                f"a benchmark summary holds aggregates ({_count(values)}), not "
                                "measurements; ingest the benchmark_results file it summarises",
                            )
                        )


def _count(values: object) -> str:
    return f"{len(values)} values" if isinstance(values, (list, dict)) else "a value"
