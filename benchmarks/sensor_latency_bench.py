"""Latency from a file dropped in the incoming folder to its rows in the warehouse.

    python benchmarks/sensor_latency_bench.py [--files 8]

Starts `dagster dev` on this project with a fresh instance (data/dagster_home/dagster.yaml),
a fresh warehouse and incoming folder, waits for a warm-up file to arrive, then drops files
one at a time (atomically: write, then rename) and polls the warehouse read-only until each
file's ledger row is there. Reports each latency, the median and the maximum.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drop(folder: Path, name: str, throughput: float) -> Path:
    target = folder / name
    partial = folder / f"{name}.tmp"
    partial.write_text(
        json.dumps(
            [
                {
                    "model": "latency-probe",
                    "hardware": "cpu",
                    "batch_size": 1,
                    "throughput": throughput,
                    "is_simulated": True,
                }
            ]
        )
    )
    partial.rename(target)
    return target


def arrived(db: Path, path: Path) -> bool:
    if not db.exists():
        return False
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return False  # the run holds the write lock right now
    try:
        return (
            con.execute(
                "SELECT count(*) FROM source_files WHERE path = ? AND status = 'ingested'",
                [str(path.resolve())],
            ).fetchone()[0]
            > 0
        )
    except duckdb.Error:
        return False
    finally:
        con.close()


def wait_for(db: Path, path: Path, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if arrived(db, path):
            return time.perf_counter() - start
        time.sleep(0.1)
    raise TimeoutError(f"{path} not in the warehouse after {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchdb-sensor-"))
    home, incoming, db = work / "home", work / "incoming", work / "warehouse.duckdb"
    home.mkdir()
    incoming.mkdir()
    shutil.copy(REPO / "data" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "BENCHDB_INCOMING": str(incoming), "BENCHDB_DB": str(db)}
    dagster = Path(sys.executable).parent / "dagster"
    server = subprocess.Popen(
        [str(dagster), "dev", "-p", str(free_port())],
        cwd=REPO,
        env=env,
        stdout=open(work / "dagster.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        started = time.perf_counter()
        wait_for(db, drop(incoming, "warmup.json", 1.0), timeout=180)
        print(f"dagster dev up and first file ingested after {time.perf_counter() - started:.1f} s")
        latencies = []
        for i in range(args.files):
            time.sleep(1.3 * (i % 4))  # land at different points of the sensor's 5 s loop
            latency = wait_for(db, drop(incoming, f"probe_{i}.json", 2.0 + i), timeout=60)
            latencies.append(latency)
            print(f"file {i}: in the warehouse after {latency:.1f} s")
        print(
            f"latency over {len(latencies)} files: median {statistics.median(latencies):.1f} s, "
            f"max {max(latencies):.1f} s (goal: within 10 s)"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
