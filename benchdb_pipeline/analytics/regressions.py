"""The regression check: one run's results against the history of each of their series.

A series is model × hardware platform × test case × batch size × sequence length × precision.
A change is reported when it passes the threshold (percent, direction-aware: throughput
higher is better, latency and memory lower) and is significant: a robust z-score of the run's
value against its baseline's runs (median and MAD), when the baseline has enough points; with
fewer it is reported as low confidence. Raw samples refine the spread with the candidate's own
measurement error (see ``_run_spread``); they are never pooled across runs.
Baselines come from the warehouse (the previous N results, or the last D days) or from the
same series in a reference warehouse. A series triaged as an expected change restarts its
baseline at that result.

The heavy part is one SQL statement; Python sees one row per series.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from benchdb_pipeline.errors import QueryError
from benchdb_pipeline.reports.filters import METRICS, series_label
from benchdb_pipeline.warehouse.schema import MEASURED, ORDER_KEY, sql_string, utc_now
from benchdb_pipeline.warehouse.sql import fetch_one, fetch_value
from benchdb_pipeline.warehouse.store import new_ids, transaction

METRIC_COLUMNS = {name: metric.column for name, metric in METRICS.items()}
MAD_TO_SIGMA = 1.4826
TRIAGE_STATUSES = ("untriaged", "acknowledged", "expected", "invalid", "fixed")


@dataclass(frozen=True)
class Settings:
    threshold_percent: float = 10.0
    z_score: float = 3.0
    min_points: int = 5
    window: int = 10
    last_days: int | None = None
    metrics: tuple[str, ...] = ("throughput", "latency", "memory")


DEFAULTS = Settings()


@dataclass
class Finding:
    model_name: str
    platform_key: str
    test_case: str | None
    batch_size: int | None
    sequence_length: int | None
    precision: str | None
    metric: str
    candidate_result_id: int
    candidate_run_id: int
    candidate_value: float
    baseline_median: float
    baseline_points: int
    change_percent: float
    direction: str
    severity: str
    method: str
    statistic: float | None
    measured_at: datetime | None
    status: str = "untriaged"
    regression_id: int | None = None

    @property
    def confident(self) -> bool:
        return self.method != "low-confidence"

    @property
    def series(self) -> str:
        return series_label(
            self.model_name,
            self.platform_key,
            self.test_case,
            self.precision,
            self.batch_size,
            self.sequence_length,
        )


@dataclass
class CheckReport:
    run_id: int
    run_name: str
    git_commit: str | None
    started_at: datetime | None
    baseline: str
    series: int = 0
    compared: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def regressions(self) -> list[Finding]:
        """Confident regressions: what fails a CI gate."""
        return [f for f in self.findings if f.direction == "regression" and f.confident]


def candidate_run(
    con: duckdb.DuckDBPyConnection, run_id: int | None = None, commit: str | None = None
) -> tuple[int, str, str | None, datetime | None]:
    """The run to check: the given one, the newest of a commit, or the newest with results."""
    where, params = "", list[object]()
    if run_id is not None:
        where, params = "WHERE r.run_id = ?", [run_id]
    elif commit:
        where, params = "WHERE r.git_commit LIKE ? || '%'", [commit]
    row = con.execute(
        f"""
        SELECT r.run_id, r.test_name, r.git_commit, r.started_at FROM test_runs r {where}
        {"AND" if where else "WHERE"} EXISTS (SELECT 1 FROM performance_results p WHERE p.run_id = r.run_id)
        ORDER BY r.started_at DESC NULLS LAST, r.run_id DESC LIMIT 1""",
        params,
    ).fetchone()
    if row is None:
        wanted = f"run {run_id}" if run_id is not None else (f"commit {commit}" if commit else "any run")
        raise QueryError(f"no performance results for {wanted}")
    return row


def runs_of_build(con: duckdb.DuckDBPyConnection, build: str) -> list[int]:
    """Runs with performance results that a CI build brought in (``metadata.ci.build_id``)."""
    runs = [
        r
        for (r,) in con.execute(
            """
        SELECT r.run_id FROM test_runs r WHERE r.metadata->'ci'->>'build_id' = ?
        AND EXISTS (SELECT 1 FROM performance_results p WHERE p.run_id = r.run_id)
        ORDER BY r.started_at NULLS LAST, r.run_id""",
            [build],
        ).fetchall()
    ]
    if not runs:
        raise QueryError(f"no performance results for CI build {build}")
    return runs


def _statistics(metrics: Sequence[str]) -> str:
    parts = []
    for name in metrics:
        parts += [
            f"count(b.{name}) AS {name}_n",
            f"median(b.{name}) AS {name}_median",
            f"mad(b.{name}) AS {name}_mad",
        ]
    return ",\n               ".join(parts)


def _same_series(alias: str) -> str:
    """The series columns (after model and platform) of ``alias`` equal the candidate's."""
    return " AND ".join(
        f"{alias}.{column} IS NOT DISTINCT FROM c.{column}"
        for column in ("test_case", "batch_size", "sequence_length", "precision")
    )


def _check_sql(settings: Settings, reference: bool, resets: bool = True) -> str:
    """Candidate rows with the statistics of their series' baselines, one row each.
    ``resets``: some series were triaged as expected changes (their baselines restart).
    A baseline is found as a list of result ids per candidate: the newest ``window`` by a
    top-n aggregate (no sort of the whole history), or all of the last days."""
    metrics = settings.metrics
    values = ", ".join(f"p.{METRIC_COLUMNS[m]} AS {m}" for m in metrics)
    key = ORDER_KEY.format(p="p.")
    reset_match = f"r.model_name = c.model_name AND r.platform_key = c.platform_key AND {_same_series('r')}"
    reset_join = f"LEFT JOIN resets r ON {reset_match}" if resets else ""
    reset_clause = f"(r.k IS NULL OR {key} >= r.k)" if resets else "TRUE"
    if settings.last_days is not None:
        recent = "AND p.measured_at >= c.measured_at - to_days(CAST($last_days AS INTEGER))"
        ids = "list(p.result_id)"
    else:
        recent = ""
        ids = f"arg_max(p.result_id, {key}, $window)"
    if reference:
        # The same series in another warehouse, matched by name; all of its history counts.
        history = f"""history AS (
            SELECT c.result_id AS candidate, {ids} AS ids
            FROM cand c
            JOIN ref.performance_results p ON {_same_series("p")}
            JOIN ref.models m ON m.model_id = p.model_id AND m.model_name = c.model_name
            JOIN ref.hardware_platforms h
                 ON h.hardware_id = p.hardware_id AND h.platform_key = c.platform_key
            {reset_join}
            WHERE {reset_clause} {recent}
            GROUP BY c.result_id
        )"""
    else:
        # The previous results of the same series here, from other runs.
        history = f"""history AS (
            SELECT c.result_id AS candidate, {ids} AS ids
            FROM cand c
            JOIN performance_results p
                 ON p.model_id = c.model_id AND p.hardware_id = c.hardware_id
                AND {_same_series("p")}
            {reset_join}
            WHERE {key} < c.k AND p.run_id <> c.run_id AND {MEASURED.format(p="p.")}
              AND {reset_clause} {recent}
            GROUP BY c.result_id
        )"""
    return f"""
        WITH cand AS (
            SELECT p.result_id, p.run_id, p.model_id, p.hardware_id, p.test_case, p.batch_size,
                   p.sequence_length, p.precision, p.measured_at,
                   {", ".join(f"p.{METRIC_COLUMNS[m]} AS {m}" for m in metrics)},
                   {key} AS k, m.model_name, h.platform_key,
                   EXISTS (SELECT 1 FROM performance_samples s WHERE s.result_id = p.result_id)
                       AS has_samples
            FROM performance_results p JOIN models m USING (model_id)
            JOIN hardware_platforms h USING (hardware_id)
            WHERE p.run_id = $run AND {MEASURED.format(p="p.")}
        ),
        resets AS (
            SELECT g.model_name, g.platform_key, g.test_case, g.batch_size, g.sequence_length,
                   g.precision, max({key}) AS k
            FROM performance_regressions g JOIN performance_results p
                 ON p.result_id = g.candidate_result_id
            WHERE g.status = 'expected' GROUP BY ALL
        ),
        {history},
        baseline AS (
            SELECT h.candidate, p.result_id, {values}
            FROM (SELECT candidate, unnest(ids) AS result_id FROM history) h
            JOIN {"ref." if reference else ""}performance_results p USING (result_id)
        )
        SELECT *, {", ".join(f"({m} - {m}_median) / abs({m}_median) * 100 AS {m}_change" for m in metrics)}
        FROM (
            SELECT c.result_id, c.run_id, c.model_name, c.platform_key, c.test_case, c.batch_size,
                   c.sequence_length, c.precision, c.measured_at, c.has_samples,
                   {", ".join(f"c.{m}" for m in metrics)},
                   list(b.result_id) FILTER (WHERE c.has_samples) AS baseline_ids,
                   {_statistics(metrics)}
            FROM cand c LEFT JOIN baseline b ON b.candidate = c.result_id
            GROUP BY ALL
        )
    """


def check(
    con: duckdb.DuckDBPyConnection,
    settings: Settings = DEFAULTS,
    *,
    run_id: int | None = None,
    commit: str | None = None,
    reference_db: str | Path | None = None,
) -> CheckReport:
    """Compare one run's results with their baselines; nothing is written."""
    run, name, git_commit, started = candidate_run(con, run_id, commit)
    if reference_db is not None:
        # ATTACH takes no parameters: the path goes in as a quoted literal.
        con.execute(f"ATTACH {sql_string(reference_db)} AS ref (READ_ONLY)")
    try:
        params = {"run": run}
        if settings.last_days is not None:
            params["last_days"] = settings.last_days
        else:
            params["window"] = settings.window
        resets = (
            fetch_value(con, "SELECT count(*) FROM performance_regressions WHERE status = 'expected'") > 0
        )
        con.execute(
            "CREATE OR REPLACE TEMP TABLE regression_stats AS "
            + _check_sql(settings, reference_db is not None, resets),
            params,
        )
        series, compared = fetch_one(
            con,
            "SELECT count(*), "
            + " + ".join(f"count(*) FILTER (WHERE {m} IS NOT NULL AND {m}_n > 0)" for m in settings.metrics)
            + " FROM regression_stats",
        )
        # Only rows past the threshold on some metric need judging.
        past = " OR ".join(f"abs({m}_change) >= $threshold" for m in settings.metrics)
        result = con.execute(
            f"SELECT * FROM regression_stats WHERE {past}", {"threshold": settings.threshold_percent}
        )
        columns = [d[0] for d in result.description]
        rows = [dict(zip(columns, row, strict=True)) for row in result.fetchall()]
    finally:
        con.execute("DROP TABLE IF EXISTS regression_stats")
        if reference_db is not None:
            con.execute("DETACH ref")
    baseline = (
        f"the same series in {reference_db}"
        if reference_db is not None
        else f"results of the last {settings.last_days} days"
        if settings.last_days is not None
        else f"the previous {settings.window} results"
    )
    report = CheckReport(run, name, git_commit, started, baseline, series=series, compared=compared)
    samples = _samples(con, rows) if reference_db is None else {}
    for row in rows:
        for metric in settings.metrics:
            finding = _judge(row, metric, settings, samples)
            if finding is not None:
                report.findings.append(finding)
    report.findings.sort(key=lambda f: (f.direction != "regression", not f.confident, -abs(f.change_percent)))
    return report


def _samples(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> dict[int, list[float]]:
    """Raw latency samples of the candidates that have them, and of their baselines."""
    ids = [r["result_id"] for r in rows if r["has_samples"]]
    ids += [i for r in rows if r["has_samples"] for i in r["baseline_ids"] or () if i is not None]
    if not ids:
        return {}
    found = con.execute(
        "SELECT result_id, list(latency_ms) FROM performance_samples "
        "WHERE result_id IN (SELECT unnest(?)) GROUP BY 1",
        [ids],
    ).fetchall()
    return dict(found)


def _judge(row: dict, metric: str, settings: Settings, samples: dict) -> Finding | None:
    value, points, median = row[metric], row[f"{metric}_n"], row[f"{metric}_median"]
    change = row[f"{metric}_change"]
    if value is None or not points or not median or change is None:
        return None
    if abs(change) < settings.threshold_percent:
        return None
    higher_is_better = METRICS[metric].higher_is_better
    worse = change < 0 if higher_is_better else change > 0
    method, statistic = _significance(row, metric, settings, samples)
    if method is None:
        return None
    return Finding(
        model_name=row["model_name"],
        platform_key=row["platform_key"],
        test_case=row["test_case"],
        batch_size=row["batch_size"],
        sequence_length=row["sequence_length"],
        precision=row["precision"],
        metric=metric,
        candidate_result_id=row["result_id"],
        candidate_run_id=row["run_id"],
        candidate_value=value,
        baseline_median=median,
        baseline_points=points,
        change_percent=change,
        direction="regression" if worse else "improvement",
        severity="major" if abs(change) >= 2 * settings.threshold_percent else "minor",
        method=method,
        statistic=statistic,
        measured_at=row["measured_at"],
    )


def _significance(row, metric, settings, samples):
    """(method, statistic) when the change is significant or too thinly based to tell,
    (None, None) when the baseline's own spread explains it."""
    points, median, mad = row[f"{metric}_n"], row[f"{metric}_median"], row[f"{metric}_mad"]
    if points < settings.min_points:
        return "low-confidence", None
    spread = MAD_TO_SIGMA * mad
    candidate = samples.get(row["result_id"])
    if metric == "latency" and candidate and len(candidate) >= 3:
        spread = _run_spread(spread, candidate, [samples.get(i) for i in row["baseline_ids"] or ()])
    z = (row[metric] - median) / spread if spread else math.copysign(math.inf, row[metric] - median)
    return ("robust-z", z) if abs(z) >= settings.z_score else (None, None)


def _run_spread(spread: float, candidate: list[float], baseline: list[list[float] | None]) -> float:
    """How far one run's latency may stray from the baseline's median by chance, knowing the
    runs' raw samples. A run's level moves from run to run (another machine, another boot, a
    noisy neighbour), and its samples only say how precisely the run measured its own level:
    testing samples against samples pooled across runs takes every between-run move for a
    change. So run values stay the unit, and ``spread`` (their robust spread: between-run
    variance plus the baseline runs' typical measurement error) changes in two cases only:
    it is never below the measurement error the samples show (a MAD of a few points can
    collapse), and a candidate that measured itself significantly more or less precisely
    than the baseline runs (an F-test, p < 0.01) brings its own error in place of theirs."""
    errors = [
        (statistics.variance(values), len(values)) for values in baseline if values and len(values) >= 3
    ]
    own_variance, n = statistics.variance(candidate), len(candidate)
    own = own_variance / n
    if not errors:
        return math.sqrt(spread**2 + own)
    typical = statistics.fmean(variance / size for variance, size in errors)
    pooled = statistics.fmean(variance for variance, _size in errors)
    dof = sum(size - 1 for _variance, size in errors)
    from scipy.stats import f

    ratio = own_variance / pooled if pooled else math.inf
    differs = min(f.cdf(ratio, n - 1, dof), f.sf(ratio, n - 1, dof)) < 0.005
    between = max(spread**2 - typical, 0.0)
    return math.sqrt(between + (own if differs else typical))


# The columns of a finding that performance_regressions stores.
_STORED = (
    "model_name", "platform_key", "test_case", "batch_size", "sequence_length", "precision",
    "metric", "candidate_result_id", "candidate_run_id", "candidate_value", "baseline_median",
    "baseline_points", "change_percent", "direction", "severity", "method", "statistic",
    "measured_at",
)  # fmt: skip


def store(con: duckdb.DuckDBPyConnection, report: CheckReport) -> int:
    """Record the findings; a finding already recorded keeps its triage. Returns new rows."""
    added = 0
    if report.findings:
        findings = pa.Table.from_pylist(
            [
                {
                    **{c: getattr(f, c) for c in _STORED},
                    "statistic": None if f.statistic is None or math.isinf(f.statistic) else f.statistic,
                }
                for f in report.findings
            ]
        )
        con.register("s_findings", findings)
        new = (
            "SELECT DISTINCT ON (candidate_result_id, metric) * FROM s_findings f WHERE NOT EXISTS "
            "(SELECT 1 FROM performance_regressions r "
            " WHERE r.candidate_result_id = f.candidate_result_id AND r.metric = f.metric)"
        )
        columns = ", ".join(_STORED)
        try:
            with transaction(con):
                added = fetch_value(
                    con,
                    f"INSERT INTO performance_regressions (regression_id, {columns}, detected_at) "
                    f"SELECT {new_ids(con, 'performance_regressions', new)}, {columns}, ? FROM ({new})",
                    [utc_now()],
                )
        finally:
            con.unregister("s_findings")
    ids = dict(
        ((r, m), (i, s))
        for i, r, m, s in con.execute(
            "SELECT regression_id, candidate_result_id, metric, status FROM performance_regressions "
            "WHERE candidate_run_id = ?",
            [report.run_id],
        ).fetchall()
    )
    for f in report.findings:
        f.regression_id, f.status = ids.get((f.candidate_result_id, f.metric), (None, f.status))
    return added


def triage(con: duckdb.DuckDBPyConnection, regression_id: int, status: str, note: str | None) -> None:
    """Set a regression's status; 'expected' makes it the start of its series' baseline."""
    if status not in TRIAGE_STATUSES:
        raise QueryError(f"unknown status {status!r}; choose one of {', '.join(TRIAGE_STATUSES)}")
    updated = fetch_value(
        con,
        "UPDATE performance_regressions SET status = ?, note = coalesce(?, note), triaged_at = ? "
        "WHERE regression_id = ?",
        [status, note, utc_now(), regression_id],
    )
    if not updated:
        raise QueryError(f"no regression with id {regression_id}")
