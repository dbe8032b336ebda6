"""A real server: `benchdb serve` in a subprocess on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from benchdb_pipeline.warehouse.local_postgres import free_port

SCRIPT = Path(sys.executable).parent / "benchdb"
TOKEN = "test-token"


@dataclass
class Server:
    url: str
    db: Path
    process: subprocess.Popen
    log: Path

    def client(self, token: str | None = TOKEN, **options) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **options)

    def stop(self) -> str:
        """Stop as an operator would (Ctrl-C); returns what it logged."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return self.log.read_text()


def start_server(
    db: Path, *args: str, tokens: str = TOKEN, env: dict | None = None, folder: Path | None = None
) -> Server:
    """The server of ``db``, run in ``folder`` (default: the file's), where its log goes."""
    port = free_port()
    folder = folder or db.parent
    log = folder / f"server-{port}.log"  # a file, not a pipe: a full pipe would block the server
    environment = {**os.environ, "BENCHDB_API_TOKENS": tokens, "BENCHDB_LOCK_TIMEOUT": "10", **(env or {})}
    process = subprocess.Popen(
        [str(SCRIPT), "serve", "--port", str(port), "--db", str(db), "--snapshot-interval", "0.2", *args],
        env=environment,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=log.open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            answer = httpx.get(f"{url}/health", timeout=1)
            if answer.status_code == 200 and answer.json()["status"] == "ok":
                return Server(url, db, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()  # never left running behind a failed start
    raise RuntimeError(f"server did not start in 60 s: {log.read_text()[-2000:]}")


@pytest.fixture
def server(tmp_path):
    running = start_server(tmp_path / "w.duckdb")
    yield running
    running.stop()


def wait_for(predicate, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def hold_database(db: Path, seconds: float) -> subprocess.Popen:
    """Another process holding the warehouse's write lock (as an ingestion run does)."""
    code = (
        "import duckdb, sys, time\n"
        "deadline = time.monotonic() + 60\n"
        "while True:\n"
        "    try:\n"
        "        con = duckdb.connect(sys.argv[1]); break\n"
        "    except duckdb.IOException:\n"
        "        if time.monotonic() > deadline: raise\n"
        "        time.sleep(0.01)\n"
        "print('held', flush=True); time.sleep(float(sys.argv[2])); con.close()"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(db), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process
