"""A synthetic warehouse generated inside DuckDB, for speed measurements and chart tests.

Every run it writes is flagged ``is_simulated`` and named ``synthetic …``; values follow a
seeded cost model (hash-based, so the same arguments give the same rows), never a clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from benchdb_pipeline.warehouse.lake import file_schema
from benchdb_pipeline.warehouse.schema import ensure_schema, utc_now
from benchdb_pipeline.warehouse.sql import fetch_value
from benchdb_pipeline.warehouse.store import new_ids, transaction


@dataclass(frozen=True)
class Shape:
    """How many of each dimension; series = models × platforms × batches × precisions × cases."""

    models: int = 30
    platforms: int = 8
    batch_sizes: tuple[int, ...] = (1, 2, 4, 8, 16, 32)
    precisions: tuple[str, ...] = ("fp32", "fp16")
    test_cases: int = 1
    runs: int = 4

    @property
    def series(self) -> int:
        return self.models * self.platforms * len(self.batch_sizes) * len(self.precisions) * self.test_cases

    @property
    def rows(self) -> int:
        return self.series * self.runs


HARDWARE_TYPES = ("cpu", "cuda", "rocm", "mps", "openvino", "webgpu", "qnn", "webnn")


def fill(con: duckdb.DuckDBPyConnection, shape: Shape) -> int:
    """Add ``shape.rows`` synthetic performance results (one run per night); returns rows."""
    ensure_schema(con)
    now = utc_now()
    with transaction(con):
        return _fill(con, shape, now)


def _add_new(
    con: duckdb.DuckDBPyConnection, table: str, key: str, columns: str, select: str, params: list
) -> None:
    """Insert the rows of ``select`` (``columns`` but the id) whose ``key`` is not stored yet."""
    rows = f"SELECT * FROM ({select}) s WHERE {key} NOT IN (SELECT {key} FROM {table})"
    id_column = file_schema().ids[table]
    con.execute(
        f"INSERT INTO {table} ({id_column}, {columns}) SELECT {new_ids(con, table, rows, params)}, * FROM ({rows})",
        params,
    )


def _fill(con: duckdb.DuckDBPyConnection, shape: Shape, now: datetime) -> int:
    _add_new(
        con,
        "models",
        "model_name",
        "model_name, model_family, modality, parameters_million, created_at",
        "SELECT 'synthetic-model-' || lpad(i::VARCHAR, 3, '0') AS model_name, 'family-' || (i % 6), "
        "'text', 10 + (i * 37) % 900, ?::TIMESTAMP FROM range(?) t(i)",
        [now, shape.models],
    )
    _add_new(
        con,
        "hardware_platforms",
        "platform_key",
        "platform_key, hardware_type, device_name, created_at",
        "SELECT t || '|synthetic device ' || i AS platform_key, t, 'synthetic device ' || i, ?::TIMESTAMP "
        "FROM (SELECT i, ?[1 + i % ?] AS t FROM range(?) r(i))",
        [now, list(HARDWARE_TYPES), len(HARDWARE_TYPES), shape.platforms],
    )
    _add_new(
        con,
        "test_runs",
        "run_key",
        "run_key, test_name, test_type, started_at, is_simulated, git_commit, git_branch, created_at",
        "SELECT 'synthetic:' || n AS run_key, 'synthetic nightly ' || n, 'performance', "
        "TIMESTAMP '2026-01-01' + INTERVAL (n) DAY, true, 'synthetic' || n, 'main', ?::TIMESTAMP "
        "FROM range(?) r(n)",
        [now, shape.runs],
    )
    rows = """
        WITH m AS (SELECT model_id, row_number() OVER (ORDER BY model_name) AS k FROM models
                   WHERE model_name LIKE 'synthetic-model-%'),
             h AS (SELECT hardware_id, row_number() OVER (ORDER BY platform_key) AS k
                   FROM hardware_platforms WHERE device_name LIKE 'synthetic device %'),
             r AS (SELECT run_id, started_at, row_number() OVER (ORDER BY run_key) AS k
                   FROM test_runs WHERE run_key LIKE 'synthetic:%'),
             b AS (SELECT unnest($batch_sizes) AS batch_size),
             p AS (SELECT unnest($precisions) AS precision),
             c AS (SELECT 'case-' || i AS test_case FROM range($cases) t(i)),
             rows AS (
                SELECT r.run_id, r.started_at, m.model_id, m.k AS mk, h.hardware_id, h.k AS hk,
                       b.batch_size, p.precision, c.test_case,
                       (hash(m.k, h.k, b.batch_size, p.precision, c.test_case, r.k) % 1000) / 1000.0
                           AS noise
                FROM m, h, b, p, c, r
             )
        SELECT *, (1 + mk % 17) * pow(batch_size, 0.8) / (1 + hk % 7)
                  * (CASE precision WHEN 'fp32' THEN 1.0 ELSE 0.6 END)
                  * (0.95 + 0.1 * noise) AS latency FROM rows"""
    params = {
        "batch_sizes": list(shape.batch_sizes),
        "precisions": list(shape.precisions),
        "cases": shape.test_cases,
    }
    inserted = fetch_value(
        con,
        f"""
        INSERT INTO performance_results (
            result_id, run_id, model_id, hardware_id, test_case, batch_size, sequence_length, precision,
            average_latency_ms, latency_p50_ms, latency_p90_ms, latency_p95_ms, latency_p99_ms,
            throughput_items_per_second, memory_peak_mb, iterations, measured_at, created_at)
        SELECT {new_ids(con, "performance_results", rows, params)}, run_id, model_id, hardware_id,
               test_case, batch_size, 128, precision,
               latency, latency * 0.97, latency * 1.08, latency * 1.12, latency * 1.25,
               batch_size * 1000.0 / latency, 100 + mk * 12.5 + batch_size * 40, 100,
               started_at + INTERVAL (hk) MINUTE, $now
        FROM ({rows})
        """,
        {**params, "now": now},
    )
    return inserted
