"""The warehouse on DuckLake with a real PostgreSQL catalog: the same results as on a DuckDB
file, ids, and the constraints the lake cannot declare kept as checks."""

from __future__ import annotations

import json

import pytest

from benchdb_pipeline.errors import SchemaError
from benchdb_pipeline.ingest.pipeline import POOL_THRESHOLD, ingest
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse import checks
from benchdb_pipeline.warehouse.lake import file_schema
from benchdb_pipeline.warehouse.schema import ALL_TABLES, SCHEMA_VERSION, ensure_schema
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import scalar

# What a result is, without the ids and clocks that differ between two loads.
CONTENT = {
    "source_files": "path, sha256, status, record_count, format, error",
    "latest_performance_metrics": "model_name, platform_key, test_case, batch_size, precision, "
    "average_latency_ms, throughput_items_per_second, memory_peak_mb, result_count, is_simulated",
    "quarantine": "record_locator, field, reason",
    "models": "model_name, model_family, parameters_million",
    "hardware_platforms": "platform_key, device_name, memory_gb",
}


def contents(address) -> dict[str, object]:
    with session(address, read_only=True) as con:
        found: dict[str, object] = {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone() for t in ALL_TABLES
        }
        for name, columns in CONTENT.items():
            found[name] = sorted(map(repr, con.execute(f"SELECT {columns} FROM {name}").fetchall()))
        found["checks"] = [c(con).description for c in checks.ALL_CHECKS]
    return found


def test_the_same_files_give_the_same_warehouse_on_the_lake(lake, tmp_path):
    write_samples(tmp_path / "samples")
    file_db = tmp_path / "file.duckdb"
    for address in (file_db, lake):
        assert ingest(address, [tmp_path / "samples"], workers=1).count("ingested") > 20
        again = ingest(address, [tmp_path / "samples"], workers=1)
        assert again.count("known") == again.files and not any(again.load.rows.values())
    on_file, on_lake = contents(file_db), contents(lake)
    assert on_lake == on_file
    assert all(line.endswith(": ok") for line in on_lake["checks"])


@pytest.mark.slow
def test_a_bulk_ingest_in_batches_through_the_pool_gives_the_same_warehouse_on_the_lake(lake, tmp_path):
    """The route of a large ingest (a pool of workers, rows read as columns, batches stored
    on one DuckDB thread while the pool parses) on the lake's one connection."""
    folder = tmp_path / "bulk"
    folder.mkdir()
    for i in range(POOL_THRESHOLD + 20):
        rows = [
            {"model": f"m-{i % 5}", "hardware": "cpu", "batch_size": b, "latency_ms": i + b} for b in (1, 4)
        ]
        (folder / f"{i:04d}.json").write_text(json.dumps(rows))
    file_db = tmp_path / "file.duckdb"
    for address in (file_db, lake):
        report = ingest(address, [folder], workers=2, batch_files=100, columnar_from=1)
        assert report.count("ingested") == POOL_THRESHOLD + 20
    assert contents(lake) == contents(file_db)


def test_ids_are_unique_and_grow_on_the_lake(lake, tmp_path):
    write_samples(tmp_path / "samples")
    ingest(lake, [tmp_path / "samples" / "nightly"], workers=1)
    newest_before = scalar(lake, "SELECT max(result_id) FROM performance_results")
    ingest(lake, [tmp_path / "samples"], workers=1)
    assert (
        scalar(lake, "SELECT min(result_id) FROM performance_results WHERE result_id > ?", [newest_before])
        == newest_before + 1
    )  # the next batch's ids follow on from the last ones
    with session(lake, read_only=True) as con:
        for table, column in file_schema().ids.items():
            count, distinct, low = con.execute(
                f"SELECT count(*), count(DISTINCT {column}), min({column}) FROM {table}"
            ).fetchone()
            assert count == distinct and (low is None or low >= 1), table


def test_a_broken_rule_the_lake_cannot_declare_is_found(lake, tmp_path):
    write_samples(tmp_path / "samples")
    ingest(lake, [tmp_path / "samples"], workers=1)
    with session(lake) as con:
        con.execute(
            "INSERT INTO models (model_id, model_name, parameters_million, created_at) "
            "SELECT model_id, model_name || '-copy', -1, created_at FROM models LIMIT 1"
        )
        result = checks.check_declared(con)
    assert not result.passed
    assert result.offending['models: PRIMARY KEY ("model_id")'] == 1
    assert result.offending["models: CHECK (parameters_million > 0)"] == 1


def test_a_lake_never_created_says_how_to_create_it(postgres_server, tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHDB_LAKE_DATA", str(tmp_path / "data"))
    address = "ducklake:postgres:" + postgres_server.create_database("never_created")
    with pytest.raises(SchemaError, match="benchdb lake init"), session(address) as con:
        ensure_schema(con)  # not reached: opening it says so


def test_every_command_finds_the_lake_from_the_environment(lake, tmp_path, monkeypatch):
    from benchdb_pipeline_tests.test_cli import benchdb

    monkeypatch.setenv("BENCHDB_BACKEND", "ducklake")
    again = benchdb("lake", "init")
    assert again.returncode == 0 and "exists already" in again.stdout, again.stderr
    write_samples(tmp_path / "samples")
    ingested = benchdb("ingest", str(tmp_path / "samples"))
    assert ingested.returncode == 1, ingested.stderr  # the samples hold one file to quarantine
    status = benchdb("status")
    assert status.returncode == 0, status.stderr
    assert status.stdout.startswith("DuckLake postgres:host=127.0.0.1") and "snapshot" in status.stdout
    answer = benchdb("query", "--compare-hardware", "--model", "bert-base-uncased", "--format", "json")
    assert answer.returncode == 0 and "bert-base-uncased" in answer.stdout, answer.stderr
    report = benchdb(
        "query", "--report", "performance", "--format", "html", "--output", str(tmp_path / "p.html")
    )
    assert report.returncode == 0 and (tmp_path / "p.html").stat().st_size > 0, report.stderr


def test_a_lake_takes_the_migrations_that_change_only_what_it_does_not_declare(lake):
    """Versions 9 to 12 drop keys and widen a CHECK: a lake records them and keeps checking
    the current rules."""
    with session(lake) as con:
        con.execute("DELETE FROM schema_version WHERE version >= 9")
        assert ensure_schema(con) == 4
        assert con.execute("SELECT max(version) FROM schema_version").fetchone() == (SCHEMA_VERSION,)
        con.execute("DELETE FROM schema_version WHERE version >= 5")
        with pytest.raises(SchemaError, match="no lake migration to"):
            ensure_schema(con)
