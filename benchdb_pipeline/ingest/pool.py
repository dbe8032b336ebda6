"""The process pool's fork server: one place that configures it, light enough to import first.

Parsing pools start their processes from a fork server (safe from threaded parents such as
a Dagster run), which imports the parsing modules once. Started early, by the `benchdb`
command before it imports its own modules, it has them imported by the time a bulk ingest
asks for its pool (~0.5 s sooner to the first parsed file)."""

from __future__ import annotations

import multiprocessing
import os
import sys
from multiprocessing import forkserver
from multiprocessing.context import ForkServerContext

# Below this many files a process pool costs more than it saves.
POOL_THRESHOLD = 400
# pandas too: pyarrow imports it on its first conversion to numpy, 0.4 s in every worker otherwise.
_PRELOAD = ["benchdb_pipeline.ingest.pipeline", "pandas"]


def context() -> ForkServerContext:
    """The fork server context the parsing pools start their processes from."""
    chosen = multiprocessing.get_context("forkserver")
    chosen.set_forkserver_preload(_PRELOAD)
    return chosen


def start() -> None:
    """Start the fork server now, in the background; a pool made later uses it. The server
    (and every process it forks) does not hold the command's standard output: a pipe reading
    it ends when the command does, not when the server has shut down after it (~0.2 s)."""
    context()
    sys.stdout.flush()
    kept, null = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        forkserver.ensure_running()
    finally:
        os.dup2(kept, 1)
        os.close(kept)
        os.close(null)
