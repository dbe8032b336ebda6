"""`make dev` stops, with every process it started, on Ctrl-C and on SIGTERM, also when it
was started in the background (SIGINT ignored on entry, as a shell's `&` or CI leaves it)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from benchdb_pipeline.warehouse.local_postgres import free_port
from benchdb_pipeline_tests.conftest import REPO

pytestmark = pytest.mark.slow


def _group(pgid: int) -> list[int]:
    """The live processes of a process group (a zombie has exited: its parent will reap it)."""
    out = subprocess.run(["ps", "-o", "pid=,stat=", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [int(pid) for pid, stat in (line.split() for line in out.splitlines()) if not stat.startswith("Z")]


def _signals(pids: list[int]) -> str:
    """Each process's blocked, ignored and caught signals (masks from /proc), to tell why a
    signal did nothing."""
    lines = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
            command = (
                Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")[:80].decode(errors="replace")
            )
        except OSError:
            continue
        masks = " ".join(
            line.replace("\t", "") for line in status if line.startswith(("SigBlk", "SigIgn", "SigCgt"))
        )
        lines.append(f"{pid} {command}: {masks}")
    return "\n".join(lines)


def _started_in_the_background() -> None:
    """The child's signals as a shell's `&` leaves them: SIGINT ignored, SIGTERM as it is by
    default and nothing blocked, whatever the test process (a pytest-xdist worker that ran
    other tests) has done to its own."""
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _wait_until_up(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
            return
        except OSError:
            time.sleep(1)
    raise AssertionError("the Dagster UI did not answer within 120 s")


@pytest.mark.parametrize("stop", ["SIGTERM to make", "Ctrl-C to the group"])
def test_make_dev_stops_with_its_children(tmp_path, stop):
    port = free_port()
    env = dict(os.environ, DAGSTER_HOME=str(tmp_path / "dagster_home"), BENCHDB_DB=str(tmp_path / "w.duckdb"))
    env["BENCHDB_INCOMING"] = str(tmp_path / "incoming")
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "dev", f"DEV_PORT={port}"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_started_in_the_background,
        )
    try:
        _wait_until_up(port, process, log)
        assert len(_group(process.pid)) >= 4  # make, dagster dev, the webserver, the daemon
        if stop == "SIGTERM to make":
            process.send_signal(signal.SIGTERM)
        else:
            os.killpg(process.pid, signal.SIGINT)
        deadline = time.monotonic() + 30
        while _group(process.pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = _group(process.pid)
        assert left == [], f"still running 30 s after {stop}:\n{_signals(left)}\n{log.read_text()[-3000:]}"
        process.wait(timeout=5)
        assert "Dagster services shut down" in log.read_text()
    finally:
        if _group(process.pid):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
