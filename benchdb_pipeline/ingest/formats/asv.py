"""airspeed velocity (asv) result folders: ``results/<machine>/<commit>-<env>.json`` (result
format version 2), beside ``results/<machine>/machine.json`` and ``results/benchmarks.json``.

One result per benchmark and parameter combination (the Cartesian product of its ``params``,
in asv's order): a ``time_`` benchmark (seconds) is the latency, with its ``samples`` (``asv
run --record-samples``) as raw samples and its 99 % interval and quartiles kept; ``peakmem_``
(bytes) the peak memory; ``mem_`` and ``track_`` values are kept under ``metrics.measures``
with their unit (``track_`` units from ``benchmarks.json``). Parameters named like a column
(``batch_size``) fill it; the others join the test case. A ``null`` value (the benchmark
failed) is stored as failed; asv writes a skipped one as ``NaN``, which arrives as missing too
(the run's notes list where). The commit is the run's commit, each benchmark's start time when
it was measured, the machine's CPU, core count and OS (asv copies them into the result file)
the platform. Parameter names and ``track_`` units come from ``benchmarks.json`` when it lies in
the results folder; without it parameters are named ``param1``… ``benchmarks.json`` and
``machine.json`` themselves are recorded as read and empty.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

import orjson

from benchdb_pipeline.ingest.files import read_beside
from benchdb_pipeline.ingest.formats.base import (
    Adapter,
    Source,
    is_number,
    mapping_at,
    run_record,
    split_parameters,
)
from benchdb_pipeline.ingest.normalize import MEASURES, Extraction, Problem

_KINDS = {"time": "s", "peakmem": "B", "mem": "B", "track": None}
# benchmarks.json's words for the kinds the name prefixes give.
_TYPES = {"time": "time", "memory": "mem", "peakmemory": "peakmem", "track": "track"}


def _kind(name: str) -> str:
    leaf = name.rsplit(".", 1)[-1]
    return next(
        (kind for kind in ("time", "peakmem", "mem", "track") if leaf.startswith(f"{kind}_")), "track"
    )


def _benchmarks(path: str) -> Mapping:
    """``results/benchmarks.json`` for a result file in ``results/<machine>/``, if any."""
    data = read_beside(Path(path).parent.parent / "benchmarks.json")
    try:
        found = orjson.loads(data) if data is not None else None
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, Mapping) else {}


def _when(value: object) -> str | None:
    """asv's milliseconds since the epoch, as an ISO time (UTC)."""
    if not is_number(value):
        return None
    return datetime.fromtimestamp(value / 1000, timezone.utc).replace(tzinfo=None).isoformat()


class ASVResults(Adapter):
    name = "asv"
    shape = '{"version": 2, "commit_hash", "params": {"machine", "cpu", …}, "result_columns": [...], "results": {...}}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        return (
            isinstance(doc, Mapping)
            and doc.get("version") == 2
            and isinstance(doc.get("result_columns"), list)
            and isinstance(doc.get("results"), Mapping)
        )

    def extract(self, doc: Mapping, out: Extraction, source: Source) -> None:
        params = mapping_at(doc, "params")
        machine = {
            "hardware_type": "cpu",
            "device_name": params.get("cpu"),
            "compute_units": params.get("num_cpu"),
            "host_name": params.get("machine"),
            "platform": params.get("os"),
            "hardware_metadata": {k: params[k] for k in ("arch", "ram") if params.get(k)} or None,
        }
        run = out.add_run(
            run_record(source, "performance", {}, git_commit=doc.get("commit_hash"), started_at=_when(doc.get("date")),
                       metadata={"harness": "asv", "environment": doc.get("env_name"), "python": doc.get("python")})
        )  # fmt: skip
        described = _benchmarks(source.path)
        columns = doc["result_columns"]
        for name, row in doc["results"].items():
            locator = f'$.results["{name}"]'
            if not isinstance(row, list) or not row:
                out.problems.append(Problem(locator, None, "expected a list of the result columns"))
                continue
            entry = dict(zip(columns, row, strict=False))
            spec = mapping_at(described, name)
            kind = _TYPES.get(str(spec.get("type")), _kind(name))
            unit = spec.get("unit") if kind == "track" else _KINDS.get(kind)
            values = entry.get("result") or []
            grid = list(itertools.product(*entry.get("params") or [])) or [()]
            names = spec.get("param_names") or [f"param{i + 1}" for i in range(len(grid[0]))]
            per = {
                column: entry.get(column) or []
                for column in ("stats_ci_99_a", "stats_ci_99_b", "stats_q_25", "stats_q_75", "samples")
            }
            for index, combination in enumerate(grid):
                value = values[index] if index < len(values) else None
                fields, test_case = split_parameters(name, dict(zip(names, combination, strict=False)))
                record: dict = {**machine, "model_name": name, "test_case": test_case, **fields,
                                "measured_at": _when(entry.get("started_at"))}  # fmt: skip
                extra = {
                    c: v[index]
                    for c, v in per.items()
                    if c != "samples" and index < len(v) and is_number(v[index])
                }
                samples = per["samples"][index] if index < len(per["samples"]) else None
                if not is_number(value):
                    record["status"] = "failed"
                elif kind == "time":
                    record["avg_latency_seconds"] = value
                    if isinstance(samples, list) and samples:
                        record["latencies_s"] = samples
                elif kind == "peakmem":
                    record["memory_peak_bytes"] = value
                else:
                    extra[MEASURES] = {name.rsplit(".", 1)[-1]: {"value": value, "unit": unit}}
                record["metrics"] = {"asv_type": kind, "unit": unit, "version": entry.get("version"), **extra}
                out.add("performance", record, f"{locator}[{index}]", run=run)


class ASVSupport(Adapter):
    """asv's ``benchmarks.json`` (what each benchmark is) and ``machine.json`` (the machine
    asv knows by a name): read with the result files, recorded as empty."""

    name = "asv_support"
    shape = '{"version": 2, "<benchmark>": {"type", "unit", "params", …}} or {"machine", "cpu", "version": 1}'
    category = "performance"

    def matches(self, doc: object) -> bool:
        if not isinstance(doc, Mapping):
            return False
        machine = {"machine", "version"} <= doc.keys() and set(doc) <= {
            "machine",
            "version",
            "arch",
            "cpu",
            "num_cpu",
            "os",
            "ram",
        }
        benchmarks = (
            doc.get("version") == 2
            and len(doc) > 1
            and all(
                isinstance(v, Mapping) and "type" in v and "code" in v
                for k, v in doc.items()
                if k != "version"
            )
        )
        return machine or benchmarks

    def extract(self, doc: object, out: Extraction, source: Source) -> None:
        return None  # the results' own files carry what these describe
