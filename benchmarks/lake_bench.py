"""Many writers at once: the lake (DuckLake, PostgreSQL catalog) against the DuckDB file.

    python benchmarks/lake_bench.py                 # 1, 2, 4, 8 writers × 10 files each
    python benchmarks/lake_bench.py --files 50 --writers 1 4

Each writer is its own process and ingests its own files (50 results each), one commit per
file, as CI jobs and API posts do. A reader process meanwhile asks for the latest results
(``latest_performance_metrics``) over and over, opening a connection each time as the CLI
does (on the lake that includes attaching it, ~0.2 s). Reports commits/s and rows/s for every writer
count on both backends, and the reader's latency while they write. Needs the lake extra and
PostgreSQL's server binaries (it starts a throwaway server on loopback).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchdb_pipeline.config import lake_address  # noqa: E402
from benchdb_pipeline.warehouse import local_postgres  # noqa: E402
from benchdb_pipeline.warehouse.schema import ensure_schema  # noqa: E402
from benchdb_pipeline.warehouse.store import session  # noqa: E402

ROWS = 50

WRITER = """
import sys, time
from pathlib import Path
from benchdb_pipeline.ingest.pipeline import ingest
address, folder = sys.argv[1], Path(sys.argv[2])
for path in sorted(folder.glob("*.json")):
    ingest(address, [path], workers=1)
"""

READER = """
import sys, time, json
from benchdb_pipeline.warehouse.store import session
address, stop = sys.argv[1], sys.argv[2]
from pathlib import Path
took = []
while not Path(stop).exists():
    start = time.perf_counter()
    with session(address, read_only=True) as con:
        con.execute("SELECT count(*) FROM latest_performance_metrics").fetchall()
    took.append(time.perf_counter() - start)
    time.sleep(0.05)
print(json.dumps(took))
"""


def write_files(folder: Path, writer: int, files: int) -> None:
    """``files`` result files of ``ROWS`` results each (synthetic), distinct per writer."""
    folder.mkdir(parents=True)
    for n in range(files):
        rows = [
            {
                "model_name": f"model-{(writer * 7 + n) % 5}",
                "hardware_type": "cpu",
                "batch_size": 1 + i % 8,
                "test_case": f"w{writer}-f{n}-{i}",
                "throughput": 100.0 + i,
                "latency_ms": 5.0 + i / 10,
                "timestamp": f"2026-11-{1 + n % 28:02d}T00:00:00",
            }
            for i in range(ROWS)
        ]
        doc = {
            "test_run": {"test_name": f"bench-{writer}-{n}"},
            "is_simulated": True,
            "performance_results": rows,
        }
        (folder / f"w{writer}_{n:04d}.json").write_text(json.dumps(doc))


def measure(address: str, root: Path, writers: int, files: int, env: dict) -> dict:
    folders = []
    for w in range(writers):
        folder = root / f"writers{writers}" / f"w{w}"
        write_files(folder, w, files)
        folders.append(folder)
    with session(address) as con:  # the reader's first query finds a warehouse
        ensure_schema(con)
    stop = root / f"stop{writers}"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, address, str(stop)], stdout=subprocess.PIPE, text=True, env=env
    )
    time.sleep(1.0)
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, address, str(f)], env=env) for f in folders]
    codes = [p.wait() for p in procs]
    seconds = time.perf_counter() - start
    stop.touch()
    latencies = json.loads(reader.communicate(timeout=120)[0] or "[]")
    if any(codes):
        raise SystemExit(f"a writer failed ({codes}) on {address}")
    commits = writers * files
    return {
        "writers": writers,
        "seconds": round(seconds, 2),
        "commits_per_s": round(commits / seconds, 1),
        "rows_per_s": round(commits * ROWS / seconds),
        "read_p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "read_max_ms": round(1000 * max(latencies), 1) if latencies else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10, help="files (commits) per writer")
    parser.add_argument("--writers", type=int, nargs="+", default=[1, 2, 4, 8])
    args = parser.parse_args()
    from benchdb_pipeline.warehouse import lake
    from benchdb_pipeline.warehouse.store import CONNECTION_CONFIG

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        with local_postgres.start() as pg:
            results = {"ducklake": [], "duckdb": []}
            for writers in args.writers:
                catalog = "postgres:" + pg.create_database(f"bench{writers}")
                env = {
                    **os.environ,
                    "BENCHDB_LAKE_DATA": str(root / f"lake{writers}"),
                    "BENCHDB_LOCK_TIMEOUT": "600",
                }
                os.environ.update(BENCHDB_LAKE_DATA=env["BENCHDB_LAKE_DATA"])
                settings = lake.LakeSettings.from_env(lake_address(catalog))
                lake.init(settings, dict(CONNECTION_CONFIG))
                results["ducklake"].append(measure(settings.address, root / "lake", writers, args.files, env))
                db = str(root / f"file{writers}.duckdb")
                results["duckdb"].append(measure(db, root / "file", writers, args.files, env))
                print(json.dumps({k: v[-1] for k, v in results.items()}), flush=True)
    print(
        f"{'backend':9} {'writers':>7} {'s':>7} {'commits/s':>9} {'rows/s':>7} {'read p50 ms':>11} {'read max ms':>11}"
    )
    for backend, rows in results.items():
        for r in rows:
            print(
                f"{backend:9} {r['writers']:>7} {r['seconds']:>7} {r['commits_per_s']:>9} {r['rows_per_s']:>7} "
                f"{r['read_p50_ms']!s:>11} {r['read_max_ms']!s:>11}"
            )


if __name__ == "__main__":
    main()
