"""Whether two warehouses hold the same data, whatever ids they gave it.

Each table's fingerprint is its row count and the sum of a hash of every row in which
surrogate ids are replaced by what they stand for (a file by its sha256, a run by its key,
a model by its name, a result by its own canonical row) and the times a row was written
(not measured) are left out.
"""

from __future__ import annotations

import duckdb

OWN_ID = {
    "source_files": "file_id",
    "quarantine": "quarantine_id",
    "models": "model_id",
    "hardware_platforms": "hardware_id",
    "test_runs": "run_id",
    "performance_results": "result_id",
    "hardware_compatibility": "compatibility_id",
    "integration_test_results": "test_result_id",
    "integration_test_assertions": "assertion_id",
    "web_platform_results": "result_id",
    "performance_regressions": "regression_id",
}
NATURAL = {
    "source_files": "sha256",
    "test_runs": "run_key",
    "models": "model_name",
    "hardware_platforms": "platform_key",
}
REFERENCE = {
    "file_id": "source_files",
    "source_file_id": "source_files",
    "run_id": "test_runs",
    "candidate_run_id": "test_runs",
    "model_id": "models",
    "hardware_id": "hardware_platforms",
    "candidate_result_id": "performance_results",
}
OWNER = {
    "performance_samples": ("result_id", "performance_results"),
    "integration_test_assertions": ("test_result_id", "integration_test_results"),
}
WRITTEN_AT = {
    "first_seen_at",
    "ingested_at",
    "superseded_at",
    "quarantined_at",
    "created_at",
    "detected_at",
    "triaged_at",
}


def _canonical(con: duckdb.DuckDBPyConnection, table: str, ignore: set[str]) -> str:
    """SELECT <id> AS _id, <hash of the canonical row> AS _h FROM table t."""
    columns = [c for (c,) in con.execute(f"SELECT column_name FROM (DESCRIBE {table})").fetchall()]
    own = OWN_ID.get(table)
    owner = OWNER.get(table, (None, None))
    values = []
    for column in columns:
        if column == own or column in WRITTEN_AT or column in ignore:
            continue
        parent = owner[1] if column == owner[0] else REFERENCE.get(column)
        if parent in NATURAL:
            values.append(
                f"(SELECT p.{NATURAL[parent]} FROM {parent} p WHERE p.{OWN_ID[parent]} = t.{column})"
            )
        elif parent:
            values.append(
                f"(SELECT c._h FROM ({_canonical(con, parent, ignore)}) c WHERE c._id = t.{column})"
            )
        else:
            values.append(f"t.{column}")
    return f"SELECT t.{own or 'rowid'} AS _id, hash(row({', '.join(values)})) AS _h FROM {table} t"


def fingerprints(
    con: duckdb.DuckDBPyConnection, tables: tuple[str, ...], ignore: set[str] = frozenset()
) -> dict[str, tuple[int, int]]:
    """Per table, (rows, sum of canonical row hashes); ``ignore`` leaves columns out."""
    return {
        table: con.execute(f"SELECT count(*), sum(_h) FROM ({_canonical(con, table, ignore)})").fetchone()
        for table in tables
    }
