"""Migration statistics, and cleaning only the files whose content the warehouse holds."""

from __future__ import annotations

import json
import os
import time

from benchdb_pipeline.maintenance.housekeeping import clean_json, migration_stats
from benchdb_pipeline_tests.conftest import ingest_one
from benchdb_pipeline_tests.test_cli import benchdb


def _aged(path, days: float) -> None:
    old = time.time() - days * 86_400
    os.utime(path, (old, old))


def test_migration_stats_count_files_records_and_rates(db, fixture_copy):
    folder = fixture_copy(
        "canonical_rows.json", "critical_tests.json", "bad_zero_batch.json", "benchmark_summary_empty.json"
    )
    ingest_one(db, folder)
    stats = migration_stats(db)
    assert stats["files"] == {"ingested": 2, "quarantined": 1, "empty": 1}
    assert stats["records_imported"] == 3 + 2
    # The empty file is a success: it was read, and held nothing to store.
    assert stats["success_rate"] == 0.75 and stats["quarantine_rate"] == 0.25
    assert sum(day["files"] for day in stats["timeline"]) == 4
    assert stats["tables"]["performance_results"] == {"rows": 3}  # no invented per-table bytes
    assert stats["database_bytes"] == db.stat().st_size
    assert {c["category"] for c in stats["by_category"]} >= {"performance", "integration"}


def test_clean_json_touches_only_old_files_the_ledger_holds(db, fixture_copy, tmp_path):
    folder = fixture_copy(
        "canonical_rows.json", "critical_tests.json", "bad_zero_batch.json", folder="in/deep"
    )
    root = folder.parent
    ingest_one(db, root)
    for path in folder.iterdir():
        _aged(path, 40)
    (folder / "critical_tests.json").write_text((folder / "critical_tests.json").read_text() + " ")
    _aged(folder / "critical_tests.json", 40)  # changed since ingestion: not held, kept
    fresh = folder / "new.json"
    fresh.write_text("[]")  # too young
    report = clean_json(db, [root], 30, "archive", tmp_path / "archive")
    assert report["files"] == 1 and report["not_in_the_warehouse"] == 2
    assert (tmp_path / "archive" / "deep" / "canonical_rows.json").exists()
    assert not (folder / "canonical_rows.json").exists()
    assert {p.name for p in folder.iterdir()} == {"critical_tests.json", "bad_zero_batch.json", "new.json"}


def test_clean_json_remove_through_the_cli(db, fixture_copy):
    folder = fixture_copy("canonical_rows.json")
    ingest_one(db, folder)
    _aged(folder / "canonical_rows.json", 10)
    result = benchdb(
        "maintenance",
        "--db",
        str(db),
        "--clean-json",
        "--json-dir",
        str(folder),
        "--older-than",
        "5",
        "--action",
        "remove",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["operations"][0]["files"] == 1
    assert not (folder / "canonical_rows.json").exists()


def test_clean_json_on_a_missing_folder_is_a_usage_error(db, tmp_path):
    result = benchdb(
        "maintenance",
        "--db",
        str(db),
        "--clean-json",
        "--json-dir",
        str(tmp_path / "nope"),
        "--action",
        "remove",
    )
    assert result.returncode == 2 and "no such file or folder" in result.stderr
