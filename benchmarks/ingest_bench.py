"""Ingestion speed: `benchdb ingest` end to end against a floor measured in the same run.

    python benchmarks/ingest_bench.py              # 10,000 files
    python benchmarks/ingest_bench.py --files 100000

Generates N result files of 1-20 results each, with the name variants real files have
(aliases, unit suffixes, casing, 'cuda:0'), then measures, each in its own process:

- floor: the same files read and parsed with orjson in one process per core, and inserted as
  one Arrow table into a staging table; no validation, no ledger, no dimensions;
- row-by-row: a converter doing one INSERT per result (as the old scripts did), on a subset;
- benchdb: `benchdb ingest DIR` as a user runs it (process start-up included);
- small batches: then one new file at a time stored into that warehouse (as the sensor, the
  API and CI store theirs), against one file at a time into an empty warehouse, in one
  process: what a store costs must not grow with the warehouse.

Reports files/s, rows/s, peak memory (largest process), the CPU time every process on the
machine spent meanwhile (from /proc/stat, on Linux: the work a stage costs, steadier than its
wall time on a shared machine) and the ratios. With ``--rounds N`` the floor and benchdb run
N times, one after the other, and each round's ratio and their median are printed: on a
shared machine one floor can take 5 s and the next 7 s.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

MODELS = [
    "bert-base-uncased",
    "BERT-base-uncased",
    "t5-small",
    "gpt2",
    "GPT2",
    "google/vit-base-patch16-224",
    "openai/whisper-tiny",
    "prajjwal1/bert-tiny",
    "facebook/opt-125m",
    "microsoft/resnet-50",
]
HARDWARE = ["cpu", "CPU", "cuda", "CUDA", "cuda:0", "rocm", "mps", "openvino"]
PRECISIONS = ["fp32", "float32", "fp16", "float16", "bf16", "int8"]
LATENCY_KEYS = [
    ("latency_ms", 1.0),
    ("latency", 1.0),
    ("avg_latency_ms", 1.0),
    ("average_latency_ms", 1.0),
    ("latency_s", 0.001),
]
THROUGHPUT_KEYS = ["throughput", "throughput_items_per_second", "items_per_second"]
MEMORY_KEYS = [("memory_mb", 1.0), ("memory", 1.0), ("memory_peak_mb", 1.0), ("memory_peak_gb", 1 / 1024)]


def generate(folder: Path, files: int, seed: int = 7) -> int:
    """Write the benchmark files (synthetic, seeded); returns the number of results."""
    bench_rng = random.Random(seed)
    total = 0
    for i in range(files):
        sub = folder / f"run_{i // 1000:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        rows = []
        for _ in range(bench_rng.randint(1, 20)):
            latency_key, latency_scale = bench_rng.choice(LATENCY_KEYS)
            memory_key, memory_scale = bench_rng.choice(MEMORY_KEYS)
            batch = bench_rng.choice([1, 2, 4, 8, 16, 32])
            latency = bench_rng.uniform(1, 200)
            rows.append(
                {
                    bench_rng.choice(["model_name", "model"]): bench_rng.choice(MODELS),
                    bench_rng.choice(["hardware_type", "hardware"]): bench_rng.choice(HARDWARE),
                    "batch_size": batch,
                    "precision": bench_rng.choice(PRECISIONS),
                    latency_key: round(latency * latency_scale, 6),
                    bench_rng.choice(THROUGHPUT_KEYS): round(batch * 1000 / latency, 3),
                    memory_key: round(bench_rng.uniform(100, 8000) * memory_scale, 4),
                    "timestamp": f"2026-0{1 + i % 9}-1{i % 10}T0{i % 10}:00:00",
                    "is_simulated": True,
                }
            )
        total += len(rows)
        (sub / f"result_{i:06d}.json").write_text(json.dumps(rows))
    return total


def _parse_chunk(paths: list[str]):
    import orjson
    import pyarrow as pa

    records = []
    for path in paths:
        with open(path, "rb") as handle:
            records.extend(orjson.loads(handle.read()))
    return pa.Table.from_pylist(records)


def floor(folder: Path, db: Path) -> int:
    """Read + parse in one process per core, one Arrow insert into a staging table."""
    import duckdb
    import pyarrow as pa

    paths = sorted(str(p) for p in folder.rglob("*.json"))
    chunks = [paths[i : i + 500] for i in range(0, len(paths), 500)]
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        tables = list(pool.map(_parse_chunk, chunks))
    con = duckdb.connect(str(db), config={"preserve_insertion_order": False})
    con.register("staged", pa.concat_tables(tables, promote_options="default"))
    con.execute("CREATE TABLE staging AS SELECT * FROM staged")
    rows = con.execute("SELECT count(*) FROM staging").fetchone()[0]
    con.close()
    return rows


def row_by_row(folder: Path, db: Path, limit: int) -> int:
    """The old way: one INSERT statement per result (dimension ids cached in Python)."""
    import duckdb

    con = duckdb.connect(str(db))
    con.execute(
        "CREATE SEQUENCE s; CREATE TABLE models (id INT PRIMARY KEY, name VARCHAR UNIQUE);"
        "CREATE TABLE hw (id INT PRIMARY KEY, name VARCHAR UNIQUE);"
        "CREATE TABLE results (model_id INT REFERENCES models (id), hw_id INT REFERENCES hw (id),"
        " batch INT, precision VARCHAR, latency DOUBLE, throughput DOUBLE, memory DOUBLE)"
    )
    ids: dict[tuple[str, str], int] = {}

    def dimension(table: str, name: str) -> int:
        if (table, name) not in ids:
            ids[(table, name)] = len(ids) + 1
            con.execute(f"INSERT INTO {table} VALUES (?, ?)", [ids[(table, name)], name])
        return ids[(table, name)]

    rows = 0
    for path in sorted(folder.rglob("*.json"))[:limit]:
        for r in json.loads(path.read_text()):
            latency = next(
                (r[k] * (1000 if k == "latency_s" else 1) for k, _ in LATENCY_KEYS if k in r), None
            )
            con.execute(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    dimension("models", r.get("model_name") or r.get("model")),
                    dimension("hw", r.get("hardware_type") or r.get("hardware")),
                    r["batch_size"],
                    r["precision"],
                    latency,
                    next((r[k] for k in THROUGHPUT_KEYS if k in r), None),
                    next((r[k] for k, _ in MEMORY_KEYS if k in r), None),
                ],
            )
            rows += 1
    con.close()
    return rows


def small_batches(large: Path, empty: Path, folder: Path, count: int) -> str:
    """Median seconds to store one new file (as ``benchdb ingest`` does, without its process
    start-up) into ``large`` and into ``empty``, alternating."""
    from benchdb_pipeline.ingest.pipeline import ingest_files

    folder.mkdir(parents=True, exist_ok=True)
    took: dict[Path, list[float]] = {large: [], empty: []}
    for n in range(count + 1):  # the first round warms the process up, unmeasured
        for db in took:
            path = folder / f"small_{db.stem}_{n}.json"
            path.write_text(
                json.dumps(
                    [
                        {
                            "model_name": "gpt2",
                            "hardware_type": "cpu",
                            "batch_size": 1 + n,
                            "latency_ms": 9.5,
                            "timestamp": f"2026-02-0{1 + n % 9}T00:00:00",
                            "is_simulated": True,
                        }
                    ]
                )
            )
            started = time.perf_counter()
            report = ingest_files(db, [str(path)])
            if report.count("ingested") != 1:
                raise SystemExit(f"{path} was not stored: {report.summary()}")
            if n:
                took[db].append(time.perf_counter() - started)
    return " ".join(f"{statistics.median(times):.4f}" for times in took.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--row-by-row-files", type=int, default=500)
    parser.add_argument("--workdir", type=Path, help="keep generated files here (default: a temp folder)")
    parser.add_argument(
        "--rounds", type=int, default=1, help="floor and benchdb this many times each, alternating"
    )
    parser.add_argument(
        "--small-batches", type=int, default=5, help="one-file stores to time after the ingest"
    )
    parser.add_argument("--stage", choices=["floor", "row-by-row", "small"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "floor":
        print(floor(args.folder, args.db))
        return
    if args.stage == "row-by-row":
        print(row_by_row(args.folder, args.db, args.row_by_row_files))
        return
    if args.stage == "small":
        print(small_batches(args.db, args.db.with_name("empty.duckdb"), args.folder, args.small_batches))
        return
    run(args)


def busy_seconds() -> float | None:
    """Core-seconds every CPU of the machine has been busy since boot (Linux), else None:
    the processes a stage starts (pool workers of pool workers included) all count."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed(command: list[str]) -> tuple[float, float, str, float | None]:
    """Wall seconds, peak RSS (MB) of the largest process in the tree, stdout, and the
    machine's busy core-seconds meanwhile (None where /proc/stat is not there)."""
    busy = busy_seconds()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    after = busy_seconds()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{command} exited {code}")
    return wall, usage.ru_maxrss / 1024, out, None if busy is None or after is None else after - busy


def run(args) -> None:
    # benchdb's bytecode, as an installed package has it (pip compiles it; a checkout where
    # bytecode is not written would compile its modules in every process of every round)
    compileall.compile_dir(Path(__file__).parents[1] / "benchdb_pipeline", quiet=1)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="benchdb-bench-"))
    folder = workdir / "files"
    if folder.exists():
        shutil.rmtree(folder)
    started = time.perf_counter()
    results = generate(folder, args.files)
    print(
        f"generated {args.files:,} files, {results:,} results in {time.perf_counter() - started:.1f} s "
        f"({sum(p.stat().st_size for p in folder.rglob('*.json')) / 1e6:.0f} MB) under {folder}"
    )
    for stale in workdir.glob("*.duckdb*"):
        stale.unlink()
    me = [sys.executable, __file__, "--folder", str(folder)]
    databases = {name: workdir / f"{name}.duckdb" for name in ("floor", "row-by-row", "benchdb")}
    commands = {
        "floor": me + ["--stage", "floor", "--db", str(databases["floor"])],
        "row-by-row": me
        + ["--stage", "row-by-row", "--db", str(databases["row-by-row"])]
        + ["--row-by-row-files", str(args.row_by_row_files)],
        "benchdb": [
            str(Path(sys.executable).parent / "benchdb"),
            "ingest",
            str(folder),
            "-q",
            "--db",
            str(databases["benchdb"]),
        ],
    }

    def measure(name: str) -> tuple[float, float | None]:
        """Run a stage into an empty database, print its figures; files/s and core-seconds."""
        for stale in workdir.glob(f"{databases[name].name}*"):
            stale.unlink()
        wall, rss, out, cpu = timed(commands[name])
        files = args.row_by_row_files if name == "row-by-row" else args.files
        rows = results if name == "benchdb" else int(out.strip().splitlines()[-1])
        print(
            f"{name:>11}: {wall:7.2f} s  {files / wall:9,.0f} files/s  {rows / wall:10,.0f} rows/s  "
            f"peak {rss:6.0f} MB"
            + (f"  cpu {cpu:5.1f} core-s" if cpu is not None else "")
            + (f"   [{out.strip().splitlines()[0][:90]}]" if name == "benchdb" else "")
        )
        return files / wall, cpu

    old = measure("row-by-row")[0]  # two orders of magnitude away: once is enough
    ratios: list[tuple[float, float | None]] = []  # per round: files/s and CPU, benchdb / floor
    for round_no in range(max(args.rounds, 1)):
        if args.rounds > 1:
            print(f"round {round_no + 1} of {args.rounds}")
        (base, base_cpu), (ours, our_cpu) = measure("floor"), measure("benchdb")
        ratios.append((ours / base, our_cpu / base_cpu if our_cpu and base_cpu else None))
        print(
            f"benchdb / floor = {ours / base:.2f} (goal ≥ 0.5);  "
            f"benchdb / row-by-row = {ours / old:.0f}× (goal ≥ 100×)"
            + (f";  CPU time, benchdb / floor = {ratios[-1][1]:.1f}×" if ratios[-1][1] else "")
        )
    if len(ratios) > 1:
        cpu_ratios = [c for _, c in ratios if c is not None]
        print(
            f"median of {len(ratios)} rounds: benchdb / floor = {statistics.median(r for r, _ in ratios):.2f} "
            f"(each: {', '.join(f'{r:.2f}' for r, _ in ratios)})"
            + (f";  CPU time {statistics.median(cpu_ratios):.1f}×" if cpu_ratios else "")
        )
    if args.small_batches:
        small = me + [
            "--stage",
            "small",
            "--db",
            str(databases["benchdb"]),
            "--folder",
            str(workdir / "small"),
        ]
        small += ["--small-batches", str(args.small_batches)]
        large_s, empty_s = (float(x) for x in timed(small)[2].split())
        print(
            f"one new file stored into this warehouse: {large_s * 1000:.0f} ms (median of {args.small_batches}), "
            f"into an empty one {empty_s * 1000:.0f} ms: {large_s / empty_s:.1f}×"
        )
    if not args.workdir:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
