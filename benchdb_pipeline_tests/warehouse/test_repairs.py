"""`maintenance --fix-inconsistencies`: what can be repaired without loss is, the rest listed."""

from __future__ import annotations

import json
import shutil

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.maintenance.operations import check_integrity, fix_inconsistencies
from benchdb_pipeline.warehouse.schema import utc_now
from benchdb_pipeline.warehouse.store import release_files, session
from benchdb_pipeline_tests.conftest import FIXTURES, query, scalar


def _broken_warehouse(tmp_path, db):
    """A warehouse as hands and old bugs leave one: a view dropped, rows of a file deleted,
    and a duplicate whose original is no longer stored."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(FIXTURES / "canonical_rows.json", folder / "rows.json")
    shutil.copy(FIXTURES / "direct_benchmark.json", folder / "direct.json")
    doc = json.loads((FIXTURES / "canonical_document.json").read_text())
    (folder / "a_document.json").write_text(json.dumps(doc))
    (folder / "b_document_pretty.json").write_text(json.dumps(doc, indent=2))
    ingest(db, [folder])
    with session(db) as con:
        assert con.execute("SELECT count(*) FROM source_files WHERE status = 'duplicate'").fetchone() == (1,)
        con.execute("DROP VIEW latest_performance_metrics")
        rows_file = con.execute("SELECT file_id FROM source_files WHERE path LIKE '%rows.json'").fetchone()
        con.execute(
            "DELETE FROM performance_samples WHERE result_id IN "
            "(SELECT result_id FROM performance_results WHERE source_file_id = ?)",
            rows_file,
        )
        con.execute("DELETE FROM performance_results WHERE source_file_id = ?", rows_file)
        # The duplicate's original released (an earlier version did so without its duplicate).
        (original,) = con.execute(
            "SELECT duplicate_of FROM source_files WHERE status = 'duplicate'"
        ).fetchone()
        release_files(con, f"SELECT {int(original)}", utc_now())
    return folder


def test_a_dry_run_lists_the_repairs_and_changes_nothing(tmp_path, db):
    _broken_warehouse(tmp_path, db)
    before = check_integrity(db)
    assert not before["ok"]
    planned = fix_inconsistencies(db, dry_run=True)
    assert planned["dry_run"] and not planned["ok"]
    assert "latest_performance_metrics" in planned["recreate_views"]  # and the views over it
    assert [p.rsplit("/", 1)[-1] for p in planned["read_again"]] == ["b_document_pretty.json", "rows.json"]
    assert check_integrity(db) == before


def test_the_repairs_restore_every_row_from_the_files_on_disk(tmp_path, db):
    folder = _broken_warehouse(tmp_path, db)
    fixed = fix_inconsistencies(db)
    assert fixed["ok"], fixed["still_wrong"]
    assert check_integrity(db)["ok"]
    assert scalar(db, "SELECT count(*) FROM latest_performance_metrics") > 0
    # The pretty copy now holds the document's results: stored once, from it.
    assert query(db, "SELECT status FROM source_files WHERE path LIKE '%b_document_pretty.json'") == [
        ("ingested",)
    ]
    fresh = tmp_path / "fresh.duckdb"
    ingest(fresh, [folder])
    counted = "SELECT count(*) FROM performance_results"
    assert scalar(db, counted) == scalar(fresh, counted)


def test_a_file_that_is_gone_or_changed_is_left_with_its_rows(tmp_path, db):
    folder = _broken_warehouse(tmp_path, db)
    (folder / "rows.json").write_text("[]")
    (folder / "b_document_pretty.json").unlink()
    fixed = fix_inconsistencies(db)
    assert not fixed["ok"] and fixed["read_again"] == []
    left = " ".join(fixed["cannot_repair"])
    assert "rows.json (rows do not match): its content on disk has changed" in left
    assert "b_document_pretty.json (original not stored): not on disk" in left
    assert "ledger" in fixed["still_wrong"] and "views" not in fixed["still_wrong"]
