"""/query under a flood of expensive queries: are they stopped, is memory bounded, do the
other endpoints keep answering?

    python benchmarks/query_flood_bench.py [--seconds 30] [--clients 8]

`benchdb serve` runs on a warehouse of the bundled samples (simulated). ``--clients``
threads send, for ``--seconds``, the expensive queries the hardening issue found
(a 60-million-element list_sort, levenshtein on 60,000-character strings, a 60-byte query
asking for 500 MB, bursts of SELECT 1) while one more client asks GET /health and GET
/performance every 100 ms. The resident memory of the server and of its query workers (one
process per slot) is sampled as it runs.

Prints, per query kind, the answers by status and the longest time to an answer; the probe's
p50/p99 latency; the peak memory of the server process, of the largest worker and of all
together. Goals: every query answered within 2× the 5 s limit, every worker under its memory
cap (``--query-memory``, 1024 MB), the probe's p99 under 500 ms.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import httpx
from api_bench import TOKEN, serve

from benchdb_pipeline.ingest.normalize import percentile
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.runner.measure import child_processes, rss_mb
from benchdb_pipeline.samples import write_samples

QUERIES = {
    "list_sort 60M": "SELECT len(list_sort(range(60000000)))",
    "levenshtein 60k": "SELECT levenshtein(repeat('a', 60000), repeat('b', 60000))",
    "500 MB answer": "SELECT repeat('x', 1000000) FROM range(500)",
    "100 MB answer": "SELECT repeat('x', 100000) FROM range(1000)",
    "SELECT 1": "SELECT 1",
}
TIME_LIMIT = 5.0
QUERY_MEMORY_MB = 1024  # benchdb serve's default --query-memory


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="benchdb-flood-") as folder:
        db = Path(folder) / "w.duckdb"
        ingest(db, [write_samples(Path(folder) / "samples")[0].parents[1]], workers=1)
        process, url = serve(db)
        stop = time.monotonic() + args.seconds
        lock = threading.Lock()
        answers: dict[str, dict[int, int]] = {name: {} for name in QUERIES}
        longest: dict[str, float] = dict.fromkeys(QUERIES, 0.0)
        probe: list[float] = []
        peak = {"server": 0.0, "worker": 0.0, "all": 0.0}

        def flood(number: int) -> None:
            names = list(QUERIES)
            with httpx.Client(
                base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120
            ) as http:
                i = number
                while time.monotonic() < stop:
                    name = names[i % len(names)]
                    began = time.perf_counter()
                    try:
                        status = http.post("/query", json={"sql": QUERIES[name]}).status_code
                    except httpx.HTTPError:
                        status = 0
                    took = time.perf_counter() - began
                    with lock:
                        answers[name][status] = answers[name].get(status, 0) + 1
                        longest[name] = max(longest[name], took)
                    i += 1

        def watch() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                while time.monotonic() < stop:
                    for path in ("/health", "/performance?limit=10"):
                        began = time.perf_counter()
                        http.get(path)
                        probe.append((time.perf_counter() - began) * 1000)
                    server = rss_mb(process.pid)
                    workers = [rss_mb(child) for child in child_processes(process.pid)]
                    peak["server"] = max(peak["server"], server)
                    peak["worker"] = max([peak["worker"], *workers])
                    peak["all"] = max(peak["all"], server + sum(workers))
                    time.sleep(0.1)

        threads = [threading.Thread(target=flood, args=(n,)) for n in range(args.clients)]
        threads.append(threading.Thread(target=watch))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        process.terminate()
        process.wait(30)
    print(f"{args.clients} clients for {args.seconds:g} s; time limit {TIME_LIMIT:g} s")
    for name in QUERIES:
        verdict = "ok" if longest[name] <= 2 * TIME_LIMIT else "OVER 2× the limit"
        print(f"  {name:<16} answers {answers[name]}  longest {longest[name]:6.2f} s  {verdict}")
    ordered = sorted(probe)
    p99 = percentile(ordered, 0.99)
    print(
        f"probe GET /health and /performance: {len(probe)} requests, p50 {percentile(ordered, 0.5):.1f} ms, "
        f"p99 {p99:.1f} ms ({'ok' if p99 < 500 else 'OVER 500 ms'})"
    )
    verdict = "ok" if peak["worker"] <= QUERY_MEMORY_MB else "OVER its cap"
    print(
        f"peak memory: server process {peak['server']:.0f} MB; largest query worker "
        f"{peak['worker']:.0f} MB of its {QUERY_MEMORY_MB} MB cap ({verdict}); all together {peak['all']:.0f} MB"
    )


if __name__ == "__main__":
    main()
