"""The `benchdb` command's entry point, light to import. An ingest of a folder, which may hold
enough files for a pool of parsing processes, starts the pool's fork server first, so that
it imports the parsing modules while this process imports the command's (see ``ingest.pool``)."""

from __future__ import annotations

import os
import sys

from benchdb_pipeline.ingest import pool

# The commands that ingest folders.
_BULK = frozenset({"ingest", "ci-integrate"})


def main() -> None:
    args = sys.argv[1:]
    command = next((arg for arg in args if not arg.startswith("-")), None)
    if command in _BULK and (os.cpu_count() or 1) > 1 and any(os.path.isdir(arg) for arg in args):
        pool.start()
    from benchdb_pipeline.cli import main as command_line

    command_line()
