"""CI consolidation speed: `benchdb ci-integrate` over an artifacts folder of parallel jobs.

    python benchmarks/ci_integrate_bench.py                 # 8 jobs x 1,250 files
    python benchmarks/ci_integrate_bench.py --jobs 16 --files 2500

The files are ingest_bench.py's synthetic ones (flagged simulated). Half the jobs upload
their result files, the other half a per-job warehouse built from theirs (as `benchdb run
--db` would leave it), so both paths are timed: parsing files, and merging warehouses by
natural keys. Each measurement is `benchdb ci-integrate` as a subprocess on a fresh copy;
then the same artifacts once more, which must add nothing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdb_pipeline.ingest.pipeline import ingest

sys.path.insert(0, str(Path(__file__).parent))
from ingest_bench import generate  # noqa: E402

BENCHDB = Path(sys.executable).parent / "benchdb"


def integrate(artifacts: Path, db: Path) -> tuple[float, dict]:
    started = time.perf_counter()
    result = subprocess.run(
        [
            str(BENCHDB),
            "ci-integrate",
            "--artifacts-dir",
            str(artifacts),
            "--db",
            str(db),
            "--build-id",
            "bench",
            "-q",
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(result.stderr)
    return seconds, json.loads(result.stdout)


def rows_added(report: dict) -> int:
    merged = [r["rows"] for r in report["warehouses_and_exports"].values()]
    files = [report["result_files"]["rows"]] if report["result_files"] else []
    return sum(n for rows in merged + files for table, n in rows.items() if table == "performance_results")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--files", type=int, default=1250, help="result files per job")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchdb-ci-"))
    artifacts = work / "artifacts"
    results = 0
    for job in range(args.jobs):
        folder = artifacts / f"job-{job:02d}"
        results += generate(folder / "results", args.files, seed=job)
        if job % 2:
            ingest(folder / "job.duckdb", [folder / "results"])
            shutil.rmtree(folder / "results")
    print(
        f"{args.jobs} jobs, {args.jobs * args.files:,} result files, {results:,} results "
        f"({args.jobs // 2} jobs as per-job warehouses)"
    )
    times = []
    for n in range(3):
        seconds, report = integrate(artifacts, work / f"ci{n}.duckdb")
        times.append(seconds)
    rows = rows_added(report)
    assert rows == results, (rows, results)
    best = min(times)
    print(f"ci-integrate: {rows:,} results in {best:.1f} s (best of 3) = {rows / best:,.0f} results/s")
    seconds, again = integrate(artifacts, work / "ci0.duckdb")
    assert rows_added(again) == 0
    print(f"again: {seconds:.1f} s, nothing added")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
