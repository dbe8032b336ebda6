"""The incoming-folder sensor: latency from a dropped file to its rows, and a tick's cost
in a large folder.

    python benchmarks/sensor_latency_bench.py [--files 8]
    python benchmarks/sensor_latency_bench.py --scale 100000

Latency: starts `dagster dev` on this project with a fresh instance
(data/dagster_home/dagster.yaml), a fresh warehouse and incoming folder, waits for a warm-up
file to arrive, then drops files one at a time (atomically: write, then rename) and polls the
warehouse read-only until each file's ledger row is there. Reports each latency, the median
and the maximum.

Scale: fills a folder with N result files (1,000 a subfolder) and evaluates the real sensor
(``build_sensor_context``) on it: the first tick, quiet ticks, and a tick after 100 new files
and one rewritten in place (which must find exactly those), giving CPU seconds per tick and
the cursor's size. Beside it, in the same run: the floor (listing the folder's names, no
inode read) and the peer (the earlier design: a listing of every file's size and mtime as the
cursor, compressed).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import duckdb
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drop(folder: Path, name: str, throughput: float) -> Path:
    target = folder / name
    partial = folder / f"{name}.tmp"
    partial.write_text(
        json.dumps(
            [
                {
                    "model": "latency-probe",
                    "hardware": "cpu",
                    "batch_size": 1,
                    "throughput": throughput,
                    "is_simulated": True,
                }
            ]
        )
    )
    partial.rename(target)
    return target


def arrived(db: Path, path: Path) -> bool:
    if not db.exists():
        return False
    try:
        con = duckdb.connect(str(db), read_only=True)
    except duckdb.Error:
        return False  # the run holds the write lock right now
    try:
        return (
            con.execute(
                "SELECT count(*) FROM source_files WHERE path = ? AND status = 'ingested'",
                [str(path.resolve())],
            ).fetchone()[0]
            > 0
        )
    except duckdb.Error:
        return False
    finally:
        con.close()


def wait_for(db: Path, path: Path, timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if arrived(db, path):
            return time.perf_counter() - start
        time.sleep(0.1)
    raise TimeoutError(f"{path} not in the warehouse after {timeout:.0f} s")


def fill(folder: Path, files: int) -> None:
    for n in range(files):
        sub = folder / f"run-{n // 1000:05d}"
        if n % 1000 == 0:
            sub.mkdir(parents=True)
        (sub / f"result-{n % 1000:04d}.json").write_text("[]")


def cpu(work) -> tuple[float, object]:
    start = time.process_time()
    result = work()
    return time.process_time() - start, result


def listing_tick(root: Path, cursor: str | None) -> str:
    """The earlier sensor's work per tick: every file's (size, mtime) as its cursor."""
    seen = orjson.loads(zlib.decompress(base64.b64decode(cursor))) if cursor else {}
    current = {}
    for folder, _dirs, names in os.walk(root):
        for name in names:
            stat = os.stat(os.path.join(folder, name))
            current[os.path.relpath(os.path.join(folder, name), root)] = [stat.st_size, stat.st_mtime_ns]
    sorted(p for p, sig in current.items() if seen.get(p) != sig)
    return base64.b64encode(zlib.compress(orjson.dumps(current), 6)).decode()


def names_only(root: Path) -> int:
    return sum(len(names) for _folder, _dirs, names in os.walk(root))


def scale(files: int) -> None:
    import dagster as dg

    work = Path(tempfile.mkdtemp(prefix="benchdb-sensor-scale-"))
    incoming = work / "incoming"
    os.environ.update(BENCHDB_INCOMING=str(incoming), BENCHDB_DB=str(work / "never-opened.duckdb"))
    from benchdb_pipeline.definitions import defs
    from benchdb_pipeline.defs.sensors import incoming_files_sensor

    def tick(instance, cursor):
        context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
        result = incoming_files_sensor(context)
        paths = [
            p
            for r in (result if isinstance(result, list) else [])
            for p in r.run_config["ops"]["raw_result_files"]["config"]["paths"]
        ]
        return paths, context.cursor

    try:
        fill(incoming, files)
        time.sleep(0.3)  # past the settle margin
        rows = []
        with dg.instance_for_test() as instance:
            took, (paths, cursor) = cpu(lambda: tick(instance, None))
            assert len(paths) == files, (len(paths), files)
            rows.append(("sensor: first tick (all new)", took, len(cursor)))
            quiet = [cpu(lambda: tick(instance, cursor)) for _ in range(3)]
            assert all(not paths for _t, (paths, _c) in quiet)
            rows.append(("sensor: quiet tick", statistics.median(t for t, _r in quiet), len(quiet[-1][1][1])))
            cursor = quiet[-1][1][1]
            extra = incoming / "new"
            extra.mkdir()
            for i in range(100):
                (extra / f"n{i}.json").write_text("[]")
            (incoming / "run-00000" / "result-0000.json").write_text("[1]")  # in place
            time.sleep(0.3)
            took, (paths, cursor) = cpu(lambda: tick(instance, cursor))
            assert len(paths) == 101, len(paths)
            rows.append(("sensor: 100 new + 1 rewritten", took, len(cursor)))
            assert not tick(instance, cursor)[0]  # each found once
        peer_cursor = listing_tick(incoming, None)
        peer = [cpu(lambda: listing_tick(incoming, peer_cursor)) for _ in range(3)]
        rows.append(
            ("peer: listing cursor, quiet tick", statistics.median(t for t, _r in peer), len(peer_cursor))
        )
        floor = [cpu(lambda: names_only(incoming))[0] for _ in range(3)]
        rows.append(("floor: list names only", statistics.median(floor), 0))
        print(f"{files:,} files in {files // 1000 + 1} folders")
        print(f"{'':36} {'CPU s':>7} {'cursor bytes':>13}")
        for label, seconds, size in rows:
            print(f"{label:36} {seconds:7.3f} {size:13,}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--scale", type=int, metavar="N", help="measure a tick over N files instead")
    args = parser.parse_args()
    if args.scale:
        scale(args.scale)
        return
    work = Path(tempfile.mkdtemp(prefix="benchdb-sensor-"))
    home, incoming, db = work / "home", work / "incoming", work / "warehouse.duckdb"
    home.mkdir()
    incoming.mkdir()
    shutil.copy(REPO / "data" / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "DAGSTER_HOME": str(home), "BENCHDB_INCOMING": str(incoming), "BENCHDB_DB": str(db)}
    dagster = Path(sys.executable).parent / "dagster"
    server = subprocess.Popen(
        [str(dagster), "dev", "-p", str(free_port())],
        cwd=REPO,
        env=env,
        stdout=open(work / "dagster.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        started = time.perf_counter()
        wait_for(db, drop(incoming, "warmup.json", 1.0), timeout=180)
        print(f"dagster dev up and first file ingested after {time.perf_counter() - started:.1f} s")
        latencies = []
        for i in range(args.files):
            time.sleep(1.3 * (i % 4))  # land at different points of the sensor's 5 s loop
            latency = wait_for(db, drop(incoming, f"probe_{i}.json", 2.0 + i), timeout=60)
            latencies.append(latency)
            print(f"file {i}: in the warehouse after {latency:.1f} s")
        print(
            f"latency over {len(latencies)} files: median {statistics.median(latencies):.1f} s, "
            f"max {max(latencies):.1f} s (goal: within 10 s)"
        )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
