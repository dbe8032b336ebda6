"""Report speed on a large warehouse generated inside DuckDB (simulated data).

    python benchmarks/report_bench.py            # about 1,000,000 performance rows
    python benchmarks/report_bench.py --large    # about 10,000,000

The warehouse has 17,500 series (35 models × 10 platforms × 5 batch sizes × 2 precisions ×
5 test cases), one run per night. Measured side by side, each the best of three:

- floor: the latest result per configuration written as one arg_max over the fact table, and
  the average throughput by model × hardware;
- latest_performance_metrics (the view, materialised in full), the summary query, a
  compare-hardware query, and the whole HTML report (queries, charts, rendering).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchdb_pipeline.reports import queries
from benchdb_pipeline.reports.filters import METRICS, Filters
from benchdb_pipeline.reports.report import build
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.schema import ensure_schema
from benchdb_pipeline.warehouse.store import session

SHAPE = dict(models=35, platforms=10, batch_sizes=(1, 2, 4, 8, 16), precisions=("fp32", "fp16"), test_cases=5)

FLOOR_LATEST = """
    CREATE OR REPLACE TEMP TABLE floor_latest AS
    SELECT model_id, hardware_id, test_case, batch_size, sequence_length, precision,
           arg_max({'throughput': throughput_items_per_second, 'latency': average_latency_ms,
                    'memory': memory_peak_mb}, measured_at) AS latest
    FROM performance_results GROUP BY ALL"""
FLOOR_AVERAGE = """
    SELECT model_id, hardware_id, avg(throughput_items_per_second) FROM performance_results
    GROUP BY ALL"""
VIEW_LATEST = "CREATE OR REPLACE TEMP TABLE view_latest AS SELECT * FROM latest_performance_metrics"


def best_of(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--large", action="store_true", help="about 10,000,000 rows instead of 1,000,000")
    parser.add_argument("--db", type=Path, help="keep the warehouse here (default: a temp folder)")
    args = parser.parse_args()
    runs = 572 if args.large else 58
    db = args.db or Path(tempfile.mkdtemp(prefix="benchdb-report-")) / "bench.duckdb"
    shape = synthetic.Shape(**SHAPE, runs=runs)
    with session(db) as con:
        ensure_schema(con)
        rows = con.execute("SELECT count(*) FROM performance_results").fetchone()[0]
        if rows != shape.rows:
            started = time.perf_counter()
            rows = synthetic.fill(con, shape)
            print(
                f"generated {rows:,} rows ({shape.series:,} series × {runs} runs) in "
                f"{time.perf_counter() - started:.1f} s at {db}"
            )
    with session(db, read_only=True) as con:
        floor_runs, view_runs = [], []
        for _ in range(5):  # interleaved, so both see the same machine
            floor_runs.append(best_of(1, lambda: con.execute(FLOOR_LATEST)))
            view_runs.append(best_of(1, lambda: con.execute(VIEW_LATEST)))
        floor_latest, view_latest = min(floor_runs), min(view_runs)
        floor_average = best_of(3, lambda: con.execute(FLOOR_AVERAGE).fetchall())
        summary = best_of(3, lambda: queries.summary(con, Filters()))
        compare = best_of(
            3, lambda: queries.compare(con, METRICS["throughput"], Filters(model="synthetic-model-007"))
        )
        configurations = con.execute("SELECT count(*) FROM view_latest").fetchone()[0]

        def html_report() -> None:
            build(con, Filters(), source=str(db)).html()

        report = best_of(1, html_report)
    print(f"rows: {rows:,}; configurations: {configurations:,}")
    print(f"floor, latest per configuration (arg_max):  {floor_latest:6.2f} s")
    print(
        f"latest_performance_metrics (materialised):  {view_latest:6.2f} s  "
        f"= {view_latest / floor_latest:.2f}× the floor (goal ≤ 1.5× at 10M rows)"
    )
    print(f"floor, average throughput by model × hw:    {floor_average:6.2f} s")
    print(f"summary query:                              {summary:6.2f} s")
    print(f"compare hardware for one model:             {compare:6.2f} s")
    print(f"whole HTML report (queries, charts, page):  {report:6.2f} s (goal < 10 s at 1M rows)")


if __name__ == "__main__":
    main()
