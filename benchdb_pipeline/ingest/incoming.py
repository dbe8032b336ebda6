"""Watching an incoming folder without opening the database.

The watcher's memory (the sensor's cursor) is what it has seen: each file's size and
modification time, compressed. A file is new when its path is unseen or its signature
changed; a file modified within the last ``settle_seconds`` is left for the next look, so
a half-written file is not picked up.
"""

from __future__ import annotations

import base64
import hashlib
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from benchdb_pipeline.ingest.discovery import is_result_file

Signature = tuple[int, int]  # (size in bytes, mtime in ns)


def scan(root: Path, *, settle_seconds: float = 0.2, now: float | None = None) -> dict[str, Signature]:
    """Settled result files under ``root``: relative path → (size, mtime_ns)."""
    now = time.time() if now is None else now
    found: dict[str, Signature] = {}
    if not root.is_dir():
        return found
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if not is_result_file(name):
                continue
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:
                continue
            if now - stat.st_mtime < settle_seconds:
                continue
            found[os.path.relpath(path, root)] = (stat.st_size, stat.st_mtime_ns)
    return found


def encode_cursor(seen: dict[str, Signature]) -> str:
    return base64.b64encode(zlib.compress(orjson.dumps(seen), 6)).decode()


def decode_cursor(cursor: str | None) -> dict[str, Signature]:
    if not cursor:
        return {}
    return {k: tuple(v) for k, v in orjson.loads(zlib.decompress(base64.b64decode(cursor))).items()}


@dataclass(frozen=True)
class Batch:
    """New or changed files to ingest in one run, and a key that names exactly them."""

    paths: list[str]
    run_key: str


def new_batches(
    root: Path, seen: dict[str, Signature], current: dict[str, Signature], max_files: int
) -> list[Batch]:
    """Split the new or changed files into batches of at most ``max_files``."""
    changed = sorted(p for p, signature in current.items() if seen.get(p) != signature)
    batches = []
    for start in range(0, len(changed), max_files):
        part: Sequence[str] = changed[start : start + max_files]
        digest = hashlib.sha256()
        for relative in part:
            digest.update(f"{relative}\0{current[relative]}\n".encode())
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
