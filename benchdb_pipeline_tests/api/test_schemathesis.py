"""Generated requests from the app's own OpenAPI schema (Schemathesis), against a real
server: whatever they hold, the answer is never a server error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from benchdb_pipeline_tests.api.conftest import TOKEN, start_server

schemathesis = pytest.importorskip("schemathesis")
EXAMPLES = 30  # per operation; bounded so that CI stays quick

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory):
    server = start_server(tmp_path_factory.mktemp("fuzz") / "w.duckdb")
    yield server
    log = server.stop()
    assert "Traceback" not in log, log[-5000:]  # no failure hidden behind a 4xx either


@pytest.fixture(scope="module")
def operations(fuzzed_server):
    schema = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json")
    return {f"{op.method.upper()} {op.path}": op for op in (r.ok() for r in schema.get_all_operations())}


OPERATIONS = [
    "GET /",
    "GET /health",
    "POST /performance",
    "GET /performance",
    "POST /compatibility",
    "GET /compatibility",
    "POST /integration",
    "GET /integration",
    "POST /results",
    "GET /hardware",
    "GET /models",
    "GET /runs",
    "POST /query",
]


@pytest.mark.parametrize("name", OPERATIONS)
def test_no_generated_request_makes_a_server_error(operations, name):
    assert set(operations) == set(OPERATIONS)  # a new endpoint must join this list

    @given(case=operations[name].as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        response = case.call(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30)
        assert response.status_code < 500, f"{name}: {response.status_code} {response.text[:500]}"

    check()
