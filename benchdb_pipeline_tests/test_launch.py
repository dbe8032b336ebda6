"""The command's entry point: the fork server is started first only for folders a pool parses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


@pytest.mark.skipif(not Path("/proc/self/fd/1").exists(), reason="reads /proc (Linux)")
def test_the_fork_server_started_first_does_not_hold_the_commands_output():
    """A pipe reading the command ends with it, not when the server shuts down after it."""
    script = (
        "import os\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from benchdb_pipeline.ingest import pool\n"
        "pool.start()\n"
        "with ProcessPoolExecutor(1, mp_context=pool.context()) as executor:\n"
        "    worker = executor.submit(os.readlink, '/proc/self/fd/1').result()\n"
        "print(worker, os.readlink('/proc/self/fd/1'))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    worker, command = done.stdout.split()
    assert worker == os.devnull
    assert command.startswith("pipe:")
