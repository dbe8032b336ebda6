"""Dashboard page times on a warehouse of ~1,000,000 rows and 17,500 series.

    python benchmarks/dashboard_bench.py [--runs 58] [--requests 40]

A simulated warehouse is generated inside DuckDB (17,500 series × runs, as api_bench), plus
one series of 10,000 results with 20 raw samples each; two models are made 30 % slower in
the newest run and the regression check records what it finds. `benchdb serve` is started on a free loopback port, each page is requested
``--requests`` times in a row after one warm-up request, and the time to the last byte of
each answer is recorded (on loopback: the server's time plus a fraction of a millisecond).

Goal (issue 19, 2 cores): every page's p95 under 300 ms; the series page under 300 ms for a
10,000-point history. The first prediction fits its model and is reported apart.
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import time
from pathlib import Path

import httpx
from api_bench import SHAPE, serve

from benchdb_pipeline.analytics import regressions
from benchdb_pipeline.ingest.normalize import percentile
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.store import new_ids, session, transaction

LONG = 10_000
LONG_MODEL = "synthetic-long-history"
LONG_PLATFORM = "cuda|synthetic device long"


def long_series(con) -> None:
    """One configuration measured 10,000 times, each with 20 raw latency samples."""
    with transaction(con):
        con.execute(
            "INSERT INTO models (model_id, model_name, created_at) VALUES (nextval('seq_models'), ?, now())",
            [LONG_MODEL],
        )
        con.execute(
            "INSERT INTO hardware_platforms (hardware_id, platform_key, hardware_type, device_name, created_at) "
            "VALUES (nextval('seq_hardware_platforms'), ?, 'cuda', 'synthetic device long', now())",
            [LONG_PLATFORM],
        )
        runs = "SELECT 'long:' || n AS run_key, n FROM range(?) r(n)"
        con.execute(
            f"INSERT INTO test_runs (run_id, run_key, test_name, test_type, started_at, is_simulated, "
            f"git_commit, git_branch, created_at) SELECT {new_ids(con, 'test_runs', runs, [LONG])}, run_key, "
            "'long nightly', 'performance', TIMESTAMP '2000-01-01' + INTERVAL (n) HOUR, true, "
            "'long' || n, 'main', now() FROM (" + runs + ")",
            [LONG],
        )
        rows = f"""
            SELECT r.run_id, r.started_at, m.model_id, h.hardware_id,
                   10 * (1 + 0.05 * ((hash(r.run_id) % 1000) / 1000.0))
                      * (CASE WHEN r.started_at > TIMESTAMP '2000-01-01' + INTERVAL ({LONG // 2}) HOUR
                              THEN 1.2 ELSE 1.0 END) AS latency
            FROM test_runs r, models m, hardware_platforms h
            WHERE r.run_key LIKE 'long:%' AND m.model_name = '{LONG_MODEL}' AND h.platform_key = '{LONG_PLATFORM}'"""
        con.execute(
            f"""INSERT INTO performance_results (result_id, run_id, model_id, hardware_id, test_case,
                    batch_size, sequence_length, precision, average_latency_ms,
                    throughput_items_per_second, measured_at, created_at)
                SELECT {new_ids(con, "performance_results", rows)}, run_id, model_id, hardware_id,
                       'case-0', 8, 128, 'fp16', latency, 8000 / latency, started_at, now()
                FROM ({rows})"""
        )
        con.execute(
            """INSERT INTO performance_samples (result_id, iteration, latency_ms)
               SELECT p.result_id, i, p.average_latency_ms * (0.9 + 0.2 * ((hash(p.result_id, i) % 1000) / 1000.0))
               FROM performance_results p JOIN models USING (model_id), range(20) t(i)
               WHERE model_name = ?""",
            [LONG_MODEL],
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=58, help="Runs per series (58 → ~1,000,000 rows).")
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "w.duckdb"
        started = time.perf_counter()
        with session(db) as con:
            rows = synthetic.fill(con, synthetic.Shape(**SHAPE, runs=args.runs))
            long_series(con)
            b, a = con.execute(
                "SELECT run_id FROM test_runs WHERE run_key LIKE 'synthetic:%' ORDER BY started_at DESC LIMIT 2"
            ).fetchall()
            # A planted slowdown: two models 30 % slower on every platform in the newest run.
            con.execute(
                "UPDATE performance_results SET average_latency_ms = average_latency_ms * 1.3 WHERE run_id = ? "
                "AND model_id IN (SELECT model_id FROM models WHERE model_name IN "
                "('synthetic-model-000', 'synthetic-model-001'))",
                [b[0]],
            )
            found = regressions.store(con, regressions.check(con, run_id=b[0]))
        print(
            f"warehouse: {rows + LONG:,} simulated rows (17,500 series of {args.runs} and one of {LONG:,}), "
            f"{found} regressions recorded, in {time.perf_counter() - started:.1f} s"
        )
        series = "model=synthetic-model-007&platform=cuda|synthetic device 1&test_case=case-2&batch_size=8&sequence_length=128&precision=fp16"
        long = f"model={LONG_MODEL}&platform={LONG_PLATFORM}&test_case=case-0&batch_size=8&sequence_length=128&precision=fp16"
        predict = (
            "/ui/predict?model=synthetic-model-007&hardware=cuda&batch_size=64&precision=fp16&simulated=1"
        )
        pages = {
            "overview": "/ui",
            "overview, model search": "/ui?model=model-01&metric=latency",
            "overview, sorted by value": "/ui?sort=value&hardware=cuda",
            "overview, last page": "/ui?offset=17400",
            "series (58 points)": f"/ui/series?{series}&metric=latency",
            "series (10,000 points)": f"/ui/series?{long}&metric=latency",
            "series CSV (10,000 rows)": f"/ui/series.csv?{long}&metric=latency",
            "compare two runs": f"/ui/compare?kind=run&a={a[0]}&b={b[0]}&metric=latency",
            "compare, batch scaling": "/ui/compare?model=synthetic-model-007",
            "regressions (all)": "/ui/regressions?status=all",
            "runs": "/ui/runs",
            "run": f"/ui/runs/{b[0]}",
            "machines": "/ui/machines",
            "predict (model cached)": predict,
        }
        process, url = serve(db)
        try:
            with httpx.Client(base_url=url, timeout=120) as client:
                began = time.perf_counter()
                first = client.get(predict)
                print(
                    f"{'predict (first: fits)':<28} {1000 * (time.perf_counter() - began):8.0f} ms  [{first.status_code}]"
                )
                worst = 0.0
                for name, path in pages.items():
                    assert client.get(path).status_code == 200, (name, path)
                    times = []
                    for _ in range(args.requests):
                        began = time.perf_counter()
                        answer = client.get(path)
                        times.append(1000 * (time.perf_counter() - began))
                        assert answer.status_code == 200, (name, answer.text[:300])
                    times.sort()
                    p95 = percentile(times, 0.95)
                    worst = max(worst, p95)
                    print(
                        f"{name:<28} p50 {percentile(times, 0.5):6.1f} ms  p95 {p95:6.1f} ms  "
                        f"{len(answer.content) / 1024:7.0f} KB"
                    )
                print(f"slowest page p95 {worst:.0f} ms (goal < 300 ms)")
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(60)


if __name__ == "__main__":
    main()
