"""Maintenance on a lake: compaction keeps every row, a backup (catalog dump + data files)
restores row for row into a new catalog database, and a damaged backup is refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchdb_pipeline.config import lake_address
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline_tests.conftest import ingest_one, query, scalar
from benchdb_pipeline_tests.maintenance.test_backup import table_hashes
from benchdb_pipeline_tests.test_cli import benchdb

HELD_BACK = "nightly"  # sample folder of performance results, ingested after a restore


def _folders(tmp_path: Path) -> list[Path]:
    return sorted({p.parent for p in write_samples(tmp_path / "samples")})


@pytest.fixture
def sample_lake(lake: str, tmp_path: Path) -> Path:
    """The samples but one folder, one commit per folder: many small writes."""
    address = Path(lake)
    for folder in _folders(tmp_path):
        if folder.name != HELD_BACK:
            ingest_one(address, folder)
    return address


def _maintenance(*args: str) -> dict:
    result = benchdb("maintenance", *args, lock_timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def test_compaction_flushes_and_merges_and_keeps_every_row(sample_lake):
    before = table_hashes(sample_lake)
    latest = query(sample_lake, "SELECT * FROM latest_performance_metrics ORDER BY ALL")
    (optimized,) = _maintenance("--db", str(sample_lake), "--optimize-db")["operations"]
    assert optimized["operation"] == "optimize" and optimized["data_files"] >= 1
    assert optimized["snapshots"] >= optimized["snapshots_before"]  # none is a week old
    assert table_hashes(sample_lake) == before
    assert query(sample_lake, "SELECT * FROM latest_performance_metrics ORDER BY ALL") == latest


def test_a_lake_backup_restores_row_for_row_into_a_new_catalog(
    sample_lake, postgres_server, tmp_path, monkeypatch
):
    report = _maintenance(
        "--db", str(sample_lake), "--check-integrity", "--backup", "--backup-dir", str(tmp_path / "b")
    )
    backup = report["operations"][1]
    assert backup["file"] == "catalog.sql" and backup["files"] >= 2
    folder = Path(backup["path"])
    assert _maintenance("--verify-backup", str(folder))["ok"]

    target = lake_address("postgres:" + postgres_server.create_database("restored_lake"))
    monkeypatch.setenv("BENCHDB_LAKE_DATA", str(tmp_path / "restored_data"))
    (restored,) = _maintenance("--restore", str(folder), "--db", target)["operations"]
    hashes = table_hashes(sample_lake)
    assert restored["ok"] and restored["rows"] == sum(count for count, _ in hashes.values())
    assert table_hashes(Path(target)) == hashes
    # The restored lake is a working lake: its id counters came with it.
    newest = scalar(sample_lake, "SELECT max(result_id) FROM performance_results")
    ingest_one(Path(target), tmp_path / "samples" / HELD_BACK)
    count, distinct, first_new = query(
        Path(target),
        "SELECT count(*), count(DISTINCT result_id), min(result_id) FILTER (result_id > ?) "
        "FROM performance_results",
        [newest],
    )[0]
    assert count == distinct > hashes["performance_results"][0] and first_new > newest
    again = benchdb("maintenance", "--restore", str(folder), "--db", target)
    assert again.returncode == 1 and "already holds a lake" in again.stdout


def test_a_damaged_lake_backup_is_refused(sample_lake, tmp_path):
    (backup,) = _maintenance("--db", str(sample_lake), "--backup", "--backup-dir", str(tmp_path / "b"))[
        "operations"
    ]
    folder = Path(backup["path"])
    parquet = next((folder / "data").rglob("*.parquet"))
    parquet.write_bytes(parquet.read_bytes()[:-8])
    verify = benchdb("maintenance", "--verify-backup", str(folder))
    assert verify.returncode == 1 and "does not match its checksum" in verify.stdout
