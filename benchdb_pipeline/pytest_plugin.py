"""``pytest --benchdb-store DIR_OR_URL``: keep this run's pytest-benchmark results.

The old system's auto-store. The results are the JSON that ``--benchmark-json`` writes, so
the one pytest-benchmark adapter reads them wherever they go:

- a folder (the incoming folder, say): a new file in it, for the sensor or ``benchdb ingest``;
- a ``*.duckdb`` warehouse: ingested at once, with the file kept in the warehouse's spool;
- an ``http(s)://`` URL of ``benchdb serve``: POSTed to ``/results`` with the bearer token
  from ``--benchdb-token`` or ``BENCHDB_API_TOKEN``.

When the results cannot be stored the run's exit status is 3, so CI notices.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("benchdb", "benchdb: store benchmark results")
    group.addoption(
        "--benchdb-store",
        metavar="DIR_OR_URL",
        default=None,
        help="Store pytest-benchmark results in a folder, a *.duckdb warehouse or a benchdb server URL.",
    )
    group.addoption(
        "--benchdb-token",
        metavar="TOKEN",
        default=None,
        help="Bearer token for a server URL [default: $BENCHDB_API_TOKEN].",
    )


def benchmark_json(config: pytest.Config) -> dict | None:
    """What ``--benchmark-json`` would write for this session (None: no benchmarks ran)."""
    session = getattr(config, "_benchmarksession", None)
    if session is None or not session.benchmarks:
        return None
    hook = config.hook
    commit_info = hook.pytest_benchmark_generate_commit_info(config=config)
    hook.pytest_benchmark_update_commit_info(config=config, commit_info=commit_info)
    output = hook.pytest_benchmark_generate_json(
        config=config,
        benchmarks=session.benchmarks,
        include_data=True,
        machine_info=session.get_machine_info(),
        commit_info=commit_info,
    )
    hook.pytest_benchmark_update_json(config=config, benchmarks=session.benchmarks, output_json=output)
    return output


def store(target: str, data: bytes, token: str | None) -> str:
    """Store the JSON at ``target``; returns what was done, raises OSError when it failed."""
    if target.startswith(("http://", "https://")):
        request = urllib.request.Request(
            target.rstrip("/") + "/results",
            data=data,
            method="POST",
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {token}"} if token else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return f"sent to {target}: {answer.status} {answer.read().decode()[:200]}"
        except urllib.error.HTTPError as exc:
            raise OSError(f"{target} refused the results: {exc.code} {exc.read().decode()[:500]}") from None
    if target.endswith(".duckdb"):
        from benchdb_pipeline.api.submit import InvalidRecord, open_warehouse, spool_file, store_now

        db, spool_dir = open_warehouse(target, None)
        try:
            submission = spool_file(spool_dir, data)
        except InvalidRecord as exc:
            raise OSError(f"the results were refused: {exc}") from None
        return f"{store_now(db, submission)} in {target} ({submission.path.name})"
    folder = Path(target)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = folder / f"pytest_benchmark_{stamp}_{os.getpid()}.json"
    partial = path.with_name(f".{path.name}.tmp")
    partial.write_bytes(data)
    partial.replace(path)
    return f"written to {path}"


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    target = config.getoption("benchdb_store")
    if not target:
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    def say(text: str, *, red: bool = False) -> None:
        """To the terminal reporter (red for failures), or to stderr without one (-p no:terminal)."""
        if reporter is not None:
            reporter.write_line(text, red=red)
        else:
            print(text, file=sys.stderr)

    if not config.pluginmanager.hasplugin("benchmark"):
        say("benchdb: --benchdb-store needs pytest-benchmark, which is not installed", red=True)
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
        return
    output = benchmark_json(config)
    if output is None:
        say("benchdb: no benchmarks ran; nothing stored")
        return
    import orjson

    token = config.getoption("benchdb_token") or os.environ.get("BENCHDB_API_TOKEN")
    try:
        say(
            f"benchdb: {len(output['benchmarks'])} benchmark results "
            f"{store(target, orjson.dumps(output, default=str), token)}"
        )
    except Exception as exc:  # noqa: BLE001 — any failure to store must show and fail the run
        say(f"benchdb: could not store the benchmark results: {exc}", red=True)
        session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
