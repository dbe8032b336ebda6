"""The shape of a batch handed to the store: one Arrow table per staging table.

Rows refer to each other by batch-local integer keys (``file_key``, ``run_key_local``,
``row_key``) and to dimensions by natural keys (``model_name``, ``platform_key``); the
store turns those into warehouse ids with set-based SQL. Producers (the ingest layer, and
later the API and the runner) fill these tables and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

_TS = pa.timestamp("us")
_STR = pa.string()
_I64 = pa.int64()
_I32 = pa.int32()
_F64 = pa.float64()
_BOOL = pa.bool_()

STAGING_SCHEMAS: dict[str, pa.Schema] = {
    "files": pa.schema(
        [
            ("file_key", _I64),
            ("path", _STR),
            ("sha256", _STR),
            ("size_bytes", _I64),
            ("format", _STR),
            ("category", _STR),
            ("status", _STR),
            ("record_count", _I32),
            ("error", _STR),
            ("file_modified_at", _TS),
            ("results_sha256", _STR),
        ]
    ),
    "quarantine": pa.schema(
        [("file_key", _I64), ("record_locator", _STR), ("field", _STR), ("reason", _STR)]
    ),
    "models": pa.schema(
        [
            ("model_name", _STR),
            ("display_name", _STR),
            ("model_family", _STR),
            ("modality", _STR),
            ("source", _STR),
            ("version", _STR),
            ("parameters_million", _F64),
            ("metadata", _STR),
        ]
    ),
    "hardware_platforms": pa.schema(
        [
            ("platform_key", _STR),
            ("hardware_type", _STR),
            ("device_name", _STR),
            ("platform", _STR),
            ("platform_version", _STR),
            ("driver_version", _STR),
            ("memory_gb", _F64),
            ("compute_units", _I32),
            ("accelerator_count", _I32),
            ("host_name", _STR),
            ("fingerprint", _STR),
            ("metadata", _STR),
        ]
    ),
    "test_runs": pa.schema(
        [
            ("run_key_local", _I64),
            ("file_key", _I64),
            ("run_key", _STR),
            ("test_name", _STR),
            ("test_type", _STR),
            ("started_at", _TS),
            ("completed_at", _TS),
            ("execution_time_seconds", _F64),
            ("success", _BOOL),
            ("git_commit", _STR),
            ("git_branch", _STR),
            ("command_line", _STR),
            ("metadata", _STR),
            ("is_simulated", _BOOL),
        ]
    ),
    "performance_results": pa.schema(
        [
            ("row_key", _I64),
            ("run_key_local", _I64),
            ("file_key", _I64),
            ("model_name", _STR),
            ("platform_key", _STR),
            ("test_case", _STR),
            ("batch_size", _I32),
            ("sequence_length", _I32),
            ("precision", _STR),
            ("total_time_seconds", _F64),
            ("average_latency_ms", _F64),
            ("latency_p50_ms", _F64),
            ("latency_p90_ms", _F64),
            ("latency_p95_ms", _F64),
            ("latency_p99_ms", _F64),
            ("throughput_items_per_second", _F64),
            ("memory_peak_mb", _F64),
            ("iterations", _I64),
            ("warmup_iterations", _I32),
            ("metrics", _STR),
            ("status", _STR),
            ("measured_at", _TS),
        ]
    ),
    "performance_samples": pa.schema([("row_key", _I64), ("iteration", _I32), ("latency_ms", _F64)]),
    "hardware_compatibility": pa.schema(
        [
            ("run_key_local", _I64),
            ("file_key", _I64),
            ("model_name", _STR),
            ("model_family", _STR),
            ("platform_key", _STR),
            ("is_compatible", _BOOL),
            ("detection_success", _BOOL),
            ("initialization_success", _BOOL),
            ("error_message", _STR),
            ("error_type", _STR),
            ("suggested_fix", _STR),
            ("compatibility_score", _F64),
            ("metadata", _STR),
            ("measured_at", _TS),
        ]
    ),
    "integration_test_results": pa.schema(
        [
            ("row_key", _I64),
            ("run_key_local", _I64),
            ("file_key", _I64),
            ("model_name", _STR),
            ("platform_key", _STR),
            ("test_module", _STR),
            ("test_class", _STR),
            ("test_name", _STR),
            ("status", _STR),
            ("execution_time_seconds", _F64),
            ("error_message", _STR),
            ("error_traceback", _STR),
            ("metadata", _STR),
            ("measured_at", _TS),
        ]
    ),
    "integration_test_assertions": pa.schema(
        [
            ("row_key", _I64),
            ("assertion_name", _STR),
            ("passed", _BOOL),
            ("expected_value", _STR),
            ("actual_value", _STR),
            ("message", _STR),
        ]
    ),
    "web_platform_results": pa.schema(
        [
            ("run_key_local", _I64),
            ("file_key", _I64),
            ("model_name", _STR),
            ("platform_key", _STR),
            ("platform", _STR),
            ("browser", _STR),
            ("browser_version", _STR),
            ("test_file", _STR),
            ("success", _BOOL),
            ("implementation_type", _STR),
            ("is_simulation", _BOOL),
            ("load_time_ms", _F64),
            ("initialization_time_ms", _F64),
            ("inference_time_ms", _F64),
            ("total_time_ms", _F64),
            ("shader_compilation_time_ms", _F64),
            ("memory_usage_mb", _F64),
            ("throughput_items_per_second", _F64),
            ("error_message", _STR),
            ("metrics", _STR),
            ("measured_at", _TS),
        ]
    ),
}


def present_columns(rows: Sequence[Mapping]) -> set[str]:
    """The keys some row gives."""
    present: set[str] = set()
    for row in rows:
        present.update(row.keys())
    return present


def arrow_table(
    rows: Sequence[Mapping],
    schema: pa.Schema,
    present: set[str] | None = None,
    given: Mapping[str, list] | None = None,
) -> pa.Table:
    """``pa.Table.from_pylist`` column by column, reading only the columns some row gives
    (``present``, worked out when not given): a fact row fills a few of its table's columns,
    and looking up every column of every row cost three times the whole conversion.
    ``given`` holds whole columns worked out apart from the rows (keys)."""
    present = present_columns(rows) if present is None else present
    given = given or {}
    return pa.Table.from_arrays(
        [
            pa.array(given[column.name], type=column.type)
            if column.name in given
            else pa.array([row.get(column.name) for row in rows], type=column.type)
            if column.name in present
            else pa.nulls(len(rows), column.type)
            for column in schema
        ],
        schema=schema,
    )


def conformed(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in ``schema``: its columns cast, the ones it lacks NULL."""
    return pa.table(
        [
            table[f.name].cast(f.type) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
            for f in schema
        ],
        schema=schema,
    )


# Arrow tables are immutable: every batch shares these (making them costs ~2.6 ms a batch).
# Not ``Schema.empty_table``, which imports pandas (0.3 s of every command's start).
_EMPTY = {name: pa.Table.from_batches([], schema=schema) for name, schema in STAGING_SCHEMAS.items()}


@dataclass
class StagedBatch:
    """A batch ready to load: one Arrow table per staging table, all schemas as above."""

    tables: dict[str, pa.Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, empty in _EMPTY.items():
            self.tables.setdefault(name, empty)

    def rows(self, name: str) -> int:
        return self.tables[name].num_rows

    @classmethod
    def from_rows(cls, rows: Mapping[str, Iterable[Mapping]]) -> StagedBatch:
        """Build a batch from row dicts keyed by staging-table name (missing keys are NULL)."""
        return cls(
            {name: arrow_table(list(table_rows), STAGING_SCHEMAS[name]) for name, table_rows in rows.items()}
        )

    def __reduce__(self) -> tuple:
        """Pickled (a pool's worker hands its batch over so) without its empty tables and
        the columns NULL in every row (two fifths of a chunk of performance rows), which
        unpickling makes again."""
        given = {
            name: table.select(
                [n for n, column in enumerate(table.columns) if column.null_count < len(column)]
            )
            for name, table in self.tables.items()
            if table.num_rows
        }
        return _unpickled, (given,)

    @classmethod
    def concat(cls, batches: Iterable[StagedBatch]) -> StagedBatch:
        parts: dict[str, list[pa.Table]] = {name: [] for name in STAGING_SCHEMAS}
        for batch in batches:
            for name, table in batch.tables.items():
                if table.num_rows:
                    parts[name].append(table)
        return cls(
            {name: pa.concat_tables(tables) if tables else _EMPTY[name] for name, tables in parts.items()}
        )


def _unpickled(given: dict[str, pa.Table]) -> StagedBatch:
    return StagedBatch({name: conformed(table, STAGING_SCHEMAS[name]) for name, table in given.items()})
