"""The REST API over real HTTP: writes with provenance, validation, auth, idempotency, reads,
and what happens while another process holds the database."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from benchdb_pipeline.runner.measure import child_processes, rss_mb
from benchdb_pipeline_tests.api.conftest import hold_database, start_server, wait_for
from benchdb_pipeline_tests.conftest import query, small_disk

RESULT = {
    "model_name": "bert-base-uncased",
    "hardware_type": "cuda",
    "device_name": "NVIDIA A100",
    "batch_size": 8,
    "precision": "fp16",
    "throughput": 950.5,
    "latency_avg": 8.4,
    "memory_peak": 2048,
    "latencies_ms": [8.1, 8.3, 8.9],
    "timestamp": "2026-11-20T10:00:00Z",
}


def _rows(server, **params) -> list[dict]:
    with server.client(None) as client:
        return client.get("/performance", params=params).json()["items"]


def test_service_endpoints_and_openapi(server):
    with server.client(None) as client:
        root = client.get("/").json()
        assert {"/performance", "/query", "/runs", "/health"} <= set(root["endpoints"])
        assert client.get("/health").json()["status"] == "ok"
        spec = client.get("/openapi.json").json()
        assert {
            "/performance",
            "/compatibility",
            "/integration",
            "/query",
            "/hardware",
            "/models",
            "/runs",
        } <= set(spec["paths"])
        assert client.get("/docs").status_code == 200


def test_a_posted_result_is_stored_with_provenance(server):
    with server.client() as client:
        answer = client.post("/performance", json=RESULT)
    assert answer.status_code == 201, answer.text
    stored = answer.json()
    assert stored["status"] == "stored" and not stored["replay"]
    rows = wait_for(lambda: _rows(server), what="the result in a snapshot")
    assert rows[0]["throughput_items_per_second"] == 950.5 and rows[0]["latency_p50_ms"] == 8.3
    assert rows[0]["measured_at"] == "2026-11-20T10:00:00"
    path, status, ingested_at, metadata = query(
        server.db,
        """
        SELECT f.path, f.status, f.ingested_at, r.metadata FROM test_runs r
        JOIN source_files f ON f.file_id = r.source_file_id""",
    )[0]
    assert path.endswith(f"incoming/api/{stored['id']}.json") and status == "ingested"
    assert ingested_at is not None
    assert json.loads(metadata)["source"] == "api" and json.loads(metadata)["request_id"] == stored["id"]


def test_a_client_reads_its_own_writes_at_once(tmp_path):
    """Snapshots are published at most every 30 s here: a read right after a 201 finds the
    record only because the 201's cookie (or header) asks for a snapshot that holds it."""
    server = start_server(tmp_path / "w.duckdb", "--snapshot-interval", "30")
    try:
        with server.client() as writer, server.client(None) as stranger:
            answer = writer.post("/performance", json=RESULT)
            assert answer.status_code == 201, answer.text
            token = answer.headers["X-Benchdb-Write"]
            assert writer.cookies["benchdb_write"] == token
            assert stranger.get("/performance").json()["items"] == []  # no token: the old snapshot
            assert [r["throughput_items_per_second"] for r in writer.get("/performance").json()["items"]] == [
                950.5
            ]
            assert stranger.get("/performance", headers={"X-Benchdb-Write": token}).json()["count"] == 1
            elsewhere = "0" * 12 + ":99"  # another server's token: nothing to wait for
            assert stranger.get("/performance", headers={"X-Benchdb-Write": elsewhere}).status_code == 200
    finally:
        server.stop()


def test_bad_input_is_422_naming_the_field_and_nothing_is_written(server):
    with server.client() as client:
        negative = client.post("/performance", json={**RESULT, "throughput": -5})
        missing = client.post("/performance", json={"hardware_type": "cpu"})
        unit = client.post("/performance", json={**RESULT, "latency_unit": "fortnights"})
        not_json = client.post("/performance", content=b"{nope", headers={"Content-Type": "application/json"})
        nan = client.post(
            "/performance",
            content=b'{"model_name": "m", "hardware_type": "cpu", "throughput": NaN}',
            headers={"Content-Type": "application/json"},
        )
    assert negative.status_code == 422 and negative.json()["detail"][0]["loc"] == ["body", "throughput"]
    assert missing.status_code == 422 and "model_name" in missing.text
    assert unit.status_code == 422 and "latency_unit" in unit.text
    assert not_json.status_code == 422 and nan.status_code == 422
    assert not list((server.db.parent / "incoming").rglob("*.json"))
    assert query(server.db, "SELECT count(*) FROM source_files") == [(0,)]


def _nested(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"k": value}
    return value


def test_records_past_the_limits_are_422_before_anything_is_spooled(server):
    """A record the writer could not store must never get a 202: deep nesting (orjson writes
    254 levels, reads 1024), huge text, a lone surrogate, a whole number beyond 64 bits."""
    surrogate = rb'{"model_name": "m\udcff", "hardware_type": "cpu", "throughput": 1}'  # JSON escape of a lone surrogate
    with server.client() as client:
        deep = client.post("/performance", json={**RESULT, "metrics": _nested(300)})
        long = client.post("/performance", json={**RESULT, "metrics": {"note": "x" * 100_000}})
        lone = client.post("/performance", content=surrogate, headers={"Content-Type": "application/json"})
        huge = client.post("/performance", json={**RESULT, "metrics": {"count": 2**70}})
        file_deep = client.post("/results", json=[{**RESULT, "metrics": _nested(300)}])
        fine = client.post("/performance", json=RESULT)
    for answer, field in ((deep, "metrics.k"), (long, "metrics.note"), (huge, "metrics.count")):
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    assert lone.status_code == 422 and "surrogate" in lone.text, lone.text
    assert file_deep.status_code == 422 and "nested too deeply" in file_deep.text, file_deep.text
    assert fine.status_code == 201  # and the server still writes
    assert query(server.db, "SELECT count(*) FROM performance_results") == [(1,)]


def test_writes_need_a_valid_token(server):
    with server.client(None) as anonymous, server.client("wrong") as wrong:
        assert anonymous.post("/performance", json=RESULT).status_code == 401
        assert wrong.post("/performance", json=RESULT).status_code == 401
        assert anonymous.get("/performance").status_code == 200  # reads are open on loopback


def test_without_tokens_writes_are_refused_and_auth_reads_closes_reads(tmp_path):
    server = start_server(tmp_path / "w.duckdb", "--auth-reads", tokens="")
    try:
        with server.client("anything") as client:
            assert client.post("/performance", json=RESULT).status_code == 403
            assert client.get("/performance").status_code == 403
    finally:
        server.stop()


def test_an_idempotency_key_stores_a_retried_post_once(server):
    with server.client() as client:
        first = client.post("/performance", json=RESULT, headers={"Idempotency-Key": "job-7/attempt"})
        again = client.post("/performance", json=RESULT, headers={"Idempotency-Key": "job-7/attempt"})
        other = client.post(
            "/performance", json={**RESULT, "batch_size": 16}, headers={"Idempotency-Key": "job-7/attempt"}
        )
    assert first.status_code == 201 and again.status_code in (201, 202)
    # The replay names the first request; it is stored (201) or, when the writer's commit
    # outlasts the answer's wait on a loaded machine, durable and waiting (202).
    status = {201: "stored", 202: "spooled"}[again.status_code]
    assert again.json() == {**first.json(), "replay": True, "status": status}
    assert other.status_code == 422 and "Idempotency-Key" in other.text
    assert query(server.db, "SELECT count(*) FROM performance_results") == [(1,)]


def test_other_kinds_and_filters_and_pages(server):
    with server.client() as client:
        for batch in (1, 2, 4, 8, 16):
            # 201 stored, or 202 durable and waiting (the writer was busy): both will be stored
            assert client.post("/performance", json={**RESULT, "batch_size": batch}).status_code in (201, 202)
        assert client.post(
            "/compatibility",
            json={
                "model_name": "bert-base-uncased",
                "hardware_type": "rocm",
                "is_compatible": False,
                "error": "no kernel",
            },
        ).status_code in (201, 202)
        assert client.post(
            "/integration",
            json={
                "test_module": "test_bert",
                "test_name": "test_forward",
                "status": "passed",
                "duration": 1.5,
            },
        ).status_code in (201, 202)
    with server.client(None) as client:
        wait_for(lambda: len(client.get("/runs").json()["items"]) == 7, what="seven runs in a snapshot")
        first = client.get("/performance", params={"limit": 2, "latest_only": True}).json()
        second = client.get(
            "/performance", params={"limit": 2, "offset": first["next_offset"], "latest_only": True}
        ).json()
        assert [r["batch_size"] for r in first["items"] + second["items"]] == [1, 2, 4, 8]  # ordered, stable
        assert [
            r["batch_size"] for r in client.get("/performance", params={"batch_size": 4}).json()["items"]
        ] == [4]
        assert client.get("/performance", params={"hardware": "rocm"}).json()["items"] == []
        assert client.get("/performance", params={"hardware": "not a platform!"}).status_code == 422
        assert client.get("/performance", params={"limit": 0}).status_code == 422
        assert (
            client.get("/compatibility", params={"hardware": "rocm"}).json()["items"][0]["is_compatible"]
            is False
        )
        assert client.get("/integration").json()["items"][0]["latest_status"] == "pass"
        assert client.get("/models").json()["items"][0]["model_name"] == "bert-base-uncased"
        assert {h["hardware_type"] for h in client.get("/hardware").json()["items"]} == {"cuda", "rocm"}
        assert len(client.get("/runs").json()["items"]) == 7
        missing = client.get("/performance").json()["items"][0]
        assert missing["sequence_length"] is None and missing["test_case"] is None  # missing is null


def test_while_another_process_writes_posts_are_spooled_and_reads_answer(server):
    with server.client() as client:
        assert client.post("/performance", json=RESULT).status_code == 201
        wait_for(lambda: _rows(server), what="the first result")
        holder = hold_database(server.db, 4)
        try:
            spooled = client.post("/performance", json={**RESULT, "batch_size": 32})
            assert spooled.status_code == 202 and spooled.json()["status"] == "spooled"
            reads = client.get("/performance")
            assert reads.status_code == 200 and len(reads.json()["items"]) == 1  # from the snapshot
            assert float(reads.headers["X-Benchdb-Snapshot-Age"]) >= 0
        finally:
            holder.wait(30)
        wait_for(lambda: len(_rows(server)) == 2, what="the spooled result stored after the lock")


HOSTILE = [
    "DROP TABLE models",
    "DELETE FROM performance_results",
    "UPDATE models SET model_name = 'x'",
    "INSERT INTO models (model_name, created_at) VALUES ('x', now())",
    "ATTACH '/tmp/other.duckdb' AS other",
    "COPY performance_results TO '/tmp/stolen.csv'",
    "EXPORT DATABASE '/tmp/stolen'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA enable_profiling",
    "SET enable_external_access = true",
    "SELECT 1; DROP TABLE models",
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM read_text('/etc/hostname')",
    "SELECT * FROM glob('/etc/*')",
    "SELECT count(*) FROM range(100000000000) a, range(100000000000) b",
    "CHECKPOINT",
    "CREATE TABLE t AS SELECT 1",
    "IMPORT DATABASE '/tmp'",
    "PRAGMA database_list",
    "SELECT path FROM duckdb_databases()",
    "SELECT value FROM duckdb_settings() WHERE name = 'temp_directory'",
    "SELECT current_setting('temp_directory')",
    "SELECT * FROM pg_settings",
]


@pytest.fixture(scope="module")
def one_result_server(tmp_path_factory):
    running = start_server(tmp_path_factory.mktemp("hostile") / "w.duckdb")
    with running.client() as client:
        assert client.post("/performance", json=RESULT).status_code == 201
    wait_for(lambda: _rows(running), what="a snapshot with the result")
    yield running
    running.stop()


@pytest.mark.parametrize("sql", HOSTILE)
def test_hostile_queries_are_refused_or_cut_off_and_change_nothing(one_result_server, sql):
    server = one_result_server
    tables = "SELECT (SELECT count(*) FROM models), (SELECT count(*) FROM performance_results)"
    with server.client() as client:
        before = client.post("/query", json={"sql": tables}).json()["rows"]
        answer = client.post("/query", json={"sql": sql})
        assert answer.status_code == 400, answer.text
        assert str(server.db.parent) not in answer.text  # no server path revealed
        assert client.post("/query", json={"sql": tables}).json()["rows"] == before == [[1, 1]]
    assert query(server.db, tables) == [(1, 1)]  # the live warehouse too
    assert not any(Path("/tmp").glob("stolen*"))


def test_a_select_answers_with_a_row_limit(server):
    with server.client(None) as client:
        answer = client.post(
            "/query",
            json={"sql": "SELECT * FROM range(50000) t(i) WHERE i >= ?", "params": [5], "limit": 100},
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["columns"] == ["i"] and len(body["rows"]) == 100 and body["truncated"] is True
        assert body["rows"][0] == [5]
        huge = client.post("/query", json={"sql": "SELECT * FROM range(10000000000)"})
        assert huge.status_code == 200 and huge.json()["truncated"] and len(huge.json()["rows"]) == 10_000


def test_requests_a_client_gets_wrong_are_4xx_never_500(server):
    with server.client() as client:
        for response in (
            client.post("/query", json={"sql": 5}),
            client.post("/query", json={}),
            client.get("/performance", params={"since": "yesterday"}),
            client.get("/runs", params={"simulated": "maybe"}),
            client.post("/performance", json=[RESULT]),
        ):
            assert 400 <= response.status_code < 500, response.text


def test_a_stopped_server_leaves_nothing_unstored(tmp_path):
    server = start_server(tmp_path / "w.duckdb")
    with server.client() as client:
        for batch in (1, 2, 3):
            client.post("/performance", json={**RESULT, "batch_size": batch})
    server.stop()
    assert query(server.db, "SELECT count(*) FROM performance_results") == [(3,)]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{server.url}/health", timeout=1)


def test_a_full_spool_is_a_clear_507_nothing_half_written_and_health_says_so(tmp_path):
    with small_disk(tmp_path / "incoming", 512) as spool_disk:
        running = start_server(tmp_path / "w.duckdb")
        try:
            filler = spool_disk / "filler.bin"
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4k"], capture_output=True)  # fills it
            with running.client() as client:
                refused = client.post("/performance", json=RESULT)
                health = client.get("/health")
                assert refused.status_code == 507 and "No space left on device" in refused.text, refused.text
                assert health.status_code == 503 and health.json()["status"] == "degraded"
                assert "No space left on device" in health.json()["spool"]
                assert not [p for p in spool_disk.rglob("*") if p.name.endswith(".tmp")]
                filler.unlink()
                assert client.post("/performance", json=RESULT).status_code == 201
                assert client.get("/health").json()["spool"] == "writable"
        finally:
            running.process.kill()
            running.process.wait()


def test_every_type_a_query_returns_serialises(one_result_server):
    sql = (
        "SELECT 1.5 AS dec, 0.1::DECIMAL(18,17) AS small, 'ab'::BLOB AS blob, INTERVAL 3 DAY AS span, "
        "170141183460469231731687303715884105727::HUGEINT AS huge, {'k': [1.5]} AS nested"
    )
    with one_result_server.client() as client:
        answer = client.post("/query", json={"sql": sql})
        summarize = client.post("/query", json={"sql": "SUMMARIZE SELECT 1.5 AS x"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [
        [1.5, 0.1, "\\x6162", "3 days, 0:00:00", "170141183460469231731687303715884105727", {"k": [1.5]}]
    ]
    assert summarize.status_code == 200, summarize.text


def test_only_the_bound_host_names_are_served(server):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: refused."""
    with server.client() as client:
        assert client.get("/health").status_code == 200
        assert client.get("/health", headers={"Host": "localhost"}).status_code == 200
        rebound = client.post("/query", json={"sql": "SELECT 1"}, headers={"Host": "attacker.example"})
    assert rebound.status_code == 400


def test_bodies_over_the_limit_are_refused_before_they_are_read(server):
    big = (
        b'{"model_name": "m", "hardware_type": "cpu", "throughput": 1, "pad": "' + b"x" * (2 * 2**20) + b'"}'
    )

    def streamed():
        for start in range(0, len(big), 65536):
            yield big[start : start + 65536]

    with server.client() as client:
        declared = client.post("/performance", content=big, headers={"Content-Type": "application/json"})
        chunked = client.post(
            "/performance", content=streamed(), headers={"Content-Type": "application/json"}
        )
        lone = client.post(
            "/query", content=rb'{"sql": "SELECT \udcff"}', headers={"Content-Type": "application/json"}
        )
        still = client.post("/performance", json=RESULT)
    assert declared.status_code == 413 and "larger than" in declared.text
    assert chunked.status_code == 413
    assert lone.status_code == 422 and lone.json()["detail"][0]["loc"] == ["body", "sql"], lone.text
    assert still.status_code == 201


def test_queries_beyond_the_slots_get_429_and_the_other_endpoints_stay_free(tmp_path):
    running = start_server(tmp_path / "w.duckdb", "--query-slots", "1", "--query-time-limit", "2")
    slow = "SELECT sum(i) FROM range(4000000000) t(i)"  # seconds of work, stopped at 2 s
    answers: list[int] = []
    start = threading.Barrier(4)

    def ask() -> None:
        with running.client() as client:
            start.wait()
            answers.append(client.post("/query", json={"sql": slow}).status_code)

    try:
        threads = [threading.Thread(target=ask) for _ in range(3)]
        for thread in threads:
            thread.start()
        start.wait()
        time.sleep(0.3)
        with running.client() as client:
            began = time.monotonic()
            assert client.get("/health").status_code == 200
            assert client.get("/performance").status_code == 200
            waited = time.monotonic() - began
        for thread in threads:
            thread.join(30)
        assert sorted(answers)[-2:] == [429, 429] and sorted(answers)[0] in (200, 400), answers
        assert waited < 2.0, f"other endpoints waited {waited:.2f} s behind /query"
        with running.client() as client:
            huge = client.post("/query", json={"sql": "SELECT repeat('x', 100000) AS x FROM range(1000)"})
        assert huge.status_code == 200 and huge.json()["truncated"] is True
        assert 0 < len(huge.json()["rows"]) < 1000 and len(huge.content) < 20 * 2**20
    finally:
        running.stop()


def test_a_query_that_cannot_be_interrupted_is_stopped_and_its_memory_is_capped(tmp_path):
    """One DuckDB call (levenshtein on long strings, a 60-million-element sort) ignores the
    interrupt: the worker is killed past the limit and its grace (it would run on for more
    than 10 s); a worker never grows by more than --query-memory; the next query gets a fresh
    worker."""
    running = start_server(tmp_path / "w.duckdb", "--query-time-limit", "1", "--query-memory", "512")
    peak, sampling = [0.0], threading.Event()

    def sample() -> None:
        while not sampling.is_set():
            peak[0] = max([peak[0], *map(rss_mb, child_processes(running.process.pid))])
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with running.client() as client:
            first = client.post("/query", json={"sql": "SELECT 1"})
            assert first.status_code == 200, first.text  # a worker up
            idle = max(map(rss_mb, child_processes(running.process.pid)))
            began = time.monotonic()
            slow = client.post(
                "/query", json={"sql": "SELECT levenshtein(repeat('a', 60000), repeat('b', 60000))"}
            )
            took = time.monotonic() - began
            big = client.post("/query", json={"sql": "SELECT len(list_sort(range(60000000)))"})
            after = client.post("/query", json={"sql": "SELECT 42"})
    finally:
        sampling.set()
        sampler.join()
        running.stop()
    assert slow.status_code == 400 and "longer than 1 s" in slow.json()["detail"], slow.text
    assert 1.0 <= took < 4.0, f"stopped after {took:.2f} s (limit 1 s, grace 1 s)"
    assert big.status_code == 400 and "512 MB" in big.json()["detail"], big.text
    assert 0 < peak[0] <= idle + 512, f"a worker grew from {idle:.0f} MB to {peak[0]:.0f} MB"
    assert after.status_code == 200 and after.json()["rows"] == [[42]], after.text
