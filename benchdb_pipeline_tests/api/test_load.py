"""Nothing lost under load: 8 concurrent clients POST 10,000 results while another process
holds the warehouse for part of the time; afterwards exactly 10,000 rows, each once."""

from __future__ import annotations

import threading

import pytest

from benchdb_pipeline_tests.api.conftest import hold_database, wait_for
from benchdb_pipeline_tests.conftest import query

CLIENTS, RESULTS = 8, 10_000

pytestmark = pytest.mark.slow


def test_ten_thousand_concurrent_posts_are_all_stored_once(server):
    statuses: dict[int, int] = {}
    failures: list[str] = []
    lock = threading.Lock()
    posted = threading.Semaphore(0)

    def client(number: int) -> None:
        with server.client() as http:
            for i in range(number, RESULTS, CLIENTS):
                answer = http.post(
                    "/performance",
                    json={
                        "model_name": f"load-model-{i % 25}",
                        "hardware_type": "cpu",
                        "batch_size": 1 + i % 32,
                        "test_case": f"load-{i}",
                        "throughput": 10.0 + i % 97,
                        "latency_avg": 4.0,
                    },
                )
                with lock:
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
                    if answer.status_code not in (201, 202):
                        failures.append(answer.text)
                posted.release()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for _ in range(RESULTS // 4):  # a quarter in, another process takes the database for 5 s
        posted.acquire()
    holder = hold_database(server.db, 5)
    holder.wait(60)
    for thread in threads:
        thread.join()
    assert not failures, failures[:3]
    assert statuses.get(202, 0) > 0  # some had to wait in the spool
    with server.client(None) as http:
        wait_for(
            lambda: http.get("/health").json()["pending_writes"] == 0, timeout=300, what="the spool to drain"
        )
    server.stop()
    assert query(server.db, "SELECT count(*), count(DISTINCT test_case) FROM performance_results") == [
        (RESULTS, RESULTS)
    ]
    assert query(server.db, "SELECT count(*) FROM source_files WHERE status = 'ingested'") == [(RESULTS,)]
    assert sum(statuses.values()) == RESULTS
