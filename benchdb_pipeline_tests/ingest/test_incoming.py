"""The incoming folder's watcher: a high-water mark on inode change times, each change found
once, a cursor that does not grow with the folder."""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
import zlib
from pathlib import Path

from benchdb_pipeline.ingest.incoming import SECOND_NS, Cursor, Look, look, new_batches


def write(folder: Path, name: str, text: str = "[]") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


SETTLE = 0.05


def settled_look(root: Path, cursor: Cursor, **options) -> Look:
    """A look once what was written before it has settled (the look's time is real: the
    mark it leaves must stay below the change times of files written after it)."""
    time.sleep(SETTLE + 0.02)
    return look(root, cursor, settle_seconds=SETTLE, **options)


def test_each_new_file_is_found_once_and_the_cursor_stays_small(tmp_path):
    for i in range(300):
        write(tmp_path, f"run-{i % 3}/r{i}.json")
    write(tmp_path, "notes.txt")  # text of no known format: counted, never a new result
    write(tmp_path, "go/bench.txt", "goos: linux\nBenchmarkParse-2  1000  52.5 ns/op\nPASS\n")
    write(tmp_path, ".hidden/x.json")
    first = settled_look(tmp_path, Cursor())
    assert len(first.changed) == 301 and first.files == 302
    assert "run-0/r0.json" in first.changed and "go/bench.txt" in first.changed
    assert ".hidden/x.json" not in first.changed and "notes.txt" not in first.changed
    assert len(first.cursor.encode()) < 80  # a mark, not a listing
    again = settled_look(tmp_path, first.cursor)
    assert again.changed == {}
    write(tmp_path, "run-1/new.json")
    write(tmp_path, "run-9/deep/newer.json")
    third = settled_look(tmp_path, again.cursor)
    assert set(third.changed) == {"run-1/new.json", "run-9/deep/newer.json"}
    assert settled_look(tmp_path, third.cursor).changed == {}


def test_a_file_still_being_written_is_left_for_a_later_look(tmp_path):
    write(tmp_path, "old.json")
    first = settled_look(tmp_path, Cursor())
    write(tmp_path, "fresh.json")
    seen = look(tmp_path, first.cursor, settle_seconds=5.0)  # changed within the last 5 s
    assert seen.changed == {}
    five_seconds_on = time.time_ns() + 6 * SECOND_NS
    assert set(look(tmp_path, seen.cursor, settle_seconds=5.0, now_ns=five_seconds_on).changed) == {
        "fresh.json"
    }


def test_a_file_moved_in_with_an_old_mtime_is_new(tmp_path):
    """tar -p, cp -p and mv keep a file's mtime; the inode's ctime still moves."""
    incoming, elsewhere = tmp_path / "incoming", tmp_path / "elsewhere"
    write(incoming, "a.json")
    old = write(elsewhere, "extracted.json")
    os.utime(old, (1_000_000_000, 1_000_000_000))  # 2001
    seen = settled_look(incoming, Cursor())
    shutil.move(old, incoming / "extracted.json")
    assert set(settled_look(incoming, seen.cursor).changed) == {"extracted.json"}


def test_a_file_rewritten_in_place_is_new_again(tmp_path):
    path = write(tmp_path, "sub/a.json", "[1]")
    write(tmp_path, "sub/b.json")
    first = settled_look(tmp_path, Cursor())
    write(tmp_path, "sub/a.json", "[2]")  # its folder does not change, its inode does
    again = settled_look(tmp_path, first.cursor)
    assert again.changed == {"sub/a.json": (path.stat().st_size, path.stat().st_ctime_ns)}
    assert again.files == 2
    assert settled_look(tmp_path, again.cursor).changed == {}


def test_a_removed_file_written_again_is_new(tmp_path):
    path = write(tmp_path, "a.json")
    first = settled_look(tmp_path, Cursor())
    path.unlink()
    assert settled_look(tmp_path, first.cursor).changed == {}
    write(tmp_path, "a.json")
    assert set(settled_look(tmp_path, first.cursor).changed) == {"a.json"}


def test_an_earlier_releases_listing_cursor_is_honoured_once(tmp_path):
    kept, changed = write(tmp_path, "kept.json"), write(tmp_path, "changed.json")
    write(tmp_path, "new.json")
    listing = {
        "kept.json": [kept.stat().st_size, kept.stat().st_mtime_ns],
        "changed.json": [changed.stat().st_size, changed.stat().st_mtime_ns - 1],
    }
    old = base64.b64encode(zlib.compress(json.dumps(listing).encode())).decode()
    seen = settled_look(tmp_path, Cursor.decode(old))
    assert set(seen.changed) == {"changed.json", "new.json"}
    assert Cursor.decode(seen.cursor.encode()) == seen.cursor  # the new form from now on


def test_batches_name_exactly_their_files(tmp_path):
    changed = {f"{i}.json": (2, i) for i in range(7)}
    batches = new_batches(tmp_path, changed, 3)
    assert [len(b.paths) for b in batches] == [3, 3, 1]
    assert len({b.run_key for b in batches}) == 3
    assert new_batches(tmp_path, {**changed, "0.json": (2, 99)}, 3)[0].run_key != batches[0].run_key
