"""The regression check, measured on generated series with known changes."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

import pytest

from benchdb_pipeline.analytics import regressions
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.test_cli import benchdb

START = datetime(2026, 1, 1)


def write_runs(folder, runs: list[list[dict]]) -> None:
    """One canonical document per run, nightly, in order."""
    folder.mkdir(parents=True, exist_ok=True)
    for night, rows in enumerate(runs, start=1):
        when = (START + timedelta(days=night)).isoformat()
        (folder / f"run_{night:03d}.json").write_text(
            json.dumps(
                {
                    "test_run": {
                        "test_name": f"nightly {night}",
                        "started_at": when,
                        "git_commit": f"c{night:03d}",
                        "is_simulated": True,
                    },
                    "performance_results": [{**row, "timestamp": when} for row in rows],
                }
            )
        )


def series_row(series: int, **metrics) -> dict:
    return {"model": f"model-{series}", "hardware": "cpu", "batch_size": 1, "precision": "fp32", **metrics}


def run_ids(db) -> list[int]:
    with session(db, read_only=True) as con:
        return [r[0] for r in con.execute("SELECT run_id FROM test_runs ORDER BY started_at").fetchall()]


def check(db, **kwargs) -> regressions.CheckReport:
    with session(db, read_only=True) as con:
        return regressions.check(con, **kwargs)


def write_step(tmp_path, target):
    """A 15 % latency step at run 30 of 60, with 2 % noise, ingested into ``target``."""
    rng = random.Random(42)
    runs = [
        [series_row(0, latency_ms=100 * (1.15 if night >= 30 else 1.0) * rng.gauss(1, 0.02))]
        for night in range(1, 61)
    ]
    write_runs(tmp_path / "step", runs)
    ingest(target, [tmp_path / "step"], workers=1)
    return target


@pytest.fixture
def step_db(tmp_path):
    return write_step(tmp_path, tmp_path / "step.duckdb")


@pytest.fixture
def step_warehouse(tmp_path, warehouse):
    """The step on a DuckDB file, then on a lake."""
    return write_step(tmp_path, warehouse)


def test_a_step_is_found_at_the_run_where_it_starts(step_db):
    flagged = [
        night for night, run in enumerate(run_ids(step_db), start=1) if check(step_db, run_id=run).regressions
    ]
    assert flagged[0] == 30
    finding = check(step_db, run_id=run_ids(step_db)[29]).regressions[0]
    assert finding.metric == "latency" and finding.method == "robust-z"
    assert 10 <= finding.change_percent <= 22 and finding.statistic >= 3


def test_pure_noise_raises_at_most_two_false_alarms(tmp_path):
    rng = random.Random(7)
    runs = [[series_row(s, throughput=1000 * rng.gauss(1, 0.03)) for s in range(200)] for _ in range(11)]
    write_runs(tmp_path / "noise", runs)
    db = tmp_path / "noise.duckdb"
    ingest(db, [tmp_path / "noise"], workers=1)
    report = check(db)
    assert report.series == 200 and report.compared == 200
    assert len([f for f in report.findings if f.confident]) <= 2


def test_direction_and_improvements(tmp_path):
    runs = [[series_row(0, throughput=100.0 + i % 3, latency_ms=10.0 + (i % 3) / 10)] for i in range(8)]
    runs.append([series_row(0, throughput=80.0, latency_ms=8.0)])  # slower throughput, faster latency
    write_runs(tmp_path / "dir", runs)
    db = tmp_path / "dir.duckdb"
    ingest(db, [tmp_path / "dir"], workers=1)
    found = {(f.metric, f.direction, f.severity) for f in check(db).findings}
    assert found == {("throughput", "regression", "major"), ("latency", "improvement", "major")}


def test_few_baseline_points_are_low_confidence(tmp_path):
    write_runs(
        tmp_path / "few",
        [
            [series_row(0, throughput=100.0)],
            [series_row(0, throughput=101.0)],
            [series_row(0, throughput=60.0)],
        ],
    )
    db = tmp_path / "few.duckdb"
    ingest(db, [tmp_path / "few"], workers=1)
    report = check(db)
    assert [(f.method, f.baseline_points) for f in report.findings] == [("low-confidence", 2)]
    assert report.regressions == []  # reported, but does not fail a gate


def sampled_runs(rng, levels: list[float], spread: float = 0.03, size: int = 20) -> list[list[dict]]:
    """One result per run whose raw samples scatter by ``spread`` around the run's level."""
    return [
        [series_row(0, latencies_ms=[level * rng.gauss(1, spread) for _ in range(size)])] for level in levels
    ]


def test_raw_samples_keep_a_real_step(tmp_path):
    rng = random.Random(3)
    write_runs(tmp_path / "samples", sampled_runs(rng, [50 * rng.gauss(1, 0.02) for _ in range(6)] + [60.0]))
    db = tmp_path / "samples.duckdb"
    ingest(db, [tmp_path / "samples"], workers=1)
    (finding,) = check(db).regressions
    assert finding.method == "robust-z" and finding.statistic > 3


def test_raw_samples_do_not_turn_run_to_run_noise_into_regressions(tmp_path):
    """Runs whose levels wander by 8 % while each measures itself to 1 %: pooled samples
    made a Mann-Whitney test flag the high runs; the run values' spread does not."""
    rng = random.Random(11)
    levels = [50.0, 46.0, 54.5, 49.0, 51.5, 45.0, 55.0, 48.0, 57.0]
    write_runs(tmp_path / "wander", sampled_runs(rng, levels, spread=0.01))
    db = tmp_path / "wander.duckdb"
    ingest(db, [tmp_path / "wander"], workers=1)
    report = check(db)
    assert report.findings == []  # 57 is +14 % on the median, inside the runs' own spread


def test_raw_samples_do_not_skip_the_minimum_history(tmp_path):
    rng = random.Random(5)
    write_runs(tmp_path / "short", sampled_runs(rng, [50.0, 50.5, 49.5, 65.0]))
    db = tmp_path / "short.duckdb"
    ingest(db, [tmp_path / "short"], workers=1)
    report = check(db)
    assert [(f.method, f.baseline_points) for f in report.findings] == [("low-confidence", 3)]
    assert report.regressions == []


def test_a_loosely_measured_run_gets_room_for_its_own_error(tmp_path):
    """Tight baseline runs; a candidate whose five samples scatter by 40 %: its mean is
    uncertain by ~18 %, so a 15 % difference is no evidence. Without its samples the same
    value fails the gate."""
    rng = random.Random(2)
    runs = sampled_runs(rng, [50 * (1 + 0.01 * (i % 3 - 1)) for i in range(8)], spread=0.01)
    loose = [57.5 * x for x in (0.62, 1.31, 0.85, 1.39, 0.83)]  # mean 57.5, +15 %
    write_runs(tmp_path / "loose", [*runs, [series_row(0, latencies_ms=loose)]])
    db = tmp_path / "loose.duckdb"
    ingest(db, [tmp_path / "loose"], workers=1)
    assert check(db).regressions == []
    with session(db) as con:
        con.execute("DELETE FROM performance_samples")
    assert [f.metric for f in check(db).regressions] == ["latency"]


def test_an_expected_change_restarts_the_baseline(step_db):
    ids = run_ids(step_db)
    with session(step_db) as con:
        report = regressions.check(con, run_id=ids[29])
        regressions.store(con, report)
        regressions.store(con, report)  # recording twice adds nothing
        assert con.execute("SELECT count(*) FROM performance_regressions").fetchone()[0] == 1
        regressions.triage(con, report.regressions[0].regression_id, "expected", "new tokenizer")
    after = check(step_db, run_id=ids[31])
    assert after.regressions == [] and after.findings == []
    with session(step_db, read_only=True) as con:
        assert con.execute("SELECT status, note FROM performance_regressions").fetchone() == (
            "expected",
            "new tokenizer",
        )


def test_reference_warehouse_as_baseline(tmp_path):
    write_runs(tmp_path / "main", [[series_row(0, throughput=100.0 + i % 2)] for i in range(6)])
    write_runs(tmp_path / "branch", [[series_row(0, throughput=75.0)]])
    reference, db = tmp_path / "main.duckdb", tmp_path / "branch.duckdb"
    ingest(reference, [tmp_path / "main"], workers=1)
    ingest(db, [tmp_path / "branch"], workers=1)
    report = check(db, reference_db=reference)
    assert [(f.metric, f.baseline_points) for f in report.regressions] == [("throughput", 6)]


def test_cli_gates_on_regressions(step_warehouse, tmp_path):
    ids = run_ids(step_warehouse)
    clean = benchdb("regression-check", "--run", str(ids[10]), "--format", "json", db=step_warehouse)
    assert clean.returncode == 0 and json.loads(clean.stdout)["regressions"] == 0
    failing = benchdb("regression-check", "--run", str(ids[29]), "--format", "markdown", db=step_warehouse)
    assert failing.returncode == 1
    assert "regressions found" in failing.stdout and "| latency |" in failing.stdout
    same = benchdb("query", "--regression-check", "--run", str(ids[29]), "--no-store", db=step_warehouse)
    assert same.returncode == 1 and "minor regression" in same.stdout and "+11.7%" in same.stdout
    assert "used more than once" not in same.stderr
    listed = json.loads(benchdb("regressions", "list", "--format", "json", db=step_warehouse).stdout)
    assert len(listed) == 1 and listed[0]["status"] == "untriaged"
    acked = benchdb(
        "regressions", "ack", str(listed[0]["id"]), "--status", "expected", "--note", "ok", db=step_warehouse
    )
    assert acked.returncode == 0
    assert benchdb("regression-check", "--run", str(ids[31]), db=step_warehouse).returncode == 0
    missing = benchdb("regression-check", "--run", "99999", db=step_warehouse)
    assert missing.returncode == 2 and "DB004" in missing.stderr
