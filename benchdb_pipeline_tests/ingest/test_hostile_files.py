"""No file stops an ingest: what cannot be read is reported with its reason, what is wrong
is quarantined, and every other file goes in (exit status 1 then, as the README says)."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path

import pytest

from benchdb_pipeline.ingest.pipeline import ingest
from benchdb_pipeline_tests.conftest import query

BENCHDB = Path(sys.executable).parent / "benchdb"
NOBODY = 65534


def _rows(throughput: float, **extra: object) -> str:
    return json.dumps(
        [{"model_name": "bert-base-uncased", "hardware_type": "cpu", "throughput": throughput, **extra}]
    )


def _deep(levels: int) -> dict:
    value: dict = {"leaf": 1}
    for _ in range(levels):
        value = {"k": value}
    return value


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    folder, outside = tmp_path / "in", tmp_path / "outside"
    folder.mkdir()
    outside.mkdir()
    (folder / "good.json").write_text(_rows(1.0))
    (folder / "UPPER.JSON").write_text(_rows(2.0))  # extensions match in any case
    (folder / os.fsdecode(b"caf\xe9.json")).write_text(_rows(3.0))  # a Latin-1 file name
    (outside / "elsewhere.json").write_text(_rows(4.0))
    (folder / "dangling.json").symlink_to(tmp_path / "nothing.json")
    (folder / "loop.json").symlink_to(folder / "loop.json")
    (folder / "escape.json").symlink_to(outside / "elsewhere.json")
    (folder / "zero.json").symlink_to("/dev/zero")
    (folder / "linked").symlink_to(outside, target_is_directory=True)
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.json").write_text(_rows(7.0))
    (folder / "alias").symlink_to(folder / "sub", target_is_directory=True)  # inside: read once
    os.mkfifo(folder / "fifo.json")
    # Valid JSON that orjson reads (under 1024 levels) but cannot write back (over 254).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(5000)
    try:
        (folder / "deep.json").write_text(_rows(5.0, metrics=_deep(600)))
    finally:
        sys.setrecursionlimit(limit)
    (folder / "far_future.json").write_text(_rows(6.0, timestamp=1e20))
    return folder


def test_every_file_that_can_go_in_does_and_the_rest_say_why(hostile, tmp_path):
    db = tmp_path / "w.duckdb"
    done = subprocess.run(
        [str(BENCHDB), "ingest", "-q", str(hostile), "/dev/null", "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr  # some input refused: 1, not a crash (2)
    said = done.stdout
    for name, reason in (
        ("dangling.json", "a dangling symlink"),
        ("loop.json", "a symlink that loops"),
        ("escape.json", "a symlink leading out of"),
        ("zero.json", "a symlink leading out of"),
        ("linked", "a symlinked folder leading out of"),
        ("fifo.json", "not a regular file"),
        ("/dev/null", "not a regular file"),
    ):
        assert any(name in line and reason in line for line in said.splitlines()), (name, said)
    assert "deep.json: record $[0]: field 'metrics'" in said and "nested too deeply" in said
    assert "far_future.json: record $[0]: field 'timestamp'" in said and "outside 1990–2100" in said
    stored = {row[0] for row in query(db, "SELECT throughput_items_per_second FROM performance_results")}
    assert stored == {1.0, 2.0, 3.0, 7.0}
    assert "alias" not in said
    paths = {Path(p).name for (p,) in query(db, "SELECT path FROM source_files WHERE status = 'ingested'")}
    assert paths == {"good.json", "UPPER.JSON", "caf\\xe9.json", "inner.json"}  # printable text


def test_a_file_over_the_size_cap_is_not_read(tmp_path, monkeypatch, db):
    (tmp_path / "big.json").write_text(_rows(1.0, padding="x" * 4096))
    (tmp_path / "small.json").write_text(_rows(2.0))
    monkeypatch.setenv("BENCHDB_MAX_FILE_MB", "0.002")  # about 2 kB
    report = ingest(db, [tmp_path], workers=1)
    [refused] = report.quarantined
    assert refused.status == "unreadable" and "BENCHDB_MAX_FILE_MB" in refused.error
    assert report.count("ingested") == 1


def _ingest_as_nobody(folder: Path, db: Path) -> list[tuple[str, str, str | None]]:
    """Run the ingest with an unprivileged user's rights (root reads everything): in a
    forked child that drops to nobody, so no interpreter needs to be found on disk."""
    # What the ingest imports on first use is imported now, as root: the interpreter's own
    # files may be closed to nobody (installed under a home folder of mode 700).
    import pandas  # noqa: F401 — pyarrow imports it on its first conversion

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover — the child reports through the pipe
        try:
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            report = ingest(db, [folder], workers=1)
            answer: object = [(Path(o.path).name, o.status, o.error) for o in report.outcomes]
        except BaseException:  # said to the parent, not lost with the child
            answer = traceback.format_exc()
        try:
            os.write(write, pickle.dumps(answer))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    os.waitpid(child, 0)
    answer = pickle.loads(data)
    if isinstance(answer, str):
        pytest.fail(f"the ingest as nobody failed:\n{answer}")
    return answer


def test_unreadable_files_and_folders_are_reported_to_an_unprivileged_user():
    if not hasattr(os, "fork"):
        pytest.skip("needs fork")
    base = Path(tempfile.mkdtemp(prefix="benchdb-perm-", dir="/tmp"))
    try:
        base.chmod(0o777)
        folder = base / "in"
        (folder / "locked").mkdir(parents=True)
        (folder / "good.json").write_text(_rows(1.0))
        (folder / "secret.json").write_text(_rows(2.0))
        (folder / "locked" / "inside.json").write_text(_rows(3.0))
        (folder / "secret.json").chmod(0o000)
        (folder / "locked").chmod(0o000)
        if os.geteuid() == 0:
            outcomes = _ingest_as_nobody(folder, base / "w.duckdb")
        else:
            report = ingest(base / "w.duckdb", [folder], workers=1)
            outcomes = [(Path(o.path).name, o.status, o.error) for o in report.outcomes]
        by_name = {name: (status, error) for name, status, error in outcomes}
        assert by_name["good.json"] == ("ingested", None)
        assert by_name["secret.json"][0] == "unreadable" and "Permission denied" in by_name["secret.json"][1]
        assert by_name["locked"][0] == "unreadable" and "folder cannot be listed" in by_name["locked"][1]
    finally:
        (base / "in" / "locked").chmod(0o755)
        shutil.rmtree(base)
