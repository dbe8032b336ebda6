"""Model names keep the case their files give them for display; they match in any case."""

from __future__ import annotations

import json

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.reports import queries
from benchdb_pipeline.reports.filters import Filters
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.conftest import query


def _rows(*names: str) -> list[dict]:
    return [
        {"model_name": name, "hardware_type": "cpu", "batch_size": batch, "throughput": 10.0 * batch}
        for batch, name in enumerate(names, start=1)
    ]


def test_spellings_of_one_model_are_one_model_shown_as_spelled(tmp_path, db):
    (tmp_path / "a.json").write_text(json.dumps(_rows("Qwen/Qwen2-0.5B", "qwen/qwen2-0.5b ")))
    ingest(db, [tmp_path / "a.json"], workers=1)
    assert query(db, "SELECT model_name, display_name FROM models") == [
        ("qwen/qwen2-0.5b", "Qwen/Qwen2-0.5B")
    ]
    with session(db, read_only=True) as con:
        for spelling in ("QWEN/qwen2-0.5B", "qwen/qwen2-0.5b"):
            table = queries.performance(con, Filters(model=spelling))
            assert [row[0] for row in table.rows] == ["Qwen/Qwen2-0.5B"] * 2


def test_a_model_stored_before_display_names_shows_its_key(tmp_path, db):
    (tmp_path / "a.json").write_text(json.dumps(_rows("bert-base-uncased")))
    ingest(db, [tmp_path / "a.json"], workers=1)
    with session(db) as con:
        con.execute("UPDATE models SET display_name = NULL")  # as migration 6 leaves older rows
    assert query(db, "SELECT model_display_name FROM latest_performance_metrics") == [("bert-base-uncased",)]
