"""The CI gate replayed on every run of labelled series: does it catch steps, and how often
does it fail a run that changed nothing, with raw samples and without?

    python benchmarks/gate_replay_bench.py                 # 546 series x 40 runs, seed 7
    python benchmarks/gate_replay_bench.py --runs 30 --seed 3

A seeded generator makes synthetic latency series (marked as such in their run names; they
live in a temporary warehouse): at run-to-run noise of 0.5 %, 2.7 % and 8 % (lognormal), 62
series without a change and 15 for each step of -30, -20, -10, -5, +5, +10, +20, +30 %, the
step at a random run between 15 and 30. Each run's result carries 20 raw samples whose own
spread equals the run-to-run noise; the stored latency is their mean, as the adapters store
it. Every run is ingested as one file, then `regression-check` is replayed on each run in
turn (latency only, default settings) twice: on the warehouse with its samples, and on a
copy without them (the robust-z path). A flag on a run of a series that has not changed (yet)
is a false alarm; a flag on the first run after a step up is a detection. Runs after a step
are not counted either way.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdb_pipeline.analytics import regressions  # noqa: E402
from benchdb_pipeline.ingest.pipeline import ingest  # noqa: E402
from benchdb_pipeline.warehouse.store import session  # noqa: E402

NOISES = (0.005, 0.027, 0.08)
STEPS = (-0.30, -0.20, -0.10, -0.05, 0.05, 0.10, 0.20, 0.30)
STEADY_PER_NOISE = 62
PER_STEP = 15
SAMPLES = 20
START = datetime(2026, 1, 1)


@dataclass(frozen=True)
class Series:
    name: str
    noise: float
    step: float  # 0: no change
    at: int  # the first run at the new level (runs + 1 when there is no step)


def make_series(rng: random.Random, runs: int) -> list[Series]:
    series = []
    for noise in NOISES:
        for i in range(STEADY_PER_NOISE):
            series.append(Series(f"steady-{noise}-{i}", noise, 0.0, runs + 1))
        for step in STEPS:
            for i in range(PER_STEP):
                series.append(
                    Series(f"step{step:+}-{noise}-{i}", noise, step, rng.randint(15, min(30, runs - 1)))
                )
    return series


def write_runs(folder: Path, series: list[Series], runs: int, rng: random.Random) -> None:
    """One canonical file per run: each series' result with its raw samples."""
    bases = {s.name: rng.uniform(5.0, 50.0) for s in series}
    for run in range(runs):
        results = []
        for s in series:
            level = bases[s.name] * (1 + (s.step if run >= s.at else 0.0)) * rng.lognormvariate(0, s.noise)
            samples = [round(level * rng.lognormvariate(0, s.noise), 6) for _ in range(SAMPLES)]
            results.append(
                {
                    "model_name": s.name,
                    "hardware_type": "cpu",
                    "batch_size": 1,
                    "precision": "fp32",
                    "latencies_ms": samples,
                    "timestamp": (START + timedelta(hours=run)).isoformat(),
                }
            )
        doc = {"test_run": {"test_name": f"synthetic replay run {run}"}, "performance_results": results}
        (folder / f"run_{run:03d}.json").write_text(json.dumps(doc))


def replay(db: Path, runs: int) -> dict[tuple[str, int], bool]:
    """(series, run) -> flagged as a confident latency regression."""
    settings = regressions.Settings(metrics=("latency",))
    flagged: dict[tuple[str, int], bool] = {}
    with session(db, read_only=True) as con:
        run_ids = [
            r for (r,) in con.execute("SELECT run_id FROM test_runs ORDER BY started_at, run_id").fetchall()
        ]
        names = dict(con.execute("SELECT run_id, test_name FROM test_runs").fetchall())
        for run_id in run_ids[1:]:
            run = int(names[run_id].rsplit(" ", 1)[1])
            report = regressions.check(con, settings, run_id=run_id)
            for finding in report.regressions:
                flagged[(finding.model_name, run)] = True
    return flagged


def score(series: list[Series], runs: int, flagged: dict[tuple[str, int], bool]) -> dict:
    alarms, quiet_runs = defaultdict(int), defaultdict(int)
    early_alarms, early_runs = defaultdict(int), defaultdict(int)
    found, steps = defaultdict(int), defaultdict(int)
    for s in series:
        for run in range(1, runs):
            if run < s.at:  # nothing changed yet
                quiet_runs[s.noise] += 1
                alarms[s.noise] += flagged.get((s.name, run), False)
                if run <= 5:
                    early_runs[s.noise] += 1
                    early_alarms[s.noise] += flagged.get((s.name, run), False)
            elif run == s.at and s.step > 0:
                steps[(s.noise, s.step)] += 1
                found[(s.noise, s.step)] += flagged.get((s.name, run), False)
    return {
        "false_alarm_per_run": {n: alarms[n] / quiet_runs[n] for n in NOISES},
        "false_fail_runs_1_5": {n: early_alarms[n] / early_runs[n] for n in NOISES},
        "detected": {k: found[k] / steps[k] for k in sorted(steps)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    series = make_series(rng, args.runs)
    work = Path(tempfile.mkdtemp(prefix="benchdb-gate-replay-"))
    try:
        files = work / "runs"
        files.mkdir()
        write_runs(files, series, args.runs, rng)
        with_samples, without = work / "samples.duckdb", work / "no_samples.duckdb"
        started = time.perf_counter()
        ingest(with_samples, [files])
        shutil.copy(with_samples, without)
        with session(without) as con:
            con.execute("DELETE FROM performance_samples")
        print(f"{len(series)} series x {args.runs} runs ingested in {time.perf_counter() - started:.1f} s")
        scores = {}
        for label, db in (("no samples (robust z)", without), ("with samples", with_samples)):
            started = time.perf_counter()
            scores[label] = score(series, args.runs, replay(db, args.runs))
            print(f"replayed {label} in {time.perf_counter() - started:.1f} s")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    labels = list(scores)
    print(f"\n{'':34}" + "".join(f"{label:>24}" for label in labels))
    for noise in NOISES:
        print(
            f"false alarms per run, noise {noise:.1%}".ljust(34)
            + "".join(f"{scores[label]['false_alarm_per_run'][noise]:>24.2%}" for label in labels)
        )
    for noise in NOISES:
        print(
            f"false fails in runs 1-5, noise {noise:.1%}".ljust(34)
            + "".join(f"{scores[label]['false_fail_runs_1_5'][noise]:>24.2%}" for label in labels)
        )
    for noise, step in scores[labels[0]]["detected"]:
        print(
            f"detected +{step:.0%} step, noise {noise:.1%}".ljust(34)
            + "".join(f"{scores[label]['detected'][(noise, step)]:>24.0%}" for label in labels)
        )


if __name__ == "__main__":
    main()
