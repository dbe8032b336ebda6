"""The queries behind reports, comparisons and charts, over the warehouse's views.

Each returns a ``ResultSet``: column names and rows, ready to render or to chart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from benchdb_pipeline.errors import QueryError
from benchdb_pipeline.reports.filters import Filters, Metric
from benchdb_pipeline.warehouse.inspect import QUARANTINE_PROBLEMS
from benchdb_pipeline.warehouse.schema import MEASURED, ORDER_KEY

# Every result, live or archived, with its series, run and order of "latest" (the latest view
# has the same names): trends and change points see the whole history.
HISTORY = f"""
    SELECT m.model_name, m.model_family, h.hardware_type, h.device_name, h.platform_key, p.test_case,
           p.batch_size, p.sequence_length, p.precision, p.average_latency_ms,
           p.latency_p50_ms, p.latency_p90_ms, p.latency_p95_ms, p.latency_p99_ms,
           p.throughput_items_per_second, p.memory_peak_mb, p.measured_at, r.is_simulated,
           r.git_commit, r.run_id, p.result_id, {ORDER_KEY.format(p="p.")} AS k
    FROM all_performance_results p
    JOIN models m USING (model_id)
    JOIN hardware_platforms h USING (hardware_id)
    JOIN test_runs r ON r.run_id = p.run_id
    WHERE {MEASURED.format(p="p.")}
"""


@dataclass
class ResultSet:
    columns: list[str]
    rows: list[tuple] = field(default_factory=list)

    def frame(self):
        """As a pandas DataFrame (for charts; pandas loads only when needed)."""
        import pandas as pd

        return pd.DataFrame.from_records(self.rows, columns=self.columns)

    def column(self, name: str) -> list:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    @property
    def any_simulated(self) -> bool:
        return "is_simulated" in self.columns and any(self.column("is_simulated"))


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict) -> ResultSet:
    result = con.execute(sql, params)
    return ResultSet([d[0] for d in result.description], result.fetchall())


def run_sql(con: duckdb.DuckDBPyConnection, sql: str, params: list | dict | None = None) -> ResultSet:
    """A user's SQL; any failure is a DB004 query error."""
    try:
        return _run(con, sql, params or [])
    except duckdb.Error as exc:
        raise QueryError(f"query failed: {exc}") from exc


def performance(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """The latest result of every configuration."""
    where, params = filters.where()
    return _run(
        con,
        f"""
        SELECT model_display_name AS model_name, hardware_type, device_name, test_case, batch_size,
               sequence_length, precision, throughput_items_per_second, average_latency_ms,
               latency_p50_ms, latency_p99_ms, memory_peak_mb, measured_at, is_simulated
        FROM latest_performance_metrics{where}
        ORDER BY model_name, hardware_type, device_name, test_case, batch_size, sequence_length,
                 precision""",
        params,
    )


def compare(con: duckdb.DuckDBPyConnection, metric: Metric, filters: Filters) -> ResultSet:
    """One metric of the latest results, with its spread where samples gave percentiles."""
    where, params = filters.where()
    clause = f"{where} AND" if where else " WHERE"
    return _run(
        con,
        f"""
        SELECT model_name, hardware_type, device_name, test_case, batch_size, sequence_length,
               precision, {metric.column} AS value, latency_p50_ms, latency_p90_ms,
               latency_p99_ms, is_simulated
        FROM latest_performance_metrics{clause} {metric.column} IS NOT NULL
        ORDER BY model_name, hardware_type, device_name, batch_size, precision""",
        params,
    )


def hardware(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """Each hardware platform: what ran on it and how fast, from the latest results."""
    where, params = filters.where()
    return _run(
        con,
        f"""
        SELECT hardware_type, device_name, platform_key,
               count(DISTINCT model_name) AS models,
               count(*) AS configurations,
               max(throughput_items_per_second) AS best_throughput_items_per_second,
               median(average_latency_ms) AS median_latency_ms,
               max(memory_peak_mb) AS max_memory_peak_mb, bool_or(is_simulated) AS is_simulated
        FROM latest_performance_metrics{where}
        GROUP BY ALL ORDER BY hardware_type, device_name, platform_key""",
        params,
    )


def compatibility(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """The latest compatibility verdict per model (or family) and platform."""
    where, params = Filters(
        model=filters.model, hardware=filters.hardware, include_simulated=filters.include_simulated
    ).where()
    return _run(
        con,
        f"""
        SELECT coalesce(model_display_name, model_family || ' (family)') AS model, hardware_type,
               device_name, is_compatible, detection_success, compatibility_score, error_message,
               measured_at, is_simulated
        FROM model_hardware_compatibility{where}
        ORDER BY model, hardware_type, device_name""",
        params,
    )


def integration(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """Each integration test's latest outcome and history."""
    where, params = Filters(
        model=filters.model, hardware=filters.hardware, include_simulated=filters.include_simulated
    ).where()
    return _run(
        con,
        f"""
        SELECT test_module, test_class, test_name, model_name, hardware_type, latest_status,
               executions, passed, failed, skipped, last_measured_at AS measured_at, is_simulated
        FROM (SELECT *, any_simulated AS is_simulated FROM integration_test_status){where}
        ORDER BY latest_status <> 'pass' DESC, test_module, test_name""",
        params,
    )


def history(con: duckdb.DuckDBPyConnection, metric: Metric, filters: Filters) -> ResultSet:
    """Every result over time (not just the latest), for trends."""
    where, params = filters.where("h")
    clause = f"{where} AND" if where else " WHERE"
    return _run(
        con,
        f"""
        SELECT measured_at, model_name, hardware_type, device_name, platform_key, test_case, batch_size,
               precision, {metric.column} AS value, latency_p50_ms, latency_p90_ms,
               latency_p99_ms, git_commit, is_simulated
        FROM ({HISTORY}) h{clause} h.measured_at IS NOT NULL AND h.{metric.column} IS NOT NULL
        ORDER BY measured_at""",
        params,
    )


def quarantined(con: duckdb.DuckDBPyConnection) -> ResultSet:
    return _run(
        con,
        f"""
        SELECT f.path, q.record_locator AS record, q.field, q.reason
        FROM {QUARANTINE_PROBLEMS} ORDER BY f.path, q.quarantine_id""",
        [],
    )


def summary(con: duckdb.DuckDBPyConnection, filters: Filters) -> dict:
    """Counts, date range, newest run and data sources of what the filters cover."""
    where, params = filters.where()
    counts = con.execute(
        f"""
        SELECT count(*) AS configurations, count(DISTINCT model_name) AS models,
               count(DISTINCT hardware_type || '|' || coalesce(device_name, '')) AS platforms,
               min(measured_at) AS first_measured_at, max(measured_at) AS last_measured_at,
               count(*) FILTER (WHERE is_simulated) AS simulated_configurations
        FROM latest_performance_metrics{where}""",
        params,
    )
    totals = dict(zip([d[0] for d in counts.description], counts.fetchone() or (), strict=True))
    newest = con.execute("""
        SELECT test_name, started_at, git_commit, git_branch, is_simulated FROM test_runs
        ORDER BY started_at DESC NULLS LAST, run_id DESC LIMIT 1""").fetchone()
    sources = _run(
        con,
        """
        SELECT coalesce(format, 'unrecognised') AS format, status, count(*) AS files,
               sum(record_count) AS records
        FROM source_files GROUP BY ALL ORDER BY format, status""",
        [],
    )
    stored = dict(
        con.execute("""
        SELECT 'results', count(*) FROM performance_results UNION ALL
        SELECT 'runs', count(*) FROM test_runs UNION ALL
        SELECT 'files', count(*) FROM source_files UNION ALL
        SELECT 'quarantined files', count(*) FROM source_files WHERE status = 'quarantined'
    """).fetchall()
    )
    return {
        "filters": filters.describe(),
        **totals,
        "stored": stored,
        "newest_run": dict(
            zip(("test_name", "started_at", "git_commit", "git_branch", "is_simulated"), newest, strict=True)
        )
        if newest
        else None,
        "sources": sources,
    }


def summary_table(con: duckdb.DuckDBPyConnection, filters: Filters) -> ResultSet:
    """The summary as (item, value) rows, for table, CSV and JSON output."""
    facts = summary(con, filters)
    rows = [
        (key, facts[key])
        for key in (
            "filters",
            "configurations",
            "models",
            "platforms",
            "first_measured_at",
            "last_measured_at",
            "simulated_configurations",
        )
    ]
    rows += [(f"stored {name}", count) for name, count in facts["stored"].items()]
    if facts["newest_run"]:
        rows += [(f"newest run {key}", value) for key, value in facts["newest_run"].items()]
    rows += [(f"files {fmt}/{status}", files) for fmt, status, files, _ in facts["sources"].rows]
    return ResultSet(["item", "value"], rows)
