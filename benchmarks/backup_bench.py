"""Backups: their cost on a large warehouse, and their consistency while another process writes.

    python benchmarks/backup_bench.py                    # about 1,000,000 rows; 20 s of writing

The warehouse is the simulated one of report_bench.py. Timed: a backup (plain and gzip),
--verify-backup and --restore, with sizes. Then a writer process ingests a 50-row file every
~50 ms while `benchdb maintenance --backup` runs back to back; every backup taken is restored,
must pass every integrity check, and must hold exactly the source's rows for the files it has.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchdb_pipeline.maintenance import backup as backups
from benchdb_pipeline.warehouse import synthetic
from benchdb_pipeline.warehouse.checks import ALL_CHECKS
from benchdb_pipeline.warehouse.schema import ensure_schema
from benchdb_pipeline.warehouse.store import session

sys.path.insert(0, str(Path(__file__).parent))
from report_bench import SHAPE  # noqa: E402

BENCHDB = Path(sys.executable).parent / "benchdb"
WRITER = """
import json, sys, time
from pathlib import Path
from benchdb_pipeline.ingest.pipeline import ingest
db, folder, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
folder.mkdir(parents=True, exist_ok=True)
end, n = time.monotonic() + seconds, 0
while time.monotonic() < end:
    path = folder / f"batch_{n:05d}.json"
    path.write_text(json.dumps([{"model_name": f"m{n % 7}", "hardware_type": "cpu", "batch_size": 1 + i,
                                 "throughput": 10.0 + n + i, "test_case": f"case-{n}",
                                 "is_simulated": True} for i in range(50)]))
    ingest(db, [path], workers=1)
    n += 1
    time.sleep(0.05)
print(n, flush=True)
"""


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def rows_of_files(db: Path, files: list[int]) -> tuple:
    ids = ", ".join(map(str, files)) or "NULL"
    with session(db, read_only=True) as con:
        return con.execute(
            f"SELECT count(*), sum(hash(p)) FROM performance_results p WHERE source_file_id IN ({ids})"
        ).fetchone()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=20, help="how long the writer writes")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="benchdb-backup-"))
    db = work / "source.duckdb"
    with session(db) as con:
        ensure_schema(con)
        synthetic.fill(con, synthetic.Shape(**SHAPE, runs=58))
        con.execute("CHECKPOINT")
    print(f"warehouse: {db.stat().st_size / 2**20:.0f} MB")
    for compress in (False, True):
        seconds, (folder, manifest) = timed(lambda c=compress: backups.backup(db, work / "timed", compress=c))
        ((name, file),) = manifest.files.items()
        verify_s, _ = timed(lambda f=folder: backups.verify(f))
        restore_s, _ = timed(lambda f=folder, c=compress: backups.restore(f, work / f"restored-{c}.duckdb"))
        print(
            f"backup{' (gzip)' if compress else ''}: {seconds:.2f} s, {file['size'] / 2**20:.0f} MB; "
            f"verify {verify_s:.2f} s; restore {restore_s:.2f} s"
        )

    live = work / "live.duckdb"
    with session(live) as con:
        ensure_schema(con)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(live), str(work / "files"), str(args.seconds)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "BENCHDB_LOCK_TIMEOUT": "60"},
    )
    taken, durations = [], []
    while writer.poll() is None:
        started = time.perf_counter()
        result = subprocess.run(
            [
                str(BENCHDB),
                "maintenance",
                "--db",
                str(live),
                "--backup",
                "--backup-dir",
                str(work / "live-backups"),
            ],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            sys.exit(result.stderr)
        durations.append(time.perf_counter() - started)
        taken.append(Path(json.loads(result.stdout)["operations"][0]["path"]))
    files_written = int(writer.stdout.read())
    for n, folder in enumerate(taken):
        restored = work / f"live-restored-{n}.duckdb"
        backups.restore(folder, restored)
        with session(restored, read_only=True) as con:
            failed = [c.description for c in (check(con) for check in ALL_CHECKS) if not c.passed]
            files = [f for (f,) in con.execute("SELECT file_id FROM source_files").fetchall()]
        assert not failed, (folder, failed)
        assert rows_of_files(restored, files) == rows_of_files(live, files), folder
    print(
        f"while a writer ingested {files_written} files in {args.seconds:.0f} s: {len(taken)} backups "
        f"(each {min(durations):.2f}–{max(durations):.2f} s, process start included); every one "
        f"restored, passed every integrity check and held exactly the source's rows of its files"
    )
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
