"""Turn parsed files into a staged batch (Arrow tables) for the store.

Keys are unique within a load: ``chunk_no`` keeps chunks built in different worker
processes apart, so their tables can be concatenated without renumbering. JSON values arrive
as text: parsing writes them (``parse._encode_json``), so no file can fail here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from benchdb_pipeline.ingest.parse import ParsedFile
from benchdb_pipeline.warehouse.dimensions import HARDWARE_ATTRIBUTES, MODEL_ATTRIBUTES
from benchdb_pipeline.warehouse.identity import IDENTITY_FIELDS, fingerprint, identity_fields, platform_key
from benchdb_pipeline.warehouse.staging import STAGING_SCHEMAS, StagedBatch, arrow_table, present_columns

KEY_SPACE = 1 << 32
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


@dataclass
class _Facts:
    """One kind's rows of a chunk, as the extraction normalised them (never modified), with
    the keys of their files and runs."""

    rows: list[dict] = field(default_factory=list)
    file_keys: list[int] = field(default_factory=list)
    run_keys: list[int] = field(default_factory=list)


class _Builder:
    """Per file, the ledger's rows and the runs; per chunk, the facts and dimensions, built
    column by column: the per-row work is looking values up, not building dicts."""

    def __init__(self, chunk_no: int) -> None:
        self.next_key = chunk_no * KEY_SPACE
        self.tables: dict[str, list[dict]] = {}
        self.facts: dict[str, _Facts] = {}
        self.identity = identity_fields()
        self.platforms: dict[tuple, str] = {}  # identity values -> platform key
        self.lowered: dict[str, str] = {}  # model name as the file spells it -> its key

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
            if not rows:
                continue
            facts = self.facts.setdefault(kind, _Facts())
            facts.rows += rows
            facts.file_keys += [file_key] * len(rows)
            for row in rows:
                run_rows[row["_run"]].append(row)
                facts.run_keys.append(run_keys[row["_run"]])
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

    def _model_key(self, display: str | None) -> str | None:
        """A model's key: its name in lower case (the row keeps the file's spelling)."""
        if not display:
            return None
        key = self.lowered.get(display)
        if key is None:
            key = self.lowered[display] = display.lower()
        return key

    def _platform_key(self, row: dict) -> str | None:
        if not row.get("hardware_type"):
            return None
        values = tuple(map(row.get, _PLATFORM_FIELDS))
        key = self.platforms.get(values)
        if key is None:
            key = self.platforms[values] = platform_key(row, self.identity)
        return key

    def finish(self) -> StagedBatch:
        tables: dict[str, pa.Table] = {}
        models: list[pa.Table] = []
        platforms: list[pa.Table] = []
        for kind, facts in self.facts.items():
            rows, present = facts.rows, present_columns(facts.rows)
            displays = [row.get("model_name") for row in rows]
            keys = {
                "model_name": [self._model_key(d) for d in displays],
                "platform_key": [self._platform_key(row) for row in rows]
                if "hardware_type" in present
                else [None] * len(rows),
                "run_key_local": facts.run_keys,
                "file_key": facts.file_keys,
            }
            models.append(
                _dimension(
                    rows,
                    present,
                    "model_name",
                    keys["model_name"],
                    MODEL_ATTRIBUTES,
                    "model_metadata",
                    display_name=displays,
                )
            )
            platforms.append(
                _dimension(
                    rows,
                    present,
                    "platform_key",
                    keys["platform_key"],
                    HARDWARE_ATTRIBUTES,
                    "hardware_metadata",
                )
            )
            if kind == "hardware":  # a machine described on its own: the platform is the record
                continue
            table = _FACT_TABLES[kind]
            if "row_key" in STAGING_SCHEMAS[table].names:
                keys["row_key"] = list(range(self.next_key + 1, self.next_key + 1 + len(rows)))
                self.next_key += len(rows)
                for row_key, row in zip(keys["row_key"], rows, strict=True):
                    for iteration, latency in enumerate(row.get("samples") or ()):
                        self.emit(
                            "performance_samples",
                            {"row_key": row_key, "iteration": iteration, "latency_ms": latency},
                        )
                    for assertion in row.get("assertions") or ():
                        self.emit("integration_test_assertions", {**assertion, "row_key": row_key})
            if kind == "web_platform":  # the web API (webnn, webgpu) under test
                keys["platform"] = [row.get("hardware_type") for row in rows]
            tables[table] = arrow_table(rows, STAGING_SCHEMAS[table], present, keys)
        tables["models"] = _merged(models, "models", "model_name")
        tables["hardware_platforms"] = _merged(platforms, "hardware_platforms", "platform_key")
        fingerprints = [fingerprint(k) for k in tables["hardware_platforms"]["platform_key"].to_pylist()]
        tables["hardware_platforms"] = tables["hardware_platforms"].set_column(
            STAGING_SCHEMAS["hardware_platforms"].get_field_index("fingerprint"),
            "fingerprint",
            pa.array(fingerprints, pa.string()),
        )
        batch = StagedBatch.from_rows(self.tables)  # the ledger's rows, runs, samples, assertions
        batch.tables.update(tables)
        return batch


# What makes two rows one platform (``platform_key`` reads nothing else of a row).
_PLATFORM_FIELDS = ("hardware_type", *IDENTITY_FIELDS)


def _dimension(
    rows: list[dict],
    present: set[str],
    key_column: str,
    keys: list,
    attributes: tuple[str, ...],
    metadata: str,
    **given: list,
) -> pa.Table:
    """A dimension's rows as the facts give them (one per fact row with a key), unmerged."""
    columns: dict[str, list] = {key_column: keys}
    for name in attributes:
        if name in given:
            columns[name] = given[name]
        elif name in present:
            columns[name] = [row.get(name) for row in rows]
    if metadata in present:
        columns["metadata"] = [row.get(metadata) for row in rows]
    table = pa.table(columns)
    return table.filter(pc.is_valid(table[key_column]))


def _merged(parts: list[pa.Table], name: str, key: str) -> pa.Table:
    """One row per key whose attributes are the smallest non-null value any row gave: what
    the store does when a dimension row exists already, so the order files come in does not
    matter."""
    schema = STAGING_SCHEMAS[name]
    parts = [part for part in parts if part.num_rows]
    if not parts:
        return schema.empty_table()
    table = pa.concat_tables(parts, promote_options="default")
    attributes = [c for c in table.column_names if c != key]
    merged = table.group_by(key, use_threads=False).aggregate([(c, "min") for c in attributes])
    columns = {key: merged[key], **{c: merged[f"{c}_min"] for c in attributes}}
    return pa.table(
        [
            columns[f.name].cast(f.type) if f.name in columns else pa.nulls(merged.num_rows, f.type)
            for f in schema
        ],
        schema=schema,
    )


def build_batch(parsed_files: Iterable[ParsedFile], chunk_no: int = 0) -> StagedBatch:
    """Stage parsed files; known (already ingested) content stages only its ledger row."""
    builder = _Builder(chunk_no)
    for parsed in parsed_files:
        builder.add_file(parsed)
    return builder.finish()
