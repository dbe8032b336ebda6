"""What each dashboard page shows, read from a snapshot cursor: plain queries, bound
parameters, one round trip per table on the page wherever the data allows."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import duckdb
import numpy as np

from benchdb_pipeline.analytics import segmentation
from benchdb_pipeline.api.snapshot import LATEST_TABLE
from benchdb_pipeline.errors import QueryError
from benchdb_pipeline.ingest.rules import norm_hardware_type, norm_model_name, norm_precision
from benchdb_pipeline.reports.filters import METRICS, Metric, series_label
from benchdb_pipeline.warehouse.schema import MEASURED, ORDER_KEY

PAGE_ROWS = 100
_KEY_COLUMNS = ("model_name", "platform_key", "test_case", "batch_size", "sequence_length", "precision")


@dataclass(frozen=True)
class SeriesKey:
    """One configuration on one machine: what a series is (``history.SERIES_COLUMNS`` with the
    platform key standing for hardware type and device). Empty fields are NULL."""

    model: str
    platform: str
    test_case: str | None = None
    batch_size: int | None = None
    sequence_length: int | None = None
    precision: str | None = None

    def where(self, qualified: Mapping[str, str] | None = None) -> tuple[str, list]:
        """A condition on ``model_name``, ``platform_key`` and the configuration columns (each
        named as ``qualified`` says, else bare); NULL matches NULL."""
        names = qualified or {}
        values = [getattr(self, f.name) for f in fields(self)]
        return " AND ".join(f"{names.get(c, c)} IS NOT DISTINCT FROM ?" for c in _KEY_COLUMNS), values

    def query(self) -> dict[str, object]:
        """The URL parameters that name it."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def label(self) -> str:
        return series_label(
            self.model, self.platform, self.test_case, self.precision, self.batch_size, self.sequence_length
        )


@dataclass
class Table:
    rows: list[dict[str, Any]]
    total: int | None = None  # rows matching, when the page shows fewer


@dataclass
class Matrix:
    """Models down, platforms across: each cell a model's best value on that platform."""

    platforms: list[str]
    rows: list[dict[str, Any]]


def _rows(cursor: duckdb.DuckDBPyConnection, sql: str, params: Sequence | dict = ()) -> list[dict[str, Any]]:
    result = cursor.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def metric(name: str) -> Metric:
    if name not in METRICS:
        raise QueryError(f"unknown metric {name!r}; choose one of {', '.join(METRICS)}")
    return METRICS[name]


# -- overview -------------------------------------------------------------------------------

OVERVIEW_SORTS = {
    "configuration": "position",
    "value": "value DESC NULLS LAST, position",
    "newest": "measured_at DESC NULLS LAST, position",
    "model": "model_name, position",
}


@dataclass(frozen=True)
class OverviewQuery:
    model: str | None = None  # a substring of the model's name
    hardware: str | None = None
    precision: str | None = None
    batch_size: int | None = None
    metric: str = "throughput"
    sort: str = "configuration"
    offset: int = 0

    def where(self) -> tuple[str, list]:
        clauses: list[str] = ["value IS NOT NULL"]
        params: list[object] = []
        if self.model:
            clauses.append("(model_name ILIKE ? OR model_display_name ILIKE ?)")
            pattern = f"%{self.model.strip().replace('%', '').replace('_', '')}%"
            params += [pattern, pattern]
        if self.hardware:
            clauses.append("hardware_type = ?")
            params.append(norm_hardware_type(self.hardware))
        if self.precision:
            clauses.append("precision = ?")
            params.append(norm_precision(self.precision))
        if self.batch_size is not None:
            clauses.append("batch_size = ?")
            params.append(self.batch_size)
        return " WHERE " + " AND ".join(clauses), params


def overview(cursor: duckdb.DuckDBPyConnection, q: OverviewQuery) -> Table:
    """The latest result of each configuration, a page of them, with the change since the
    configuration's previous result and the number of its open regressions."""
    m = metric(q.metric)
    if q.sort not in OVERVIEW_SORTS:
        raise QueryError(f"unknown sort {q.sort!r}; choose one of {', '.join(OVERVIEW_SORTS)}")
    where, params = q.where()
    source = f"(SELECT *, {m.column} AS value FROM {LATEST_TABLE})"
    total = cursor.execute(f"SELECT count(*) FROM {source}{where}", params).fetchone()
    rows = _rows(
        cursor,
        f"SELECT * FROM {source}{where} ORDER BY {OVERVIEW_SORTS[q.sort]} LIMIT ? OFFSET ?",
        [*params, PAGE_ROWS, q.offset],
    )
    previous = _previous(cursor, rows, m)
    open_regressions = _open_regressions(cursor, rows)
    for row in rows:
        before = previous.get(row["result_id"])
        row["previous"] = before
        row["change_percent"] = (
            (row["value"] - before) / abs(before) * 100 if before and row["value"] is not None else None
        )
        row["open_regressions"] = open_regressions.get(_configuration(row), 0)
    return Table(rows, total[0] if total else 0)


def _configuration(row: dict) -> tuple:
    return tuple(row[c] for c in _KEY_COLUMNS)


def _previous(cursor: duckdb.DuckDBPyConnection, rows: list[dict], m: Metric) -> dict[int, float]:
    """For each latest result on the page, its configuration's result just before it."""
    if not rows:
        return {}
    ids = [row["result_id"] for row in rows]
    order = ORDER_KEY.format(p="p.")
    found = cursor.execute(
        f"""
        WITH latest AS (
            SELECT p.result_id, p.model_id, p.hardware_id, p.test_case, p.batch_size,
                   p.sequence_length, p.precision, {order} AS k
            FROM performance_results p WHERE p.result_id IN (SELECT unnest(?::BIGINT[]))
        )
        SELECT l.result_id, arg_max(p.{m.column}, {order})
        FROM latest l JOIN performance_results p
          ON p.model_id = l.model_id AND p.hardware_id = l.hardware_id
         AND p.test_case IS NOT DISTINCT FROM l.test_case AND p.batch_size IS NOT DISTINCT FROM l.batch_size
         AND p.sequence_length IS NOT DISTINCT FROM l.sequence_length
         AND p.precision IS NOT DISTINCT FROM l.precision
        WHERE {order} < l.k AND {MEASURED.format(p="p.")} AND p.{m.column} IS NOT NULL
        GROUP BY l.result_id""",
        [ids],
    ).fetchall()
    return dict(found)


def _open_regressions(cursor: duckdb.DuckDBPyConnection, rows: list[dict]) -> dict[tuple, int]:
    if not rows:
        return {}
    found = cursor.execute(
        """
        SELECT model_name, platform_key, test_case, batch_size, sequence_length, precision, count(*)
        FROM performance_regressions
        WHERE status = 'untriaged' AND direction = 'regression' AND model_name IN (SELECT unnest(?))
        GROUP BY ALL""",
        [sorted({row["model_name"] for row in rows})],
    ).fetchall()
    return {tuple(r[:6]): r[6] for r in found}


def choices(cursor: duckdb.DuckDBPyConnection) -> dict[str, list]:
    """The values the filters offer: what the latest results hold."""
    found = cursor.execute(
        f"""SELECT list(DISTINCT hardware_type ORDER BY hardware_type),
                   list(DISTINCT precision ORDER BY precision) FILTER (WHERE precision IS NOT NULL),
                   list(DISTINCT batch_size ORDER BY batch_size) FILTER (WHERE batch_size IS NOT NULL)
            FROM {LATEST_TABLE}"""
    ).fetchone()
    hardware, precisions, batches = found if found else ([], [], [])
    return {"hardware": hardware or [], "precision": precisions or [], "batch_size": batches or []}


# -- series ---------------------------------------------------------------------------------


@dataclass
class Series:
    key: SeriesKey
    metric: Metric
    points: list[dict[str, Any]]  # oldest first: value, measured_at, run, commit, branch, file, bands
    change_points: list[dict[str, Any]] = field(default_factory=list)
    regressions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_bands(self) -> bool:
        return any(p["p90"] is not None for p in self.points)


CSV_COLUMNS = (  # a series as its CSV download has it
    "result_id",
    "measured_at",
    "value",
    "p50",
    "p90",
    "p99",
    "samples",
    "run_id",
    "git_commit",
    "git_branch",
    "build",
    "source_file",
    "is_simulated",
)


def series(cursor: duckdb.DuckDBPyConnection, key: SeriesKey, metric_name: str) -> Series:
    """``points`` of one series, its change points and its recorded regressions."""
    m = metric(metric_name)
    points = series_points(cursor, key, m)
    found = Series(key, m, points)
    values = np.array([p["value"] for p in points], dtype=float)
    for index in segmentation.breaks(values) if len(values) >= 2 * segmentation.MIN_SIZE else []:
        before, after = float(np.median(values[:index][-10:])), float(np.median(values[index:][:10]))
        found.change_points.append(
            {
                "index": index,
                "result_id": points[index]["result_id"],
                "measured_at": points[index]["measured_at"],
                "git_commit": points[index]["git_commit"],
                "before": before,
                "after": after,
                "change_percent": (after - before) / abs(before) * 100 if before else math.inf,
            }
        )
    condition, params = key.where()
    found.regressions = _rows(
        cursor,
        f"""SELECT regression_id, candidate_result_id, candidate_value, baseline_median,
                   change_percent, direction, severity, method, statistic, status, note,
                   measured_at, triaged_at
            FROM performance_regressions WHERE {condition} AND metric = ?
            ORDER BY measured_at NULLS LAST, regression_id""",
        [*params, m.name],
    )
    return found


def series_points(cursor: duckdb.DuckDBPyConnection, key: SeriesKey, m: Metric) -> list[dict[str, Any]]:
    """Every measured result of one series, oldest first, with its run's provenance, and on a
    latency series the percentiles of each result's raw samples where it has them."""
    condition, params = key.where(
        {"model_name": "m.model_name", "platform_key": "h.platform_key"}
        | {c: f"p.{c}" for c in _KEY_COLUMNS[2:]}
    )
    order = ORDER_KEY.format(p="p.")
    points = _rows(
        cursor,
        f"""
        WITH s AS (
            SELECT p.result_id, p.measured_at, p.{m.column} AS value, p.run_id, {order} AS k,
                   p.source_file_id
            FROM all_performance_results p
            JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
            WHERE {condition} AND {MEASURED.format(p="p.")} AND p.{m.column} IS NOT NULL
        ), bands AS (
            SELECT result_id, quantile_cont(latency_ms, [0.5, 0.9, 0.99]) AS q, count(*) AS n
            FROM performance_samples WHERE result_id IN (SELECT result_id FROM s) GROUP BY result_id
        )
        SELECT s.result_id, s.measured_at, s.value, b.q[1] AS p50, b.q[2] AS p90, b.q[3] AS p99,
               b.n AS samples, s.run_id, r.git_commit, r.git_branch,
               r.metadata->'ci'->>'build_id' AS build, f.path AS source_file, r.is_simulated
        FROM s JOIN test_runs r USING (run_id)
        LEFT JOIN bands b USING (result_id) LEFT JOIN source_files f ON f.file_id = s.source_file_id
        ORDER BY s.k""",
        params,
    )
    if m.name != "latency":  # the samples are latencies: bands only on a latency chart
        for point in points:
            point["p50"] = point["p90"] = point["p99"] = None
    return points


def series_for_result(cursor: duckdb.DuckDBPyConnection, result_id: int) -> SeriesKey:
    row = cursor.execute(
        """SELECT m.model_name, h.platform_key, p.test_case, p.batch_size, p.sequence_length, p.precision
           FROM all_performance_results p JOIN models m USING (model_id)
           JOIN hardware_platforms h USING (hardware_id) WHERE p.result_id = ?""",
        [result_id],
    ).fetchone()
    if row is None:
        raise QueryError(f"no result with id {result_id}")
    return SeriesKey(*row)


def lttb(xs: np.ndarray, ys: np.ndarray, keep: int) -> np.ndarray:
    """The indices Largest-Triangle-Three-Buckets keeps (Steinarsson 2013): ``keep`` points
    that draw like all of them; always the first and the last."""
    n = len(xs)
    if keep >= n or keep < 3:
        return np.arange(n)
    chosen = np.empty(keep, dtype=np.int64)
    chosen[0], chosen[-1] = 0, n - 1
    edges = np.linspace(1, n - 1, keep - 1).astype(np.int64)
    a = 0
    for i in range(keep - 2):
        start, end = edges[i], max(edges[i + 1], edges[i] + 1)
        following = slice(end, max(edges[i + 2] if i + 2 < len(edges) else n, end + 1))
        cx, cy = xs[following].mean(), ys[following].mean()
        bx, by = xs[start:end], ys[start:end]
        area = np.abs((xs[a] - cx) * (by - ys[a]) - (xs[a] - bx) * (cy - ys[a]))
        a = start + int(np.argmax(area))
        chosen[i + 1] = a
    return chosen


# -- compare --------------------------------------------------------------------------------

SELECTIONS = {
    "run": "CAST(r.run_id AS VARCHAR) = ?",
    "commit": "(r.git_commit = ? OR starts_with(r.git_commit, ?))",
    "branch": "r.git_branch = ?",
    "build": "r.metadata->'ci'->>'build_id' = ?",
}


@dataclass(frozen=True)
class Side:
    kind: str  # run | commit | branch | build
    value: str

    def where(self) -> tuple[str, list]:
        if self.kind not in SELECTIONS:
            raise QueryError(f"unknown selection {self.kind!r}; choose one of {', '.join(SELECTIONS)}")
        clause = SELECTIONS[self.kind]
        return clause, [self.value] * clause.count("?")

    def label(self) -> str:
        return f"{self.kind} {self.value}"


COMPARED_ROWS = 500


def compare(cursor: duckdb.DuckDBPyConnection, a: Side, b: Side, metric_name: str) -> Table:
    """Per configuration measured on both sides: each side's median, the change, and a
    Mann-Whitney p-value of the raw latency samples where both sides have at least five;
    the ``COMPARED_ROWS`` largest changes, worse ones first, then better, then the same."""
    from scipy.stats import mannwhitneyu

    m = metric(metric_name)
    parts, params = [], []
    for name, side in (("a", a), ("b", b)):
        clause, values = side.where()
        parts.append(
            f"""{name} AS (
            SELECT m.model_name, h.platform_key, p.test_case, p.batch_size, p.sequence_length,
                   p.precision, median(p.{m.column}) AS value, count(*) AS results,
                   list(p.result_id) AS ids
            FROM all_performance_results p JOIN test_runs r USING (run_id)
            JOIN models m USING (model_id) JOIN hardware_platforms h USING (hardware_id)
            WHERE {clause} AND {MEASURED.format(p="p.")} AND p.{m.column} IS NOT NULL
            GROUP BY ALL)"""
        )
        params += values
    keys = "model_name, platform_key, test_case, batch_size, sequence_length, precision"
    rows = _rows(
        cursor,
        f"""WITH {", ".join(parts)}
        SELECT {keys}, a.value AS a_value, b.value AS b_value, a.results AS a_results,
               b.results AS b_results, a.ids AS a_ids, b.ids AS b_ids, count(*) OVER () AS compared
        FROM a JOIN b USING ({keys})
        ORDER BY abs(b.value - a.value) / nullif(abs(a.value), 0) DESC NULLS LAST, {keys}
        LIMIT {COMPARED_ROWS}""",
        params,
    )
    samples = _samples(cursor, [i for row in rows for i in (*row["a_ids"], *row["b_ids"])])
    for row in rows:
        before, after = row["a_value"], row["b_value"]
        row["change_percent"] = (after - before) / abs(before) * 100 if before else None
        xa = [s for i in row.pop("a_ids") for s in samples.get(i, ())]
        xb = [s for i in row.pop("b_ids") for s in samples.get(i, ())]
        row["p_value"] = (
            float(mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
            if min(len(xa), len(xb)) >= 5
            else None
        )
        row["verdict"] = verdict(m, row["change_percent"], row["p_value"])
    rows.sort(key=lambda row: ("worse", "better", "same").index(row["verdict"]))  # stable: largest first
    return Table(rows, rows[0]["compared"] if rows else 0)


def verdict(m: Metric, change_percent: float | None, p_value: float | None) -> str:
    """better / worse by the metric's direction: significant in the samples (p < 0.05), or,
    without samples, a change of 5 % or more; else the same."""
    if change_percent is None:
        return "same"
    moved = p_value < 0.05 if p_value is not None else abs(change_percent) >= 5
    if not moved or change_percent == 0:
        return "same"
    return "better" if (change_percent > 0) == m.higher_is_better else "worse"


def _samples(cursor: duckdb.DuckDBPyConnection, ids: list[int]) -> dict[int, list[float]]:
    if not ids:
        return {}
    found = cursor.execute(
        "SELECT result_id, list(latency_ms) FROM performance_samples "
        "WHERE result_id IN (SELECT unnest(?::BIGINT[])) GROUP BY result_id",
        [ids],
    ).fetchall()
    return dict(found)


def sides(cursor: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Recent runs, commits, branches and builds to choose from."""
    found = cursor.execute(
        """SELECT list(run_id ORDER BY run_id DESC)[:50],
                  list(DISTINCT git_commit)[:50],
                  list(DISTINCT git_branch),
                  list(DISTINCT metadata->'ci'->>'build_id')
           FROM (SELECT * FROM test_runs ORDER BY run_id DESC LIMIT 2000)"""
    ).fetchone()
    if found is None:
        return {kind: [] for kind in SELECTIONS}
    return {
        kind: sorted(str(v) for v in values or () if v is not None)
        for kind, values in zip(SELECTIONS, found, strict=True)
    }


def matrix(cursor: duckdb.DuckDBPyConnection, metric_name: str, precision: str | None) -> Matrix:
    """Model × hardware: each model's best latest value on each platform (any batch size)."""
    m = metric(metric_name)
    best = "max" if m.higher_is_better else "min"
    rows = _rows(
        cursor,
        f"""SELECT model_name, platform_key, {best}({m.column}) AS value
            FROM {LATEST_TABLE} WHERE {m.column} IS NOT NULL AND (? IS NULL OR precision = ?)
            GROUP BY ALL ORDER BY ALL""",
        [precision, precision],
    )
    platforms = sorted({r["platform_key"] for r in rows})
    by_model: dict[str, dict[str, Any]] = {}
    for r in rows:
        by_model.setdefault(r["model_name"], {"model_name": r["model_name"]})[r["platform_key"]] = r["value"]
    return Matrix(platforms, list(by_model.values()))


def scaling(cursor: duckdb.DuckDBPyConnection, model: str, metric_name: str) -> list[dict[str, Any]]:
    """A model's latest value at each batch size, per platform and precision."""
    m = metric(metric_name)
    return _rows(
        cursor,
        f"""SELECT platform_key, precision, batch_size, {m.column} AS value
            FROM {LATEST_TABLE} WHERE model_name = ? AND batch_size IS NOT NULL
              AND {m.column} IS NOT NULL
            ORDER BY platform_key, precision, batch_size""",
        [norm_model_name(model)],
    )


# -- regressions ----------------------------------------------------------------------------


@dataclass
class Alert:
    """The regressions one run raised: what Perfherder calls an alert summary."""

    run_id: int
    git_commit: str | None
    git_branch: str | None
    started_at: datetime | None
    build: str | None
    regressions: list[dict[str, Any]]

    @property
    def untriaged(self) -> int:
        return sum(r["status"] == "untriaged" for r in self.regressions)


def alerts(cursor: duckdb.DuckDBPyConnection, status: str | None) -> list[Alert]:
    """Recorded regressions and improvements grouped by the run that raised them: runs with
    untriaged ones first, newest first."""
    rows = _rows(
        cursor,
        """SELECT g.*, r.git_commit, r.git_branch, r.started_at, r.metadata->'ci'->>'build_id' AS build
           FROM performance_regressions g JOIN test_runs r ON r.run_id = g.candidate_run_id
           WHERE ? IS NULL OR g.status = ?
           ORDER BY g.candidate_run_id DESC, g.direction DESC, abs(g.change_percent) DESC""",
        [status, status],
    )
    grouped: dict[int, Alert] = {}
    for row in rows:
        alert = grouped.get(row["candidate_run_id"])
        if alert is None:
            alert = grouped[row["candidate_run_id"]] = Alert(
                row["candidate_run_id"],
                row["git_commit"],
                row["git_branch"],
                row["started_at"],
                row["build"],
                [],
            )
        alert.regressions.append(row)
    return sorted(grouped.values(), key=lambda a: (a.untriaged == 0, -a.run_id))


# -- runs and machines ----------------------------------------------------------------------


def runs(cursor: duckdb.DuckDBPyConnection, offset: int = 0, test_type: str | None = None) -> Table:
    rows = _rows(
        cursor,
        """SELECT r.run_id, r.test_name, r.test_type, r.started_at, r.git_commit, r.git_branch,
                  r.metadata->'ci'->>'build_id' AS build, r.is_simulated, f.path AS source_file,
                  (SELECT count(*) FROM performance_results p WHERE p.run_id = r.run_id) AS results
           FROM test_runs r LEFT JOIN source_files f ON f.file_id = r.source_file_id
           WHERE ? IS NULL OR r.test_type = ?
           ORDER BY r.run_id DESC LIMIT ? OFFSET ?""",
        [test_type, test_type, PAGE_ROWS, offset],
    )
    total = cursor.execute(
        "SELECT count(*) FROM test_runs WHERE ? IS NULL OR test_type = ?", [test_type, test_type]
    ).fetchone()
    return Table(rows, total[0] if total else 0)


def run(cursor: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, Any]:
    """One run's provenance and its results."""
    found = _rows(
        cursor,
        """SELECT r.*, f.path AS source_file, f.sha256, f.format, f.status AS file_status,
                  f.ingested_at
           FROM test_runs r LEFT JOIN source_files f ON f.file_id = r.source_file_id
           WHERE r.run_id = ?""",
        [run_id],
    )
    if not found:
        raise QueryError(f"no run with id {run_id}")
    details = found[0]
    details["results"] = _rows(
        cursor,
        """SELECT m.model_name, h.platform_key, p.test_case, p.batch_size, p.sequence_length,
                  p.precision, p.average_latency_ms, p.throughput_items_per_second,
                  p.memory_peak_mb, p.measured_at, p.status
           FROM all_performance_results p JOIN models m USING (model_id)
           JOIN hardware_platforms h USING (hardware_id)
           WHERE p.run_id = ? ORDER BY ALL LIMIT 1000""",
        [run_id],
    )
    return details


def quarantined(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Files refused, with each reason (the newest first)."""
    return _rows(
        cursor,
        """SELECT f.path, f.format, q.record_locator, q.field, q.reason, q.quarantined_at
           FROM quarantine q JOIN source_files f USING (file_id)
           ORDER BY q.quarantined_at DESC, q.quarantine_id LIMIT 200""",
    )


def machines(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Every platform with its identity fingerprint, what ran on it and when last."""
    return _rows(
        cursor,
        """SELECT h.hardware_id, h.platform_key, h.fingerprint, h.hardware_type, h.device_name,
                  h.memory_gb, h.accelerator_count, h.host_name, h.platform, h.driver_version,
                  count(p.result_id) AS results, count(DISTINCT p.model_id) AS models,
                  max(p.measured_at) AS last_measured
           FROM hardware_platforms h LEFT JOIN performance_results p USING (hardware_id)
           GROUP BY ALL ORDER BY h.platform_key""",
    )
