"""The REST API on a lake: reads from a pinned snapshot version, ``/query`` as the lake's
reader role, which can read the lake and nothing else of its catalog database."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from benchdb_pipeline.warehouse import lake as lakes
from benchdb_pipeline.warehouse.store import CONNECTION_CONFIG
from benchdb_pipeline_tests.api.conftest import start_server, wait_for
from benchdb_pipeline_tests.api.test_http import RESULT, _rows
from benchdb_pipeline_tests.conftest import query

CATALOG_READS = [
    "SELECT * FROM postgres_query('__ducklake_metadata_lake', 'SELECT * FROM benchdb.id_counters')",
    "SELECT * FROM __ducklake_metadata_lake.benchdb.id_counters",
    "SELECT * FROM __ducklake_metadata_lake.benchdb_lake.ducklake_metadata",
    "SELECT * FROM ducklake_snapshots('lake')",
    "SELECT * FROM ducklake_list_files('lake', 'models')",
    "SELECT * FROM read_parquet('/etc/hostname')",
]


@pytest.fixture
def lake_server(lake: str, tmp_path: Path):
    running = start_server(Path(lake), folder=tmp_path)
    yield running
    running.stop()


def test_the_api_writes_to_and_reads_from_the_lake(lake_server):
    with lake_server.client() as client:
        # stored (201), or accepted (202) where a loaded machine's lake commit outlasts the wait
        assert client.post("/performance", json=RESULT).status_code in (201, 202)
        rows = wait_for(lambda: _rows(lake_server), what="the result in a lake snapshot")
        assert rows[0]["throughput_items_per_second"] == 950.5
        answer = client.post(
            "/query",
            json={
                "sql": "SELECT (SELECT count(*) FROM performance_results), "
                "(SELECT count(*) FROM api_latest_performance)"
            },
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["rows"] == [[1, 1]]
        for sql in CATALOG_READS:
            refused = client.post("/query", json={"sql": sql})
            assert refused.status_code == 400, (sql, refused.text)
            assert "lake_data" not in refused.text  # no path of the lake revealed
    assert query(lake_server.db, "SELECT count(*) FROM performance_results") == [(1,)]


def test_the_reader_role_reads_the_lake_and_nothing_else(lake: str):
    """The role is the lock that holds if a name slips past the query's checks."""
    settings = lakes.LakeSettings.from_env(lake)
    reader = lakes.connect(settings.as_reader(), read_only=True, config=dict(CONNECTION_CONFIG))
    try:
        assert reader.execute("SELECT count(*) FROM models").fetchone() == (0,)
        with pytest.raises(duckdb.Error, match="permission denied"):
            reader.execute("SELECT * FROM __ducklake_metadata_lake.benchdb.id_counters").fetchall()
    finally:
        reader.close()
    writer = lakes.connect(settings.as_reader(), read_only=False, config=dict(CONNECTION_CONFIG))
    try:
        with pytest.raises(duckdb.Error):
            writer.execute("INSERT INTO schema_version VALUES (999, 'not allowed', now())")
    finally:
        writer.close()
