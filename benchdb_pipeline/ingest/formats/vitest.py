"""vitest's benchmark report (``vitest bench --outputJson``): ``{files: [{filepath, groups:
[{fullName, benchmarks: [{name, mean, median, p75, p99, …, hz, samples, sampleCount}]}]}]}``.

Each benchmark is one result: its name the model, its group (``file > describe``) the test
case. Times are milliseconds: the mean is the latency, the median and p99 its percentiles, the
samples (kept when vitest is asked to include them) the raw samples; ``hz`` (operations per
second) is the throughput. min, max, p75, p995, p999, the standard deviation, the relative
margin of error and the rank are kept. vitest records no machine or time: the host CPU is
assumed and the measured-at time stays NULL.
"""

from __future__ import annotations

from collections.abc import Mapping

from benchdb_pipeline.ingest.formats.base import Adapter, Source, run_record
from benchdb_pipeline.ingest.normalize import Extraction, Problem

_KEPT = ("min", "max", "p75", "p995", "p999", "sd", "rme", "sampleCount", "rank", "totalTime")


class VitestBench(Adapter):
    name = "vitest_bench"
    shape = '{"files": [{"filepath", "groups": [{"fullName", "benchmarks": [{"name", "mean", "hz", …}]}]}]}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        files = doc.get("files") if isinstance(doc, Mapping) else None
        return (
            isinstance(files, list)
            and bool(files)
            and all(isinstance(f, Mapping) and isinstance(f.get("groups"), list) for f in files)
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        run = out.add_run(run_record(source, "performance", {}, metadata={"harness": "vitest bench"}))
        for f, file in enumerate(doc["files"]):
            for g, group in enumerate(file["groups"]):
                benchmarks = group.get("benchmarks") if isinstance(group, Mapping) else None
                if not isinstance(benchmarks, list):
                    out.problems.append(Problem(f"$.files[{f}].groups[{g}]", "benchmarks", "expected a list"))
                    continue
                for b, bench in enumerate(benchmarks):
                    locator = f"$.files[{f}].groups[{g}].benchmarks[{b}]"
                    if not isinstance(bench, Mapping):
                        out.problems.append(Problem(locator, None, "expected an object per benchmark"))
                        continue
                    record = {
                        "model_name": bench.get("name"),
                        "test_case": group.get("fullName"),
                        "hardware_type": "cpu",
                        "latency_ms": bench.get("mean"),
                        "latency_median_ms": bench.get("median"),
                        "p99_ms": bench.get("p99"),
                        "latencies_ms": bench.get("samples") or None,
                        "throughput": bench.get("hz"),
                        "metrics": {k: bench[k] for k in _KEPT if k in bench}
                        | {"file": file.get("filepath")},
                    }
                    out.add("performance", record, locator, run=run)
