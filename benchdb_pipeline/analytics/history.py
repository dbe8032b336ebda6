"""Retrospective analyses of each series' history: change points and anomalies.

Change points (``segmentation``) find where a series' level moved and stayed moved,
including slow drifts that no single run crosses a threshold for. Anomalies are single
results far from the trailing window before them (the window never includes the point under
test); they are computed in SQL with windowed median and MAD, so memory stays bounded.
Series stream from DuckDB one at a time for change points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np

from benchdb_pipeline.analytics import segmentation
from benchdb_pipeline.analytics.regressions import MAD_TO_SIGMA
from benchdb_pipeline.reports.filters import EVERYTHING, METRICS, Filters
from benchdb_pipeline.reports.queries import HISTORY, ResultSet

# A series is one configuration on one machine (platform_key keeps hosts apart).
SERIES_COLUMNS = (
    "model_name",
    "hardware_type",
    "device_name",
    "platform_key",
    "test_case",
    "batch_size",
    "sequence_length",
    "precision",
)


@dataclass(frozen=True)
class ChangePoint:
    series: tuple
    metric: str
    result_id: int
    run_id: int
    git_commit: str | None
    measured_at: datetime | None
    before: float
    after: float
    points_before: int
    points_after: int
    kind: str = "step"  # step: one break; drift: several breaks in the same direction
    ends_at_result: int | None = None

    @property
    def change_percent(self) -> float:
        return (self.after - self.before) / abs(self.before) * 100 if self.before else math.inf

    @property
    def direction(self) -> str:
        worse = self.change_percent < 0 if METRICS[self.metric].higher_is_better else self.change_percent > 0
        return "regression" if worse else "improvement"


CHANGE_POINT_COLUMNS = [
    *SERIES_COLUMNS,
    "metric",
    "kind",
    "starts_at_result",
    "ends_at_result",
    "run_id",
    "git_commit",
    "measured_at",
    "level_before",
    "level_after",
    "change_percent",
    "direction",
    "points_before",
    "points_after",
]


def history_sql(metric: str, filters: Filters) -> tuple[str, list]:
    """Every result of the filtered series with a value of the metric, ordered by series and time."""
    where, params = filters.where("h")
    sql = f"""
        SELECT *, {METRICS[metric].column} AS value FROM ({HISTORY}) h{where}
        {"AND" if where else "WHERE"} {METRICS[metric].column} IS NOT NULL
        ORDER BY {", ".join(SERIES_COLUMNS)}, k"""
    return sql, params


def change_points(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = EVERYTHING,
    metrics: tuple[str, ...] = ("throughput", "latency"),
    *,
    min_points: int = 10,
    min_change_percent: float = 0.0,
    alpha: float = segmentation.ALPHA,
) -> list[ChangePoint]:
    """Where each series' level shifts (``segmentation``: binary segmentation on ranks, each
    split significant at ``alpha``); consecutive shifts the same way are one drift. Levels
    are medians, so a wild run does not move them. Shifts smaller than
    ``min_change_percent`` are not reported (by default every significant one is)."""
    found: list[ChangePoint] = []
    for metric in metrics:
        sql, params = history_sql(metric, filters)
        result = con.execute(sql, params)
        columns = [d[0] for d in result.description]
        index = {name: i for i, name in enumerate(columns)}
        for series, rows in _grouped(result, index):
            if len(rows) < min_points:
                continue
            values = np.array([r[index["value"]] for r in rows], dtype=float)
            edges = segmentation.breaks(values, alpha=alpha)
            for first, last, (left, right) in segmentation.episodes(values, edges):
                before = float(np.median(values[left:first]))
                after = float(np.median(values[last:right]))
                if before and abs(after - before) / abs(before) * 100 < min_change_percent:
                    continue
                row = rows[first]
                found.append(
                    ChangePoint(
                        series=series,
                        metric=metric,
                        result_id=row[index["result_id"]],
                        run_id=row[index["run_id"]],
                        git_commit=row[index["git_commit"]],
                        measured_at=row[index["measured_at"]],
                        before=before,
                        after=after,
                        points_before=first - left,
                        points_after=right - last,
                        kind="drift" if last > first else "step",
                        ends_at_result=rows[last][index["result_id"]],
                    )
                )
    return found


def _grouped(result: duckdb.DuckDBPyConnection, index: dict[str, int], batch: int = 50_000):
    """(series key, rows) for consecutive rows of one series, fetched in batches."""
    key_columns = [index[c] for c in SERIES_COLUMNS]
    current: tuple | None = None
    rows: list[tuple] = []
    while chunk := result.fetchmany(batch):
        for row in chunk:
            key = tuple(row[i] for i in key_columns)
            if key != current and rows:
                yield current, rows
                rows = []
            current = key
            rows.append(row)
    if rows:
        yield current, rows


def change_point_table(points: list[ChangePoint]) -> ResultSet:
    return ResultSet(
        CHANGE_POINT_COLUMNS,
        [
            (
                *p.series,
                p.metric,
                p.kind,
                p.result_id,
                p.ends_at_result,
                p.run_id,
                p.git_commit,
                p.measured_at,
                p.before,
                p.after,
                round(p.change_percent, 2),
                p.direction,
                p.points_before,
                p.points_after,
            )
            for p in points
        ],
    )


def anomalies(
    con: duckdb.DuckDBPyConnection,
    filters: Filters = EVERYTHING,
    metric: str = "latency",
    *,
    window: int = 10,
    z_score: float = 4.0,
    min_change_percent: float = 10.0,
) -> ResultSet:
    """Results far from the trailing window of their series (the point itself excluded)."""
    sql, params = history_sql(metric, filters)
    frame = (
        f"PARTITION BY {', '.join(SERIES_COLUMNS)} ORDER BY k "
        f"ROWS BETWEEN {int(window)} PRECEDING AND 1 PRECEDING"
    )
    return ResultSet(
        *_fetch(
            con,
            f"""
        WITH scored AS (
            SELECT *, median(value) OVER w AS trailing_median, mad(value) OVER w AS trailing_mad,
                   count(value) OVER w AS trailing_points
            FROM ({sql}) WINDOW w AS ({frame})
        )
        SELECT {", ".join(SERIES_COLUMNS)}, '{metric}' AS metric, result_id, run_id, git_commit,
               measured_at, value, trailing_median,
               round((value - trailing_median) / abs(trailing_median) * 100, 2) AS change_percent,
               round((value - trailing_median) / nullif({MAD_TO_SIGMA} * trailing_mad, 0), 2)
                   AS robust_z, is_simulated
        FROM scored
        WHERE trailing_points >= {max(3, window // 2)}
          AND abs(value - trailing_median) / abs(trailing_median) * 100 >= ?
          AND (trailing_mad = 0 OR abs(value - trailing_median) / ({MAD_TO_SIGMA} * trailing_mad) >= ?)
        ORDER BY measured_at DESC NULLS LAST""",
            [*params, min_change_percent, z_score],
        )
    )


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> tuple[list[str], list[tuple]]:
    result = con.execute(sql, params)
    return [d[0] for d in result.description], result.fetchall()
