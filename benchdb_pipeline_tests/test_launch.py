"""The command's entry point: the fork server is started first only for folders a pool parses."""

from __future__ import annotations

from benchdb_pipeline.launch import _holds


def test_files_are_counted_in_nested_folders_without_hidden_ones(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for name in ("one.json", "a/two.json", "a/b/three.txt", ".four.json", ".hidden/five.json"):
        (tmp_path / name).write_text("[]")
    assert _holds(["ingest", str(tmp_path), "--db", "w.duckdb"], 3)
    assert not _holds(["ingest", str(tmp_path)], 4)
    assert not _holds(["ingest", str(tmp_path / "one.json")], 1)  # a file is no folder
    assert not _holds(["ingest", str(tmp_path / "missing")], 1)
