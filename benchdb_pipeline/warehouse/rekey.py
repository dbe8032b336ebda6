"""Migration 5: give every platform its identity key, and split platforms that mixed hosts.

Before it, a platform was its hardware type and device name alone, so harness files of
several hosts (no device name, different core counts and host names) shared one platform
and one series. The runs kept each file's machine description in their metadata
(pytest-benchmark's ``machine_info``, Google Benchmark's ``host_name`` and ``num_cpus``);
each fact moves to the platform that its own run's machine gives. DuckDB cannot change the
key of a row that others refer to, so a platform whose key changes is a new row, and
platforms left unreferenced are deleted after the commit (``drop_unused_platforms``).
"""

from __future__ import annotations

import duckdb

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


def rekey_platforms(con: duckdb.DuckDBPyConnection) -> None:
    """Inside the migration's transaction: key every platform by its identity, one per host."""
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
        row = dict(platforms[hardware_id])
        row["host_name"] = row["host_name"] or host
        if row["hardware_type"] == "cpu":
            row["device_name"] = row["device_name"] or cpu
            row["compute_units"] = cores or row["compute_units"]
        key = platform_key(row)
        wanted.setdefault(key, row)
        moves.append((hardware_id, run_id, key))
    by_key = {p["platform_key"]: hardware_id for hardware_id, p in platforms.items()}
    for hardware_id, row in platforms.items():  # unreferenced rows can simply change key
        if hardware_id not in referenced:
            key = platform_key(row)
            if key != row["platform_key"] and key not in by_key and key not in wanted:
                con.execute(
                    "UPDATE hardware_platforms SET platform_key = ? WHERE hardware_id = ?", [key, hardware_id]
                )
                by_key[key] = hardware_id
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
    if changed:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE t_platform_moves (old_id BIGINT, run_id BIGINT, new_id BIGINT)"
        )
        con.executemany("INSERT INTO t_platform_moves VALUES (?, ?, ?)", changed)
        for table in _FACTS:
            con.execute(
                f"UPDATE {table} SET hardware_id = m.new_id FROM t_platform_moves m "
                f"WHERE {table}.hardware_id = m.old_id AND {table}.run_id = m.run_id"
            )
        con.execute("DROP TABLE t_platform_moves")
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


def drop_unused_platforms(con: duckdb.DuckDBPyConnection) -> int:
    """After the commit: delete platforms no live or archived fact refers to any more."""
    archived = fetch_value(con, "SELECT count(*) FROM archive_batches")
    if archived:
        return 0  # archived rows (Parquet) may still name them; keep every platform
    used = " UNION ".join(f"SELECT hardware_id FROM {t}" for t in _FACTS)
    return fetch_value(
        con,
        f"DELETE FROM hardware_platforms WHERE hardware_id NOT IN "
        f"(SELECT hardware_id FROM ({used}) WHERE hardware_id IS NOT NULL)",
    )
