"""Turn parsed files into a staged batch (Arrow tables) for the store.

Keys are unique within a load: ``chunk_no`` keeps chunks built in different worker
processes apart, so their tables can be concatenated without renumbering. JSON values arrive
as text: parsing writes them (``parse._encode_json``), so no file can fail here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson

from benchdb_pipeline.ingest.parse import ParsedFile
from benchdb_pipeline.warehouse.dimensions import HARDWARE_ATTRIBUTES, MODEL_ATTRIBUTES
from benchdb_pipeline.warehouse.identity import fingerprint, identity_fields, platform_key
from benchdb_pipeline.warehouse.staging import StagedBatch

_KEY_SPACE = 1 << 32
_FACT_TABLES = {
    "performance": "performance_results",
    "compatibility": "hardware_compatibility",
    "integration": "integration_test_results",
    "web_platform": "web_platform_results",
}


def results_identity(rows: dict[str, list[dict]]) -> str | None:
    """The natural identity of a file's results, whatever their serialisation: a hash of its
    normalised records (configuration, machine, measured time, values), in any order. None
    when a result has no measured time: then equal values need not be the same measurement."""
    facts = [row for kind, kind_rows in rows.items() if kind != "hardware" for row in kind_rows]
    if not facts or any(row.get("measured_at") is None for row in facts):
        return None
    options = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    records = sorted(
        orjson.dumps(_identified(kind, row), option=options, default=str)
        for kind, kind_rows in rows.items()
        for row in kind_rows
    )
    return hashlib.sha256(b"\n".join(records)).hexdigest()


def _identified(kind: str, row: dict) -> dict:
    """A record as its identity sees it: its kind and values, not where it came from."""
    record = row.copy()
    record.pop("_run", None)
    record.pop("_at", None)
    record["kind"] = kind
    return record


class _Builder:
    def __init__(self, chunk_no: int) -> None:
        self.next_key = chunk_no * _KEY_SPACE
        self.tables: dict[str, list[dict]] = {}
        self.models: dict[str, dict] = {}
        self.hardware: dict[str, dict] = {}
        self.last_seen: dict[tuple[str, str], tuple] = {}
        self.identity = identity_fields()

    def key(self) -> int:
        self.next_key += 1
        return self.next_key

    def emit(self, table: str, row: dict) -> None:
        self.tables.setdefault(table, []).append(row)

    def add_file(self, parsed: ParsedFile) -> None:
        if parsed.status == "unreadable":  # no content, nothing for the ledger
            return
        file_key = self.key()
        extraction = parsed.extraction
        identity = results_identity(extraction.rows) if parsed.status == "ingested" and extraction else None
        self.emit(
            "files",
            {
                "file_key": file_key,
                "path": parsed.path,
                "sha256": parsed.sha256,
                "size_bytes": parsed.size,
                "format": parsed.format,
                "category": parsed.category,
                "status": parsed.status,
                "record_count": parsed.record_count,
                "error": parsed.error,
                "file_modified_at": parsed.modified_at,
                "results_sha256": identity,
            },
        )
        for problem in parsed.problems:
            self.emit(
                "quarantine",
                {
                    "file_key": file_key,
                    "record_locator": problem.locator,
                    "field": problem.field,
                    "reason": problem.reason,
                },
            )
        if parsed.status != "ingested" or extraction is None:
            return
        run_keys = [self.key() for _ in extraction.runs]
        run_rows: dict[int, list[dict]] = {i: [] for i in range(len(run_keys))}
        for kind, rows in extraction.rows.items():
            for row in rows:
                run_rows[row["_run"]].append(row)
                self.add_fact(kind, row, file_key, run_keys[row["_run"]])
        for index, run in enumerate(extraction.runs):
            rows = run_rows[index]
            if not rows:
                continue
            times = [r["measured_at"] for r in rows if r.get("measured_at") is not None]
            self.emit(
                "test_runs",
                {
                    **run,
                    "run_key_local": run_keys[index],
                    "file_key": file_key,
                    "run_key": f"{parsed.sha256}#{index}",
                    "test_name": run.get("test_name") or parsed.format,
                    "test_type": run.get("test_type") or parsed.category,
                    "started_at": run.get("started_at") or (min(times) if times else None),
                    "is_simulated": bool(run.get("is_simulated")) or any(r.get("is_simulated") for r in rows),
                    "metadata": run.get("metadata"),
                },
            )

    def add_fact(self, kind: str, row: dict, file_key: int, run_key: int) -> None:
        model = row.get("model_name")  # as the file spells it; the key is its lower case
        if model:
            row["display_name"], model = model, model.lower()
            self._dimension(self.models, "model_name", model, MODEL_ATTRIBUTES, row, "model_metadata")
        platform = None
        if row.get("hardware_type"):
            platform = platform_key(row, self.identity)
            self._dimension(
                self.hardware, "platform_key", platform, HARDWARE_ATTRIBUTES, row, "hardware_metadata"
            )
            known = self.hardware[platform]
            if "fingerprint" not in known:
                known["fingerprint"] = fingerprint(platform)
        if kind == "hardware":  # a machine described on its own: the platform is the record
            return
        fact = row  # the extraction's row, staged as it is: nothing reads it afterwards
        fact.update(run_key_local=run_key, file_key=file_key, model_name=model, platform_key=platform)
        if kind == "web_platform":
            fact["platform"] = row["hardware_type"]  # the web API (webnn, webgpu) under test
        if kind in ("performance", "integration"):
            fact["row_key"] = self.key()
        self.emit(_FACT_TABLES[kind], fact)
        for iteration, latency in enumerate(row.get("samples") or ()):
            self.emit(
                "performance_samples",
                {
                    "row_key": fact["row_key"],
                    "iteration": iteration,
                    "latency_ms": latency,
                },
            )
        for assertion in row.get("assertions") or ():
            self.emit("integration_test_assertions", {**assertion, "row_key": fact["row_key"]})

    def _dimension(
        self,
        store: dict[str, dict],
        key_column: str,
        key: str,
        attributes: tuple[str, ...],
        row: dict,
        metadata: str,
    ) -> None:
        """Collect a dimension row; attributes merge as the store does (smallest non-null)."""
        values = (*map(row.get, attributes), row.get(metadata))
        if self.last_seen.get((key_column, key)) == values:
            return
        self.last_seen[(key_column, key)] = values
        attrs = {
            key_column: key,
            **dict(zip(attributes, values[:-1], strict=True)),
            "metadata": values[-1],
        }
        known = store.get(key)
        if known is None:
            store[key] = attrs
            return
        for name, value in attrs.items():
            if value is not None and (known[name] is None or value < known[name]):
                known[name] = value

    def finish(self) -> StagedBatch:
        self.tables["models"] = list(self.models.values())
        self.tables["hardware_platforms"] = list(self.hardware.values())
        return StagedBatch.from_rows(self.tables)


def build_batch(parsed_files: Iterable[ParsedFile], chunk_no: int = 0) -> StagedBatch:
    """Stage parsed files; known (already ingested) content stages only its ledger row."""
    builder = _Builder(chunk_no)
    for parsed in parsed_files:
        builder.add_file(parsed)
    return builder.finish()
