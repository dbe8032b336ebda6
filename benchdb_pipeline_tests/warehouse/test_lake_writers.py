"""Many writers on one lake at once, as a team runs it: eight `benchdb ingest` processes
offered overlapping and distinct files, `benchdb ci-integrate`, REST POSTs to a running
server, and readers checking every snapshot they see; then the same with writers killed
(SIGKILL) mid-run and run again. Every file is stored once, no dimension row or id is
doubled, readers only ever see whole commits, and the lake ends as one writer would leave it."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import orjson
import pytest

from benchdb_pipeline.ingest.artifacts import CIContext, find_artifacts, integrate
from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline.samples import write_samples
from benchdb_pipeline.warehouse import checks
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline_tests.api.conftest import start_server, wait_for
from benchdb_pipeline_tests.test_cli import SCRIPT

pytestmark = pytest.mark.slow

WRITERS = 8
API_MODEL = "api-posted-model"

# Every row a file put in the warehouse, per file.
FILE_ROWS = " + ".join(
    f"(SELECT count(*) FROM {t} x WHERE x.source_file_id = f.file_id)"
    for t in (
        "test_runs",
        "performance_results",
        "hardware_compatibility",
        "integration_test_results",
        "web_platform_results",
    )
)

# A reader: one connection, one transaction per look, so each look is one snapshot. Prints
# every file's row count as first seen, and any count that changed later, as JSON. Nothing
# here supersedes, so a commit is whole when each file seen has its final rows at once.
READER = f"""
import json, sys, pathlib
from benchdb_pipeline.warehouse.store import session
stop, seen, looks, changed = pathlib.Path(sys.argv[2]), {{}}, 0, []
with session(sys.argv[1], read_only=True) as con:
    while not stop.exists():
        con.execute("BEGIN TRANSACTION")
        rows = con.execute("SELECT f.file_id, {FILE_ROWS} FROM source_files f").fetchall()
        con.execute("COMMIT")
        looks += 1
        for file_id, count in rows:
            if seen.setdefault(file_id, count) != count:
                changed.append(f"file {{file_id}} had {{seen[file_id]}} rows, then {{count}}")
print(json.dumps({{"looks": looks, "seen": seen, "changed": changed[:20]}}))
"""


def own_file(path: Path, writer: int, rows: int = 40) -> Path:
    """A result file of one writer: models every writer shares (so they race to create the
    same dimension rows), configurations no other file has."""
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "model_name": ("bert-base-uncased", "shared-new-model")[k % 2],
            "hardware_type": "cpu",
            "device_name": "Test CPU 9000",
            "batch_size": 1000 * (writer + 1) + k,
            "precision": "fp32",
            "test_case": path.stem,
            "average_latency_ms": 10.0 + k,
            "throughput_items_per_second": 100.0 + writer,
        }
        for k in range(rows)
    ]
    path.write_bytes(orjson.dumps(records))
    return path


def start_writer(lake: str, files: list[Path]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(SCRIPT), "ingest", "--db", lake, "--workers", "1", "-q", *map(str, files)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own group: a kill takes its parser processes too
    )


def finish(writer: subprocess.Popen) -> None:
    _, stderr = writer.communicate(timeout=600)
    assert writer.returncode in (0, 1), stderr  # 1: the samples hold a file to quarantine


def post_results(server, count: int, failures: list[str]) -> None:
    with server.client() as client:
        for k in range(count):
            answer = client.post(
                "/performance",
                json={
                    "model_name": API_MODEL,
                    "hardware_type": "cpu",
                    "device_name": "Test CPU 9000",
                    "batch_size": k + 1,
                    "precision": "fp32",
                    "throughput": 50.0 + k,
                    "latency_avg": 20.0,
                },
            )
            if answer.status_code not in (201, 202):  # 202: in the spool, in the next batch
                failures.append(answer.text)


def posted(lake: str) -> tuple[int, int]:
    """Results the API stored, and how many distinct ones (each POST has its own batch size)."""
    with session(lake, read_only=True) as con:
        return con.execute(
            "SELECT count(*), count(DISTINCT r.batch_size) FROM performance_results r "
            "JOIN models m USING (model_id) WHERE m.model_name = ?",
            [API_MODEL],
        ).fetchone()


def artifacts(root: Path) -> Path:
    for number, job in enumerate(("job-a", "job-b"), start=100):
        own_file(root / job / f"{job}.json", writer=number)
    (root / "ci_metadata.json").write_text(
        json.dumps({"run_id": 77, "sha": "abc123", "ref": "refs/heads/main", "platform": "github-actions"})
    )
    return root


def settled(lake: str) -> dict:
    """What the lake holds, as comparable values, apart from what the API posted."""
    with session(lake, read_only=True) as con:
        return {
            "files": sorted(
                con.execute(
                    "SELECT path, sha256, status, record_count FROM source_files "
                    "WHERE path NOT LIKE '%incoming/api/%'"
                ).fetchall()
            ),
            "latest": sorted(
                map(
                    repr,
                    con.execute(
                        "SELECT model_name, platform_key, test_case, batch_size, precision, "
                        "average_latency_ms, throughput_items_per_second, result_count "
                        "FROM latest_performance_metrics WHERE model_name <> ?",
                        [API_MODEL],
                    ).fetchall(),
                )
            ),
            "models": sorted(
                con.execute("SELECT model_name FROM models WHERE model_name <> ?", [API_MODEL]).fetchall()
            ),
            "platforms": sorted(con.execute("SELECT platform_key FROM hardware_platforms").fetchall()),
        }


def test_many_writers_and_killed_writers_leave_every_file_once(lake, tmp_path):
    samples = sorted(write_samples(tmp_path / "samples"))
    mine = [own_file(tmp_path / "own" / f"writer_{i}.json", i) for i in range(WRITERS)]
    later = [own_file(tmp_path / "later" / f"file_{i}.json", WRITERS + 20 + i, rows=200) for i in range(16)]
    ci = artifacts(tmp_path / "artifacts")
    stop = tmp_path / "stop-readers"
    readers = [
        subprocess.Popen([sys.executable, "-c", READER, lake, str(stop)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    server = start_server(Path(lake), folder=tmp_path)
    try:
        # Eight writers, each with half the samples (every sample offered four times) and a file
        # of its own; beside them a CI integration and a client posting to the API.
        writers = [start_writer(lake, samples[i % 2 :: 2] + [mine[i]]) for i in range(WRITERS)]
        integration = subprocess.Popen(
            [str(SCRIPT), "ci-integrate", "--artifacts-dir", str(ci), "--db", lake, "-q"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        failures: list[str] = []
        poster = threading.Thread(target=post_results, args=(server, 12, failures))
        poster.start()
        for writer in writers:
            finish(writer)
        _, err = integration.communicate(timeout=600)
        assert integration.returncode == 0, err
        poster.join(600)
        assert not failures
        wait_for(lambda: posted(lake) == (12, 12), what="every posted result stored", timeout=120)

        # Writers killed at random moments of their run, then every one of them run again.
        shares = [later[k::4] for k in range(4)] * 2  # every new file offered twice
        victims = random.Random(17).sample(range(WRITERS), 3)
        writers = [start_writer(lake, share) for share in shares]
        time.sleep(1.0)
        for victim in victims:
            time.sleep(random.uniform(0.2, 1.5))
            os.killpg(writers[victim].pid, signal.SIGKILL)
        for i, writer in enumerate(writers):
            if i in victims:
                writer.communicate(timeout=600)
            else:
                finish(writer)
        killed = [i for i in victims if writers[i].returncode == -signal.SIGKILL]
        assert killed, "every victim had finished before its kill"
        for writer in [start_writer(lake, share) for share in shares]:
            finish(writer)
    finally:
        stop.touch()
        server.stop()
        seen = [json.loads(reader.communicate(timeout=120)[0]) for reader in readers]

    with session(lake, read_only=True) as con:
        final = {
            str(f): n for f, n in con.execute(f"SELECT f.file_id, {FILE_ROWS} FROM source_files f").fetchall()
        }
        for reader in seen:  # each look saw whole commits only: a file's rows all, at once
            assert reader["looks"] > 3 and not reader["changed"], reader
            assert {f: final.get(f) for f in reader["seen"]} == reader["seen"]
        failed = [c.description for c in (check(con) for check in checks.ALL_CHECKS) if not c.passed]
        assert failed == []  # natural keys once, ids unique, references whole, the ledger right
        assert (
            con.execute("SELECT count(*) FROM source_files GROUP BY path HAVING count(*) > 1").fetchall()
            == []
        )

    # One writer, one file, given the same files in turn, ends the same way.
    single = tmp_path / "one.duckdb"
    ingest(single, [*samples, *mine, *later], workers=1)
    integrate(single, find_artifacts(ci), CIContext.resolve(ci))
    assert posted(lake) == (12, 12)  # none doubled by the runs after
    assert settled(lake) == settled(str(single))
