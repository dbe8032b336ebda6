"""The API's group-commit writer, on a real DuckDB file and spool: one record at a time is
stored at once; records arriving together are stored in few commits, and meanwhile the
writer says it is busy (the server answers 202 instead of holding the request)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from benchdb_pipeline.api.submit import spool
from benchdb_pipeline.api.writer import STORED, Writer
from benchdb_pipeline_tests.conftest import scalar

RECORD = {"model_name": "gpt2", "hardware_type": "cpu", "batch_size": 1, "throughput": 950.5}


def test_records_arriving_together_share_commits_and_the_writer_stays_busy_meanwhile(tmp_path: Path):
    db, folder = tmp_path / "w.duckdb", tmp_path / "spool"
    writer = Writer(db, threading.Lock(), pace=2.0)
    writer.start()
    try:
        first = spool(folder, "performance", {**RECORD, "test_case": "alone"})
        assert writer.submit(first.path, first.parsed).result(timeout=60) == STORED
        time.sleep(0.1)
        assert not writer.busy  # a lone record: no pacing, the next one is stored at once too

        submissions = [spool(folder, "performance", {**RECORD, "test_case": f"t{i}"}) for i in range(20)]
        before = writer.commits
        futures = [writer.submit(s.path, s.parsed) for s in submissions]
        assert {f.result(timeout=60) for f in futures} == {STORED}
        assert writer.busy  # paced: what arrives now waits in the spool for the next batch
        assert writer.commits - before <= 2
        deadline = time.monotonic() + 10
        while writer.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not writer.busy
    finally:
        writer.stop()
    assert scalar(db, "SELECT count(*) FROM performance_results") == 21


def test_records_handed_over_while_a_batch_is_written_are_stored_when_the_writer_stops(tmp_path: Path):
    """A stop set while a batch is being written ends the loop before the records handed
    over meanwhile are taken (their requests answered 202): the last attempt stores them too."""
    db, folder = tmp_path / "w.duckdb", tmp_path / "spool"
    lock = threading.Lock()
    writer = Writer(db, lock)
    writer.start()
    lock.acquire()  # the writer's next batch waits for the database
    try:
        first = spool(folder, "performance", {**RECORD, "test_case": "first"})
        stored = writer.submit(first.path, first.parsed)
        deadline = time.monotonic() + 10
        while not writer.busy and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # past the batch's linger: the writer waits for the lock with one record
        later = [spool(folder, "performance", {**RECORD, "test_case": f"later-{i}"}) for i in range(2)]
        waiting = [writer.submit(s.path, s.parsed) for s in later]
        stopping = threading.Thread(target=writer.stop)
        stopping.start()
        time.sleep(0.2)
    finally:
        lock.release()
    stopping.join(60)
    assert stored.result(timeout=0) == STORED
    assert [f.result(timeout=0) for f in waiting] == [STORED, STORED]
    assert scalar(db, "SELECT count(*) FROM performance_results") == 3
