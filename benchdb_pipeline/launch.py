"""The `benchdb` command's entry point, light to import. An ingest of a folder that holds
enough files for a pool of parsing processes starts the pool's fork server first, so that it
imports the parsing modules while this process imports the command's (see ``ingest.pool``)."""

from __future__ import annotations

import gc
import os
import sys

from benchdb_pipeline.ingest import pool

# The commands that ingest folders.
_BULK = frozenset({"ingest", "ci-integrate"})


def main() -> None:
    args = sys.argv[1:]
    command = next((arg for arg in args if not arg.startswith("-")), None)
    if command in _BULK and (os.cpu_count() or 1) > 1 and _holds(args, pool.POOL_THRESHOLD):
        pool.start()
    from benchdb_pipeline.cli import main as command_line

    gc.freeze()  # what is imported is never garbage: the collections a bulk ingest sets off skip it
    command_line()


def _holds(args: list[str], files: int) -> bool:
    """Whether the folders among ``args`` hold at least ``files`` files (not hidden), counted
    until there are that many: a glance, not discovery's walk."""
    folders = [arg for arg in args if os.path.isdir(arg)]
    while folders and files > 0:
        try:
            entries = list(os.scandir(folders.pop()))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                folders.append(entry.path)
            else:
                files -= 1
    return files <= 0
