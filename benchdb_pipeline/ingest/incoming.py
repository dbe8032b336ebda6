"""Watching an incoming folder without opening the database.

The watcher's memory (the sensor's cursor) is a high-water mark, not a listing: a file is new
when its inode changed (``st_ctime``) after the mark. Creating, writing, renaming or linking a
file sets its ctime to the time of the change, and no user tool can set it back (``tar -p``,
``cp -p`` and ``touch -d`` set mtime only), so a file moved in with an old mtime is still new,
and a file rewritten in place is new again. A file changed within the last ``settle_seconds``
is left for the next look (a half-written file is not picked up), and the next mark is the
time of this look less that margin, so each change is reported exactly once. The cursor stays
a few dozen bytes however many files the folder holds.

Every look reads every file's inode: ~3 µs a file here, so 0.3 s for 100,000 files. Reading
only the folders whose own ctime moved would find new files for less, but not a file
rewritten in place, and a mark that moves past such a file loses it for good. Clocks: the
mark compares the file system's times with this machine's, so a network file system's server
must keep time with it to within the settle margin.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchdb_pipeline.ingest.discovery import is_result_file, is_text_candidate, is_text_result

Signature = tuple[int, int]  # (size in bytes, ctime in ns): one state of a file
SECOND_NS = 1_000_000_000


@dataclass(frozen=True)
class Cursor:
    """What the watcher remembers between looks."""

    mark_ns: int = 0  # files whose inode changed after this are new; 0: every file is
    # An earlier release's listing cursor (path -> (size, mtime_ns)): the files it names,
    # unchanged, are not new on the first look after an upgrade.
    listing: dict[str, tuple[int, int]] | None = None

    def encode(self) -> str:
        return orjson.dumps({"mark_ns": self.mark_ns}).decode()

    @classmethod
    def decode(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        if text.startswith("{"):
            return cls(int(orjson.loads(text)["mark_ns"]))
        old = orjson.loads(zlib.decompress(base64.b64decode(text)))  # base64 of zlib of JSON
        return cls(listing={path: (int(v[0]), int(v[1])) for path, v in old.items()})


@dataclass(frozen=True)
class Look:
    """One look at the folder: the settled files that changed since the cursor's mark, and
    the cursor that the next look starts from."""

    changed: dict[str, Signature]  # relative path -> signature
    cursor: Cursor
    files: int  # result files (and text files that may be) under the folder, settled or not


def look(root: Path, cursor: Cursor, *, settle_seconds: float = 0.2, now_ns: int | None = None) -> Look:
    """Settled result files under ``root`` changed since ``cursor`` (see the module)."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    settled_ns = now_ns - int(settle_seconds * SECOND_NS)
    changed: dict[str, Signature] = {}
    files = 0
    if root.is_dir():
        for entry in _result_files(str(root)):
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            files += 1
            if not cursor.mark_ns < stat.st_ctime_ns <= settled_ns:
                continue  # seen at an earlier look, or still settling
            relative = os.path.relpath(entry.path, root)
            if cursor.listing and cursor.listing.get(relative) == (stat.st_size, stat.st_mtime_ns):
                continue
            if is_text_candidate(entry.name) and not is_text_result(entry.path):
                continue  # a text file of no known format (read once it is new, not every tick)
            changed[relative] = (stat.st_size, stat.st_ctime_ns)
    return Look(changed, Cursor(max(settled_ns, cursor.mark_ns)), files)


def _result_files(folder: str) -> Iterator[os.DirEntry[str]]:
    """Result files under ``folder``, hidden folders left out."""
    try:
        with os.scandir(folder) as entries:
            listed = list(entries)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return
    for entry in listed:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            yield from _result_files(entry.path)
        elif is_result_file(entry.name) or is_text_candidate(entry.name):
            yield entry


@dataclass(frozen=True)
class Batch:
    """New or changed files to ingest in one run, and a key that names exactly them."""

    paths: list[str]
    run_key: str


def new_batches(root: Path, changed: dict[str, Signature], max_files: int) -> list[Batch]:
    """Split the changed files into batches of at most ``max_files``."""
    ordered = sorted(changed)
    batches = []
    for start in range(0, len(ordered), max_files):
        part: Sequence[str] = ordered[start : start + max_files]
        digest = hashlib.sha256()
        for relative in part:
            digest.update(f"{relative}\0{changed[relative]}\n".encode())
        batches.append(Batch([str((root / p).resolve()) for p in part], digest.hexdigest()[:32]))
    return batches


COMPLETE_MARKER = ".complete"


def complete_folders(
    root: Path, *, quiet_seconds: float | None = None, now: float | None = None
) -> dict[str, str]:
    """Artifacts folders under ``root`` that are whole: name → signature of their contents.

    A folder is whole when it holds a ``.complete`` marker (the uploader's last act) or when
    nothing in it changed for ``quiet_seconds`` (``BENCHDB_ARTIFACTS_QUIET``, default 120).
    The signature changes with any file's path, size or time, so a run key made from it
    names exactly one state of the folder.
    """
    quiet = (
        float(os.environ.get("BENCHDB_ARTIFACTS_QUIET", "120")) if quiet_seconds is None else quiet_seconds
    )
    now = time.time() if now is None else now
    found: dict[str, str] = {}
    if not root.is_dir():
        return found
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        digest, newest = hashlib.sha256(), 0.0
        for parent, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(parent, name)
                try:
                    stat = os.stat(path)
                except FileNotFoundError:
                    continue
                newest = max(newest, stat.st_mtime)
                digest.update(
                    f"{os.path.relpath(path, folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode()
                )
        marked = (folder / COMPLETE_MARKER).is_file()
        if newest and (marked or now - newest >= quiet):
            found[folder.name] = digest.hexdigest()[:32]
    return found
