"""The ORM: dataclasses that match the schema, and a unit of work that stores through the
same rules and ledger as every other input."""

from __future__ import annotations

from dataclasses import fields

import duckdb
import pytest

from benchdb_pipeline.api.orm import (
    TABLES,
    BenchmarkDB,
    HardwareCompatibility,
    HardwarePlatforms,
    Models,
    PerformanceResults,
    TestRuns,
)
from benchdb_pipeline.api.submit import InvalidRecord
from benchdb_pipeline.warehouse.schema import ensure_schema
from benchdb_pipeline_tests.conftest import query


@pytest.mark.parametrize("cls", list(TABLES), ids=lambda cls: cls.__name__)
def test_each_dataclass_has_exactly_its_tables_columns(cls):
    con = duckdb.connect(":memory:")
    ensure_schema(con)
    columns = [row[0] for row in con.execute(f"DESCRIBE {TABLES[cls]}").fetchall()]
    assert [f.name for f in fields(cls)] == columns, f"{cls.__name__} is out of step with the schema"


def test_a_session_stores_a_run_and_its_results_with_provenance(warehouse):
    """On a DuckDB file and on a lake."""
    with BenchmarkDB(warehouse) as session:
        model = session.get_or_add_model("BERT-base-uncased", "bert", parameters_million=110)
        assert session.get_or_add_model("bert-base-uncased") == model  # the rules' name
        gpu = session.get_or_add_hardware("CUDA", "NVIDIA A100", memory_gb=80)
        run = TestRuns(test_name="nightly", git_commit="abc123", metadata={"suite": "speed"})
        provisional = session.insert_test_runs(run)
        assert provisional < 0
        result = PerformanceResults(
            run_id=provisional,
            model_id=model,
            hardware_id=gpu,
            batch_size=8,
            precision="fp16",
            throughput_items_per_second=900.0,
            average_latency_ms=8.9,
        )
        session.insert_performance_results(result)
        session.insert_hardware_compatibility(
            HardwareCompatibility(run_id=provisional, model_id=model, hardware_id=gpu, is_compatible=True)
        )
    assert run.run_id > 0 and result.run_id == run.run_id
    stored = session.get_performance_results(model="bert-base-uncased", hardware="cuda")
    assert len(stored) == 1 and stored[0].throughput_items_per_second == 900.0
    assert stored[0].source_file_id is not None
    again = session.get(TestRuns, run.run_id)
    assert again.git_commit == "abc123" and again.metadata["suite"] == "speed"
    assert again.metadata["source"] == "orm"
    assert session.get(Models, model).parameters_million == 110
    assert session.get(HardwarePlatforms, gpu).memory_gb == 80
    assert session.get(TestRuns, 999) is None
    assert query(warehouse, "SELECT status FROM source_files") == [("ingested",)]


def test_results_need_a_run_of_the_session_and_valid_values(db):
    session = BenchmarkDB(db)
    model = session.get_or_add_model("gpt2")
    cpu = session.get_or_add_hardware("cpu")
    with pytest.raises(ValueError, match="not a run inserted in this session"):
        session.insert_performance_results(PerformanceResults(run_id=5, model_id=model, hardware_id=cpu))
    run = session.insert_test_runs(TestRuns(test_name="bad"))
    session.insert_performance_results(
        PerformanceResults(
            run_id=run, model_id=model, hardware_id=cpu, batch_size=0, throughput_items_per_second=1.0
        )
    )
    with pytest.raises(InvalidRecord, match="batch_size"):
        session.commit()
    assert query(db, "SELECT count(*) FROM performance_results") == [(0,)]
    with pytest.raises(ValueError, match="hardware"):
        session.get_or_add_hardware("not a platform!")
