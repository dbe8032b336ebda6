"""Migrations 5 and 8: give every platform its identity key, split platforms that mixed
hosts (5), merge platforms that spelled one device two ways (8).

Before migration 5, a platform was its hardware type and device name alone, so harness files of
several hosts (no device name, different core counts and host names) shared one platform
and one series. The runs kept each file's machine description in their metadata
(pytest-benchmark's ``machine_info``, Google Benchmark's ``host_name`` and ``num_cpus``);
each fact moves to the platform that its own run's machine gives. DuckDB cannot change the
key of a row that others refer to, so a platform whose key changes is a new row, and
platforms it emptied are deleted after the commit (``drop_emptied_platforms``).
Migration 8 does the same with device names brought to one spelling (``device_names``).
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from benchdb_pipeline.warehouse.device_names import norm_device_name
from benchdb_pipeline.warehouse.identity import fingerprint, platform_key
from benchdb_pipeline.warehouse.sql import fetch_value

# The platform columns at schema version 5, spelled out: a migration's columns never change
# when later versions add some.
_COPIED = (
    "hardware_type",
    "device_name",
    "platform",
    "platform_version",
    "driver_version",
    "memory_gb",
    "compute_units",
    "accelerator_count",
    "host_name",
    "metadata",
    "created_at",
)
# Tables whose rows point at a platform and a run.
_FACTS = ("performance_results", "hardware_compatibility", "integration_test_results", "web_platform_results")

# What each run's stored machine description says (NULL where it says nothing).
_EVIDENCE = f"""
    SELECT f.hardware_id, f.run_id,
           coalesce(json_extract_string(r.metadata, '$.machine_info.node'),
                    json_extract_string(r.metadata, '$.host_name')) AS host_name,
           coalesce(TRY_CAST(json_extract_string(r.metadata, '$.machine_info.cpu.count') AS INTEGER),
                    TRY_CAST(json_extract_string(r.metadata, '$.num_cpus') AS INTEGER)) AS cores,
           coalesce(json_extract_string(r.metadata, '$.machine_info.cpu.brand_raw'),
                    json_extract_string(r.metadata, '$.machine_info.cpu.brand')) AS cpu
    FROM ({" UNION ".join(f"SELECT DISTINCT hardware_id, run_id FROM {t}" for t in _FACTS)}) f
    JOIN test_runs r USING (run_id)
    WHERE f.hardware_id IS NOT NULL
"""


# How a migration sees a platform: its row, and what one run's machine description says
# (host, cores, CPU brand; None where it says nothing, or for a platform no fact uses).
Identity = Callable[[dict, str | None, int | None, str | None], dict]


def _split_hosts(row: dict, host: str | None, cores: int | None, cpu: str | None) -> dict:
    row["host_name"] = row["host_name"] or host
    if row["hardware_type"] == "cpu":
        row["device_name"] = row["device_name"] or cpu
        row["compute_units"] = cores or row["compute_units"]
    return row


def _canonical_device(row: dict, host: str | None, cores: int | None, cpu: str | None) -> dict:
    if row["device_name"]:
        row["device_name"] = norm_device_name(row["device_name"])
    return row


def _rekey(con: duckdb.DuckDBPyConnection, identity: Identity) -> None:
    """Inside a migration's transaction: give every platform the key ``identity`` makes of it,
    per run, moving each run's facts to the platform of that key (new, or one that exists)."""
    columns = ["hardware_id", "platform_key", *_COPIED]
    platforms = {
        row[0]: dict(zip(columns, row, strict=True))
        for row in con.execute(f"SELECT {', '.join(columns)} FROM hardware_platforms").fetchall()
    }
    referenced: set[int] = set()
    moves: list[tuple[int, int, str]] = []  # (old id, run id, new key)
    wanted: dict[str, dict] = {}
    for hardware_id, run_id, host, cores, cpu in con.execute(_EVIDENCE).fetchall():
        referenced.add(hardware_id)
        row = identity(dict(platforms[hardware_id]), host, cores, cpu)
        key = platform_key(row)
        wanted.setdefault(key, row)
        moves.append((hardware_id, run_id, key))
    by_key = {p["platform_key"]: hardware_id for hardware_id, p in platforms.items()}
    redundant: list[tuple[int, None, None]] = []  # unreferenced rows whose key another row has
    for hardware_id, platform in platforms.items():
        row = identity(dict(platform), None, None, None)
        key = platform_key(row)
        if hardware_id not in referenced and key != platform["platform_key"]:
            if key in by_key or key in wanted:
                redundant.append((hardware_id, None, None))
            else:  # unreferenced rows can simply change key
                con.execute(
                    "UPDATE hardware_platforms SET platform_key = ?, device_name = ? WHERE hardware_id = ?",
                    [key, row["device_name"], hardware_id],
                )
                by_key[key] = hardware_id
        elif key == platform["platform_key"] and row["device_name"] != platform["device_name"]:
            con.execute(  # a name outside the key (BENCHDB_PLATFORM_IDENTITY) still changes
                "UPDATE hardware_platforms SET device_name = ? WHERE hardware_id = ?",
                [row["device_name"], hardware_id],
            )
    for key, row in wanted.items():
        if key in by_key:
            continue
        by_key[key] = fetch_value(
            con,
            f"INSERT INTO hardware_platforms (platform_key, {', '.join(_COPIED)}) "
            f"VALUES (?, {', '.join('?' * len(_COPIED))}) RETURNING hardware_id",
            [key, *(row[c] for c in _COPIED)],
        )
    changed = [(old, run, by_key[key]) for old, run, key in moves if by_key[key] != old]
    # Kept past the commit (a temp table lives as long as the connection): the clean-up
    # deletes the platforms emptied here and the redundant ones, and only those.
    con.execute("CREATE OR REPLACE TEMP TABLE t_platform_moves (old_id BIGINT, run_id BIGINT, new_id BIGINT)")
    if redundant:
        con.executemany("INSERT INTO t_platform_moves VALUES (?, ?, ?)", redundant)
    if changed:
        con.executemany("INSERT INTO t_platform_moves VALUES (?, ?, ?)", changed)
        for table in _FACTS:
            con.execute(
                f"UPDATE {table} SET hardware_id = m.new_id FROM t_platform_moves m "
                f"WHERE {table}.hardware_id = m.old_id AND {table}.run_id = m.run_id"
            )
    con.execute("""
        UPDATE performance_regressions SET platform_key = h.platform_key
        FROM performance_results p JOIN hardware_platforms h USING (hardware_id)
        WHERE p.result_id = performance_regressions.candidate_result_id""")
    keys = con.execute("SELECT hardware_id, platform_key FROM hardware_platforms").fetchall()
    if keys:
        con.executemany(
            "UPDATE hardware_platforms SET fingerprint = ? WHERE hardware_id = ?",
            [(fingerprint(key), hardware_id) for hardware_id, key in keys],
        )


def rekey_platforms(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 5: key every platform by its identity, one per host."""
    _rekey(con, _split_hosts)


def merge_device_spellings(con: duckdb.DuckDBPyConnection) -> None:
    """Migration 8: one spelling per device (``A100`` and ``NVIDIA A100`` are one platform)."""
    _rekey(con, _canonical_device)


def drop_emptied_platforms(con: duckdb.DuckDBPyConnection) -> int:
    """After the commit: delete the platforms whose facts moved away, and unused ones whose key
    another platform now has, once nothing refers to them (a platform that never had facts
    and keeps a key of its own, such as a detected one, stays)."""
    archived = fetch_value(con, "SELECT count(*) FROM archive_batches")
    used = " UNION ".join(f"SELECT hardware_id FROM {t}" for t in _FACTS)
    deleted = (
        0  # archived rows (Parquet) may still name them: keep every platform
        if archived
        else fetch_value(
            con,
            "DELETE FROM hardware_platforms WHERE hardware_id IN (SELECT old_id FROM t_platform_moves) "
            f"AND hardware_id NOT IN (SELECT hardware_id FROM ({used}) WHERE hardware_id IS NOT NULL)",
        )
    )
    con.execute("DROP TABLE t_platform_moves")
    return deleted
