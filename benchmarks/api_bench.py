"""REST API throughput and latency with concurrent clients, on a warehouse of ~1,000,000 rows.

    python benchmarks/api_bench.py [--rows-runs 57] [--clients 8] [--posts 3000] [--gets 2000]

A simulated warehouse is generated inside DuckDB (17,500 series × runs), `benchdb serve` is
started on a free loopback port, then:

- POST: ``--clients`` threads POST ``--posts`` results in all (each its own configuration);
- the backlog of accepted (202) records is waited for, and a fresh snapshot;
- GET: the same clients GET /performance?latest_only=true with a model filter (100 rows a
  page), ``--gets`` requests in all.

Prints requests per second and p50/p99 latency of each phase. Goals (issue 5, 2 cores):
≥ 300 POST/s and GET latest_only p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from benchdb_pipeline.ingest.normalize import percentile
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.store import session

SHAPE = dict(models=35, platforms=10, batch_sizes=(1, 2, 4, 8, 16), precisions=("fp32", "fp16"), test_cases=5)
TOKEN = "bench-token"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(db: Path) -> tuple[subprocess.Popen, str]:
    """`benchdb serve` on a free loopback port, once it answers /health."""
    port = _port()
    script = Path(sys.executable).parent / "benchdb"
    process = subprocess.Popen(
        [
            str(script),
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--snapshot-interval",
            os.environ.get("BENCH_SNAPSHOT_INTERVAL", "1"),
        ],
        env={**os.environ, "BENCHDB_API_TOKENS": TOKEN},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(f"{url}/health", timeout=1).json()["status"] == "ok":
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def _phase(url: str, clients: int, total: int, request) -> tuple[float, list[float], dict]:
    """Run ``total`` requests over ``clients`` threads; returns wall time, latencies, and the
    latencies of each status."""
    latencies: list[float] = []
    statuses: dict[int, list[float]] = {}
    lock = threading.Lock()

    def client(number: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60) as http:
            for i in range(number, total, clients):
                started = time.perf_counter()
                status = request(http, i).status_code
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed * 1000)
                    statuses.setdefault(status, []).append(elapsed * 1000)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _report(name: str, wall: float, latencies: list[float], statuses: dict, cpu: float) -> None:
    ordered = sorted(latencies)
    print(
        f"{name:<28} {len(latencies) / wall:6.0f} req/s  p50 {percentile(ordered, 0.5):6.1f} ms  "
        f"p99 {percentile(ordered, 0.99):6.1f} ms  server CPU {cpu / len(latencies) * 1000:5.2f} ms/req"
    )
    for status, times in sorted(statuses.items()):
        times.sort()
        print(
            f"{'':<28} {status}: {len(times):5d}  p50 {percentile(times, 0.5):6.1f} ms  "
            f"p99 {percentile(times, 0.99):6.1f} ms  max {times[-1]:6.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=57, help="Runs per series (57 → ~1,000,000 rows).")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--posts", type=int, default=3000)
    parser.add_argument("--gets", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "w.duckdb"
        started = time.perf_counter()
        with session(db) as con:
            rows = synthetic.fill(con, synthetic.Shape(**SHAPE, runs=args.runs))
        print(
            f"warehouse: {rows:,} simulated rows in {time.perf_counter() - started:.1f} s, "
            f"{db.stat().st_size / 2**20:.0f} MB"
        )
        process, url = serve(db)
        try:

            def post(http: httpx.Client, i: int) -> httpx.Response:
                return http.post(
                    "/performance",
                    json={
                        "model_name": f"bench-model-{i % 50}",
                        "hardware_type": "cpu",
                        "batch_size": 1 + i % 64,
                        "test_case": f"api-bench-{i}",
                        "throughput": 100.0 + i % 7,
                        "latency_avg": 9.5,
                    },
                )

            def get(http: httpx.Client, i: int) -> httpx.Response:
                return http.get(
                    "/performance",
                    params={"latest_only": "true", "model": f"synthetic-model-{i % 35:03d}", "limit": 100},
                )

            cpu = _cpu_seconds(process.pid)
            _report(
                f"POST /performance ×{args.posts}",
                *_phase(url, args.clients, args.posts, post),
                _cpu_seconds(process.pid) - cpu,
            )
            drained = time.perf_counter()
            while httpx.get(f"{url}/health").json()["pending_writes"]:
                time.sleep(0.1)
            print(f"backlog stored {time.perf_counter() - drained:.1f} s after the last POST")
            time.sleep(2 * float(os.environ.get("BENCH_SNAPSHOT_INTERVAL", "1")))  # a settled snapshot
            cpu = _cpu_seconds(process.pid)
            _report(
                f"GET latest_only ×{args.gets}",
                *_phase(url, args.clients, args.gets, get),
                _cpu_seconds(process.pid) - cpu,
            )
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(120)


if __name__ == "__main__":
    main()
