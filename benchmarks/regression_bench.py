"""Regression check speed: the newest run against every series of a large warehouse.

    python benchmarks/regression_bench.py            # about 1,000,000 rows, 17,500 series
    python benchmarks/regression_bench.py --large    # about 10,000,000 rows

The warehouse is the simulated one of report_bench.py. Measured side by side, interleaved,
best of three: the floor (one SQL pass taking the 11 newest rows of every series) and the
whole regression check (candidate, baselines, median/MAD per series, significance in
Python), without recording findings. Peak memory is the process's high-water mark.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from benchdb_pipeline.analytics import regressions
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.schema import ensure_schema
from benchdb_pipeline.warehouse.store import session

sys.path.insert(0, str(Path(__file__).parent))
from report_bench import SHAPE  # noqa: E402

FLOOR = """
    CREATE OR REPLACE TEMP TABLE floor AS
    SELECT * FROM (
        SELECT model_id, hardware_id, test_case, batch_size, sequence_length, precision,
               throughput_items_per_second, average_latency_ms, memory_peak_mb,
               row_number() OVER (PARTITION BY model_id, hardware_id, test_case, batch_size,
                                  sequence_length, precision ORDER BY measured_at DESC) AS rn
        FROM performance_results)
    WHERE rn <= 11"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--large", action="store_true", help="about 10,000,000 rows")
    parser.add_argument("--db", type=Path, help="keep the warehouse here (default: a temp folder)")
    args = parser.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="benchdb-regression-")) / "bench.duckdb"
    shape = synthetic.Shape(**SHAPE, runs=572 if args.large else 58)
    with session(db) as con:
        ensure_schema(con)
        if con.execute("SELECT count(*) FROM performance_results").fetchone()[0] != shape.rows:
            started = time.perf_counter()
            synthetic.fill(con, shape)
            print(f"generated {shape.rows:,} rows in {time.perf_counter() - started:.1f} s at {db}")
    floor_runs, check_runs = [], []
    with session(db, read_only=True) as con:
        for _ in range(3):
            started = time.perf_counter()
            con.execute(FLOOR)
            floor_runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            report = regressions.check(con)
            check_runs.append(time.perf_counter() - started)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    floor, check = min(floor_runs), min(check_runs)
    print(
        f"rows: {shape.rows:,}; series checked: {report.series:,}; comparisons: {report.compared:,}; "
        f"findings: {len(report.findings)}"
    )
    print(f"floor (11 newest rows per series):  {floor:6.2f} s")
    print(f"regression check of the newest run: {check:6.2f} s = {check / floor:.2f}× the floor (goal ≤ 2×)")
    print(f"peak memory of this process: {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
