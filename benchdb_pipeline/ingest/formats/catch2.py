"""Catch2's XML reporter (``-r xml``) with benchmarks: ``<Catch>…<TestCase name>
<BenchmarkResults name samples iterations><mean value lowerBound upperBound/>
<standardDeviation …/><outliers …/></BenchmarkResults>``, all values in nanoseconds.

Each benchmark is one result: its name the model, its test case the test case, the mean the
latency; the bounds, standard deviation, outliers and sample counts are kept. A test case that
failed (``OverallResult success="false"``) marks its benchmarks failed. Catch2 records no
machine or time: the host CPU is assumed and the measured-at time stays NULL.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Source, TextAdapter, run_record
from benchdb_pipeline.ingest.normalize import Extraction


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


class Catch2XML(TextAdapter):
    name = "catch2_xml"
    shape = '<Catch name="…"><TestCase name="…"><BenchmarkResults name="…"><mean value="…"/>'
    category = "performance"

    def recognises(self, head: str) -> bool:
        return "<Catch" in head[:500] and ("<BenchmarkResults" in head or "<TestCase" in head)

    def parse_text(self, text: str) -> dict | None:
        if "<Catch" not in text[:500]:
            return None
        try:
            root = ElementTree.fromstring(text)
        except ElementTree.ParseError:
            return None
        found = []
        for case in root.iter("TestCase"):
            result = case.find("OverallResult")
            passed = result is None or result.get("success") != "false"
            for bench in case.iter("BenchmarkResults"):
                stats = {child.tag: dict(child.attrib) for child in bench}
                found.append(
                    {
                        "case": case.get("name"),
                        "benchmark": dict(bench.attrib),
                        "stats": stats,
                        "passed": passed,
                    }
                )
        return {"catch": root.get("name"), "benchmarks": found} if found else None

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(
            run_record(source, "performance", {}, metadata={"harness": "Catch2", "binary": doc["catch"]})
        )
        for index, found in enumerate(doc["benchmarks"]):
            bench, stats = found["benchmark"], found["stats"]
            mean = stats.get("mean", {})
            record = {
                "model_name": bench.get("name"),
                "test_case": found["case"],
                "hardware_type": "cpu",
                "time_unit": "ns",
                "average_latency": _number(mean.get("value")),
                "iterations": _number(bench.get("iterations")),
                "status": "ok" if found["passed"] else "failed",
                "metrics": {
                    "mean": {k: _number(v) for k, v in mean.items() if k != "ci"}
                    | {"ci": _number(mean.get("ci"))},
                    "standard_deviation_ns": _number(stats.get("standardDeviation", {}).get("value")),
                    "outliers": {k: _number(v) for k, v in stats.get("outliers", {}).items()},
                    "samples": _number(bench.get("samples")),
                    "estimated_duration_ns": _number(bench.get("estimatedDuration")),
                },
            }
            out.add("performance", record, f"BenchmarkResults[{index}]", run=run)
