"""Integrity checks of the warehouse, as plain queries that count offending rows.

Each check returns a ``CheckResult``: passed when no row offends. DuckDB enforces the keys
of the small tables itself; these checks also cover what no index holds on any backend (the
ids of every table that grows with the files ingested, every reference to them, the ledger's
hashes, the runs' keys: migrations 11 and 12), the ledger's promises, and value ranges no
constraint expresses.
References and the ledger are checked over live and archived rows together (the ``all_``
views), since archiving moves a file's rows without changing what the ledger promises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from benchdb_pipeline.warehouse.lake import file_schema
from benchdb_pipeline.warehouse.schema import (
    ARCHIVE_VIEWS,
    FACT_TABLES,
    FILE_FACT_TABLES,
    GROWING_IDS,
    VIEWS,
    archive_glob,
    sql_string,
)
from benchdb_pipeline.warehouse.sql import fetch_one, fetch_value, lake_dsn

# (child table, column, parent table, parent key): every reference in the schema.
REFERENCES = (
    ("quarantine", "file_id", "source_files", "file_id"),
    ("test_runs", "source_file_id", "source_files", "file_id"),
    ("performance_results", "run_id", "test_runs", "run_id"),
    ("performance_results", "model_id", "models", "model_id"),
    ("performance_results", "hardware_id", "hardware_platforms", "hardware_id"),
    ("performance_results", "source_file_id", "source_files", "file_id"),
    ("performance_samples", "result_id", "performance_results", "result_id"),
    ("hardware_compatibility", "run_id", "test_runs", "run_id"),
    ("hardware_compatibility", "model_id", "models", "model_id"),
    ("hardware_compatibility", "hardware_id", "hardware_platforms", "hardware_id"),
    ("hardware_compatibility", "source_file_id", "source_files", "file_id"),
    ("integration_test_results", "run_id", "test_runs", "run_id"),
    ("integration_test_results", "model_id", "models", "model_id"),
    ("integration_test_results", "hardware_id", "hardware_platforms", "hardware_id"),
    ("integration_test_results", "source_file_id", "source_files", "file_id"),
    ("integration_test_assertions", "test_result_id", "integration_test_results", "test_result_id"),
    ("web_platform_results", "run_id", "test_runs", "run_id"),
    ("web_platform_results", "model_id", "models", "model_id"),
    ("web_platform_results", "hardware_id", "hardware_platforms", "hardware_id"),
    ("web_platform_results", "source_file_id", "source_files", "file_id"),
    ("performance_regressions", "candidate_run_id", "test_runs", "run_id"),
)

NATURAL_KEYS = (
    ("models", "model_name"),
    ("hardware_platforms", "platform_key"),
    ("test_runs", "run_key"),
    ("source_files", "sha256"),
)
# Ids no backend declares a key for (a sequence or a lake's id blocks make them).
UNDECLARED_IDS = (("performance_results", "result_id"), *GROWING_IDS.items())


def everywhere(table: str) -> str:
    """A fact table's live and archived rows; any other table as it is."""
    return f"all_{table}" if table in FACT_TABLES else table


_FACT_ROWS_PER_FILE = f"""
    SELECT source_file_id AS file_id, count(*) AS n FROM (
        {" UNION ALL ".join(f"SELECT source_file_id FROM {everywhere(t)}" for t in FILE_FACT_TABLES)}
    ) WHERE source_file_id IS NOT NULL GROUP BY ALL
"""

# Files whose fact rows (live and archived) do not add up to the records the ledger counted
# for them; a hardware detection file's records are platforms (dimensions): it owns no facts.
MISMATCHED_FILES = f"""
    SELECT f.file_id, f.path, f.sha256 FROM source_files f LEFT JOIN ({_FACT_ROWS_PER_FILE}) r USING (file_id)
    WHERE f.status = 'ingested' AND f.category IS DISTINCT FROM 'hardware'
    AND coalesce(r.n, 0) <> f.record_count"""
# Files recorded as duplicates of one whose results are no longer stored.
ORPHANED_DUPLICATES = """
    SELECT d.file_id, d.path, d.sha256 FROM source_files d
    LEFT JOIN source_files o ON o.file_id = d.duplicate_of
    WHERE d.status = 'duplicate' AND o.status IS DISTINCT FROM 'ingested'"""

LEDGER_RULES = {
    "ingested files whose rows do not match their record count": f"SELECT count(*) FROM ({MISMATCHED_FILES})",
    "fact rows from files that are not ingested": f"""
        SELECT coalesce(sum(r.n), 0) FROM ({_FACT_ROWS_PER_FILE}) r JOIN source_files f USING (file_id)
        WHERE f.status <> 'ingested'""",
    "quarantined files without a reason": """
        SELECT count(*) FROM source_files f WHERE status = 'quarantined'
        AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file_id = f.file_id)""",
    "duplicates whose original is not stored": f"SELECT count(*) FROM ({ORPHANED_DUPLICATES})",
    "empty files with records": """
        SELECT count(*) FROM source_files WHERE status = 'empty' AND record_count <> 0""",
}

RANGE_RULES = {
    "latency percentiles out of order (p50 ≤ p90 ≤ p95 ≤ p99)": """
        SELECT count(*) FROM performance_results
        WHERE latency_p50_ms > latency_p90_ms OR latency_p90_ms > latency_p95_ms
           OR latency_p95_ms > latency_p99_ms""",
    "results measured after they were ingested": """
        SELECT count(*) FROM performance_results WHERE measured_at > created_at + INTERVAL 1 DAY""",
    "runs that complete before they start": """
        SELECT count(*) FROM test_runs WHERE completed_at < started_at""",
    "samples outside their result's iteration count": """
        SELECT count(*) FROM performance_samples s JOIN performance_results p USING (result_id)
        WHERE p.iterations IS NOT NULL AND s.iteration >= p.iterations""",
}


@dataclass
class CheckResult:
    name: str
    passed: bool
    offending: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # rules that could not run, and why

    @property
    def description(self) -> str:
        if self.passed:
            return f"{self.name}: ok"
        bad = [f"{what}: {n}" for what, n in self.offending.items() if n]
        bad += [f"{what}: could not be checked ({why})" for what, why in self.errors.items()]
        return f"{self.name}: {'; '.join(bad)}"


def _run(con: duckdb.DuckDBPyConnection, name: str, rules: dict[str, str]) -> CheckResult:
    offending, errors = {}, {}
    for label, sql in rules.items():
        try:
            offending[label] = fetch_value(con, sql)
        except duckdb.Error as exc:  # e.g. the archive's Parquet files are not where recorded
            errors[label] = str(exc).splitlines()[0]
    return CheckResult(name, not any(offending.values()) and not errors, offending, errors)


def check_references(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Every reference resolves (orphans per child column and parent table)."""
    return _run(
        con,
        "references",
        {
            f"{child}.{column} → {parent}": (
                f"SELECT count(*) FROM {everywhere(child)} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {everywhere(parent)} p WHERE p.{key} = c.{column})"
            )
            for child, column, parent, key in REFERENCES
        },
    )


def check_natural_keys(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Natural keys, and the ids no index holds, are unique (duplicated values per table)."""
    return _run(
        con,
        "natural keys",
        {
            f"{table}.{key}": (
                f"SELECT count(*) FROM (SELECT {key} FROM {table} GROUP BY {key} HAVING count(*) > 1)"
            )
            for table, key in NATURAL_KEYS + UNDECLARED_IDS
        },
    )


def check_declared(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """On a lake, the keys and checks a DuckDB file declares and the lake cannot: duplicated
    key values and rows that break a CHECK, per rule. A DuckDB file enforces them itself."""
    if not lake_dsn(con):
        return CheckResult("declared constraints", True)
    rules = {}
    for table, kind, expression, columns in file_schema().rules:
        names = ", ".join(f'"{c}"' for c in columns)
        if kind == "CHECK":
            rules[f"{table}: CHECK {expression}"] = (
                f"SELECT count(*) FROM {table} WHERE ({expression}) IS FALSE"
            )
        else:
            rules[f"{table}: {kind} ({names})"] = (
                f"SELECT count(*) FROM (SELECT {names} FROM {table} GROUP BY ALL HAVING count(*) > 1)"
            )
    return _run(con, "declared constraints", rules)


def check_ledger(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """The ledger and the facts agree."""
    return _run(con, "ledger", LEDGER_RULES)


def check_value_ranges(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Values that constraints cannot relate to each other are consistent."""
    return _run(con, "value ranges", RANGE_RULES)


def check_views(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Every view compiles and runs (the archive views read their Parquet files)."""
    offending = {}
    for view in (*VIEWS, *ARCHIVE_VIEWS):
        try:
            con.execute(f"SELECT * FROM {view} LIMIT 0").fetchall()
            offending[view] = 0
        except duckdb.Error:
            offending[view] = 1
    return CheckResult("views", not any(offending.values()), offending)


def batch_contents(
    con: duckdb.DuckDBPyConnection, archive_dir: str, table: str, batch: str
) -> tuple[int, int]:
    """Row count and sum of row hashes of one archive batch's Parquet files of ``table``
    (what ``archive_batches`` recorded when the batch committed)."""
    files = sql_string(archive_glob(archive_dir, table, batch))
    rows, checksum = fetch_one(
        con, f"SELECT count(*), sum(hash(r)) FROM read_parquet({files}, hive_partitioning = false) r"
    )
    return rows, int(checksum or 0)


def check_archive(con: duckdb.DuckDBPyConnection) -> CheckResult:
    """Every committed archive batch's Parquet files still hold exactly its rows."""
    offending = {}
    for batch, table, archive_dir, rows, checksum in con.execute(
        "SELECT batch_id, table_name, archive_dir, rows, row_checksum FROM archive_batches ORDER BY ALL"
    ).fetchall():
        try:
            intact = batch_contents(con, archive_dir, table, batch) == (rows, checksum)
        except duckdb.Error:
            intact = False
        offending[f"{table} batch {batch} in {archive_dir}"] = 0 if intact else rows
    return CheckResult("archive", not any(offending.values()), offending)


ALL_CHECKS = (
    check_references,
    check_natural_keys,
    check_declared,
    check_ledger,
    check_value_ranges,
    check_views,
    check_archive,
)
