"""Change points on labelled series: benchdb's detector beside Apache Otava's, on the same series.

    python benchmarks/change_point_bench.py                       # benchdb alone
    python -m venv /tmp/otava && /tmp/otava/bin/pip install apache-otava==0.8.0
    python benchmarks/change_point_bench.py --otava-python /tmp/otava/bin/python
    python benchmarks/change_point_bench.py --otava-python /tmp/otava/bin/python --repeat 15

Otava (E-divisive means with a t-test; defaults: window 50, p <= 0.001) runs in its own
virtual environment: it pulls BigQuery and Slack clients this project must not depend on.
Both are timed as algorithms on the same arrays (no file reading). The series are
synthetic, from a seeded generator: latency-like levels of 100 runs with lognormal noise of
0.5 %, 2.7 % and 8 %, of these kinds:

- step: one step of 2, 5, 10, 20 or 30 % up or down;
- two_steps: two steps (up then down, or the same way) at least 15 runs apart;
- drift: the level moves 10 or 20 % over 20-30 runs, one step per run;
- outliers: no change, three single runs 20-60 % slow;
- bimodal: no change, each run on a slow machine (30 % of them, 4-8 % slower) or a fast one;
- noise: no change.

A detection within 3 runs of a true change finds it (each change found once); a drift is
found by a detection anywhere from 3 runs before it starts to 3 after it ends. Every other
detection is a false positive, extra ones on a drift included.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchdb_pipeline.analytics import segmentation  # noqa: E402

NOISES = (0.005, 0.027, 0.08)
RUNS = 100
TOLERANCE = 3

OTAVA = """
import json, sys, time
from otava.analysis import compute_change_points
series = json.load(open(sys.argv[1]))
started = time.perf_counter()
found = [[int(cp.index) for cp in compute_change_points(s, window_len=50, max_pvalue=0.001)[0]] for s in series]
json.dump({"seconds": time.perf_counter() - started, "found": found}, open(sys.argv[2], "w"))
"""


@dataclass
class Series:
    kind: str
    noise: float
    values: list[float]
    changes: list[tuple[int, int]] = field(default_factory=list)  # (first, last) run of each change
    size: float = 0.0


def generate(seed: int) -> list[Series]:
    rng = random.Random(seed)

    def noisy(levels: list[float], noise: float) -> list[float]:
        return [level * rng.lognormvariate(0, noise) for level in levels]

    out: list[Series] = []
    for noise in NOISES:
        for _ in range(3):
            for size in (0.02, 0.05, 0.10, 0.20, 0.30):
                for sign in (1, -1):
                    at = rng.randint(15, RUNS - 15)
                    levels = [1.0 if i < at else 1 + sign * size for i in range(RUNS)]
                    out.append(Series("step", noise, noisy(levels, noise), [(at, at)], sign * size))
        for _ in range(8):
            first = rng.randint(15, 45)
            second = rng.randint(first + 15, RUNS - 15)
            a, b = rng.choice((0.1, 0.2, 0.3)), rng.choice((0.1, 0.2, 0.3)) * rng.choice((1, -1))
            levels = [1.0 if j < first else (1 + a if j < second else (1 + a) * (1 + b)) for j in range(RUNS)]
            out.append(
                Series("two_steps", noise, noisy(levels, noise), [(first, first), (second, second)], a)
            )
        for i in range(8):
            start, length, size = rng.randint(20, 50), rng.randint(20, 30), (0.1, 0.2)[i % 2]
            levels = [1 + size * min(max(j - start + 1, 0), length) / length for j in range(RUNS)]
            out.append(Series("drift", noise, noisy(levels, noise), [(start, start + length - 1)], size))
        for _ in range(9):
            values = noisy([1.0] * RUNS, noise)
            for at in rng.sample(range(5, RUNS - 5), 3):
                values[at] *= 1 + rng.uniform(0.2, 0.6)
            out.append(Series("outliers", noise, values))
        for _ in range(9):
            slower = rng.uniform(0.04, 0.08)
            levels = [1 + slower if rng.random() < 0.3 else 1.0 for _ in range(RUNS)]
            out.append(Series("bimodal", noise, noisy(levels, noise)))
        for _ in range(9):
            out.append(Series("noise", noise, noisy([1.0] * RUNS, noise)))
    scale = rng.uniform(5, 50)
    for s in out:
        s.values = [v * scale for v in s.values]
    return out


def benchdb_detect(series: list[Series]) -> tuple[float, list[list[int]]]:
    """The analyze command's detector: significant breaks, same-way breaks merged into one
    reported change (a drift), each reported at its first break."""
    started = time.perf_counter()
    found = []
    for s in series:
        values = np.asarray(s.values)
        found.append(
            [first for first, _last, _span in segmentation.episodes(values, segmentation.breaks(values))]
        )
    return time.perf_counter() - started, found


def otava_detect(python: str, series: list[Series]) -> tuple[float, list[list[int]]]:
    with tempfile.TemporaryDirectory() as tmp:
        data, out = Path(tmp) / "series.json", Path(tmp) / "found.json"
        data.write_text(json.dumps([s.values for s in series]))
        subprocess.run([python, "-c", OTAVA, str(data), str(out)], check=True)
        result = json.loads(out.read_text())
    return result["seconds"], result["found"]


def score(series: list[Series], found: list[list[int]]) -> dict:
    tally: dict = defaultdict(lambda: defaultdict(float))
    for s, detections in zip(series, found, strict=True):
        left = sorted(detections)
        for first, last in s.changes:
            near = [d for d in left if first - TOLERANCE <= d <= last + TOLERANCE]
            group = (s.noise,)
            tally[group]["changes"] += 1
            tally[("recall", s.kind)]["changes"] += 1
            tally[("size", s.kind, s.noise, abs(s.size))]["changes"] += 1
            if near:
                best = min(
                    near, key=lambda d: 0 if first <= d <= last else min(abs(d - first), abs(d - last))
                )
                left.remove(best)
                tally[group]["found"] += 1
                tally[("recall", s.kind)]["found"] += 1
                tally[group]["error"] += (
                    0 if first <= best <= last else min(abs(best - first), abs(best - last))
                )
                tally[("size", s.kind, s.noise, abs(s.size))]["found"] += 1
        tally[(s.noise,)]["false"] += len(left)
        tally[(s.noise,)]["detections"] += len(detections)
        if s.kind != "drift":
            tally["no_drift"]["false"] += len(left)
            tally["no_drift"]["detections"] += len(detections)
            tally["no_drift"]["changes"] += len(s.changes)
            tally["no_drift"]["found"] += len(s.changes) - sum(
                1
                for first, last in s.changes
                if not any(first - TOLERANCE <= d <= last + TOLERANCE for d in detections)
            )
        tally[("kind", s.kind, s.noise)]["false"] += len(left)
        tally[("kind", s.kind, s.noise)]["runs"] += len(s.values)
    return tally


def f1(t: dict) -> tuple[float, float, float]:
    precision = (t["detections"] - t["false"]) / t["detections"] if t["detections"] else 1.0
    recall = t["found"] / t["changes"] if t["changes"] else 1.0
    return precision, recall, (2 * precision * recall / (precision + recall) if precision + recall else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--otava-python", help="the python of a virtual environment with apache-otava")
    parser.add_argument(
        "--repeat", type=int, default=1, help="time on the set this many times over (seeds seed..)"
    )
    args = parser.parse_args()
    series = [s for k in range(args.repeat) for s in generate(args.seed + k)]
    runs = {"benchdb": benchdb_detect(series)}
    if args.otava_python:
        runs["otava"] = otava_detect(args.otava_python, series)
    print(f"{len(series)} series of {RUNS} runs ({sum(len(s.changes) for s in series)} changes)")
    tallies = {name: score(series, found) for name, (_seconds, found) in runs.items()}
    names = list(runs)
    print(f"\n{'':40}" + "".join(f"{name:>22}" for name in names))

    def line(label: str, cells: dict[str, str]) -> None:
        print(label.ljust(40) + "".join(f"{cells[name]:>22}" for name in names))

    def ratio(found: float, of: float) -> str:
        return f"{found:.0f} / {of:.0f}"

    overall = {n: defaultdict(float) for n in names}
    for n in names:
        for noise in NOISES:
            for key, value in tallies[n][(noise,)].items():
                overall[n][key] += value
    line("seconds (the algorithm alone)", {n: f"{runs[n][0]:.2f}" for n in names})
    line(
        "precision / recall / F1, all", {n: "{:.0%} / {:.0%} / {:.2f}".format(*f1(overall[n])) for n in names}
    )
    for noise in NOISES:
        line(
            f"precision / recall / F1, noise {noise:.1%}",
            {n: "{:.0%} / {:.0%} / {:.2f}".format(*f1(tallies[n][(noise,)])) for n in names},
        )
    line(
        "precision / recall / F1, drifts left out",
        {n: "{:.0%} / {:.0%} / {:.2f}".format(*f1(tallies[n]["no_drift"])) for n in names},
    )
    for kind in ("step", "two_steps", "drift"):
        line(
            f"recall, {kind}",
            {
                n: ratio(tallies[n][("recall", kind)]["found"], tallies[n][("recall", kind)]["changes"])
                for n in names
            },
        )
    line(
        "mean location error (runs), found ones",
        {
            n: f"{overall[n]['error'] / overall[n]['found']:.2f}" if overall[n]["found"] else "-"
            for n in names
        },
    )
    for kind in ("outliers", "bimodal", "noise", "drift", "step", "two_steps"):
        for noise in NOISES:
            cells = {n: tallies[n][("kind", kind, noise)] for n in names}
            line(
                f"false positives / 100 runs, {kind} {noise:.1%}",
                {n: f"{100 * t['false'] / t['runs']:.2f}" for n, t in cells.items()},
            )
    for noise in NOISES:
        for size in (0.02, 0.05, 0.10, 0.20, 0.30):
            cells = {n: tallies[n][("size", "step", noise, size)] for n in names}
            line(
                f"steps of {size:.0%} found, noise {noise:.1%}",
                {n: ratio(t["found"], t["changes"]) for n, t in cells.items()},
            )
    for noise in NOISES:
        drifts = {n: [tallies[n][("size", "drift", noise, size)] for size in (0.1, 0.2)] for n in names}
        line(
            f"drifts found, noise {noise:.1%}",
            {
                n: ratio(sum(t["found"] for t in ts), sum(t["changes"] for t in ts))
                for n, ts in drifts.items()
            },
        )


if __name__ == "__main__":
    main()
