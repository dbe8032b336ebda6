"""The one schema of the warehouse: tables, views and the migrations that build them.

Every other module reads column names from here; nothing else issues DDL. Migrations are
append-only: a released migration is never edited, a change is a new entry.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import duckdb

from benchdb_pipeline.errors import SchemaError
from benchdb_pipeline.warehouse.rebuild import rebuild
from benchdb_pipeline.warehouse.rekey import drop_emptied_platforms, merge_device_spellings, rekey_platforms
from benchdb_pipeline.warehouse.sql import fetch_value, lake_dsn

DIMENSION_TABLES = ("models", "hardware_platforms", "test_runs")
FACT_TABLES = (
    "performance_results",
    "performance_samples",
    "hardware_compatibility",
    "integration_test_results",
    "integration_test_assertions",
    "web_platform_results",
)
LEDGER_TABLES = ("source_files", "quarantine")
ANALYTICS_TABLES = ("performance_regressions",)
MAINTENANCE_TABLES = ("archive_batches",)
ALL_TABLES = LEDGER_TABLES + DIMENSION_TABLES + FACT_TABLES + ANALYTICS_TABLES + MAINTENANCE_TABLES

# Fact tables whose rows point at a source file (directly); used by supersede and checks.
FILE_FACT_TABLES = (
    "performance_results",
    "hardware_compatibility",
    "integration_test_results",
    "web_platform_results",
)

LIVE_FILE_STATUSES = ("ingested", "quarantined", "empty", "duplicate")

# What one row of each table is (the Dagster catalog shows these beside the tables).
TABLE_DESCRIPTIONS = {
    "source_files": "The ledger: one row per distinct file content ever seen (path, sha256, "
    "format, status ingested/empty/quarantined/superseded/duplicate, record count; a duplicate "
    "holds results already stored from the file duplicate_of names).",
    "quarantine": "One row per reason a file was refused: the record (JSON path), the field "
    "and what was wrong with it.",
    "models": "One row per model name (matched case-insensitively): family, modality, source, "
    "version and parameter count.",
    "hardware_platforms": "One row per machine identity: hardware type, device or CPU model, "
    "cores, memory, accelerators and the fingerprint that keeps hosts apart.",
    "test_runs": "One row per run of a harness or benchmark script: when, commit, branch, "
    "success, command line, simulated or measured, and its source file.",
    "performance_results": "One row per measured configuration in a run (model × platform × "
    "test case × batch size × sequence length × precision): latencies "
    "in ms, throughput in items/s, peak memory in MB.",
    "performance_samples": "One row per raw timed iteration (or round) of a performance result, in ms.",
    "hardware_compatibility": "One row per statement that a model (or family) does or does not "
    "run on a platform, with the error that explains a failure.",
    "integration_test_results": "One row per executed test (module, class, name) with its "
    "status pass/fail/error/skip and its error.",
    "integration_test_assertions": "One row per assertion checked inside an integration test.",
    "web_platform_results": "One row per in-browser run (WebNN/WebGPU): browser, load, "
    "initialisation and inference times.",
    "performance_regressions": "One row per regression or improvement the regression check "
    "found: series, metric, baseline, change and triage status.",
    "archive_batches": "One row per table of each committed archive batch: rows moved to "
    "Parquet and their checksum.",
}


@dataclass(frozen=True)
class ArchivedFact:
    """A fact table and how its rows are picked (to archive, to merge): by ``key``, its id;
    an owned table (``parent`` set) goes with its parent's rows, ``key`` being the parent's id."""

    table: str
    key: str
    parent: str | None = None


# Parents before their owned tables: an owned table's rows are chosen through its parent's.
ARCHIVED_FACTS = (
    ArchivedFact("performance_results", "result_id"),
    ArchivedFact("performance_samples", "result_id", parent="performance_results"),
    ArchivedFact("hardware_compatibility", "compatibility_id"),
    ArchivedFact("integration_test_results", "test_result_id"),
    ArchivedFact("integration_test_assertions", "test_result_id", parent="integration_test_results"),
    ArchivedFact("web_platform_results", "result_id"),
)

_V1_TABLES = """
CREATE SEQUENCE seq_source_files;
CREATE SEQUENCE seq_quarantine;
CREATE SEQUENCE seq_models;
CREATE SEQUENCE seq_hardware_platforms;
CREATE SEQUENCE seq_test_runs;
CREATE SEQUENCE seq_performance_results;
CREATE SEQUENCE seq_hardware_compatibility;
CREATE SEQUENCE seq_integration_test_results;
CREATE SEQUENCE seq_integration_test_assertions;
CREATE SEQUENCE seq_web_platform_results;

-- The ledger: one row per distinct file content ever seen. A file whose path gets new
-- content keeps its row as 'superseded'; the same content at another path is not re-read.
CREATE TABLE source_files (
    file_id          BIGINT PRIMARY KEY DEFAULT nextval('seq_source_files'),
    path             VARCHAR NOT NULL,
    sha256           VARCHAR NOT NULL UNIQUE,
    size_bytes       BIGINT NOT NULL CHECK (size_bytes >= 0),
    format           VARCHAR,
    category         VARCHAR,
    status           VARCHAR NOT NULL
                     CHECK (status IN ('ingested', 'quarantined', 'empty', 'superseded')),
    record_count     INTEGER NOT NULL DEFAULT 0 CHECK (record_count >= 0),
    error            VARCHAR,
    file_modified_at TIMESTAMP,
    first_seen_at    TIMESTAMP NOT NULL,
    ingested_at      TIMESTAMP NOT NULL,
    superseded_at    TIMESTAMP
);

CREATE TABLE quarantine (
    quarantine_id    BIGINT PRIMARY KEY DEFAULT nextval('seq_quarantine'),
    file_id          BIGINT NOT NULL REFERENCES source_files (file_id),
    record_locator   VARCHAR,
    field            VARCHAR,
    reason           VARCHAR NOT NULL,
    quarantined_at   TIMESTAMP NOT NULL
);

CREATE TABLE models (
    model_id           BIGINT PRIMARY KEY DEFAULT nextval('seq_models'),
    model_name         VARCHAR NOT NULL UNIQUE,
    model_family       VARCHAR,
    modality           VARCHAR,
    source             VARCHAR,
    version            VARCHAR,
    parameters_million DOUBLE CHECK (parameters_million > 0),
    metadata           JSON,
    created_at         TIMESTAMP NOT NULL
);

-- platform_key: the natural key, the machine's identity (type|device|cores=…, see
-- identity.py; migration 5); a missing device name stays NULL in its column.
CREATE TABLE hardware_platforms (
    hardware_id      BIGINT PRIMARY KEY DEFAULT nextval('seq_hardware_platforms'),
    platform_key     VARCHAR NOT NULL UNIQUE,
    hardware_type    VARCHAR NOT NULL,
    device_name      VARCHAR,
    platform         VARCHAR,
    platform_version VARCHAR,
    driver_version   VARCHAR,
    memory_gb        DOUBLE CHECK (memory_gb > 0),
    compute_units    INTEGER CHECK (compute_units > 0),
    metadata         JSON,
    created_at       TIMESTAMP NOT NULL
);

CREATE TABLE test_runs (
    run_id                 BIGINT PRIMARY KEY DEFAULT nextval('seq_test_runs'),
    run_key                VARCHAR NOT NULL UNIQUE,
    test_name              VARCHAR NOT NULL,
    test_type              VARCHAR NOT NULL,
    started_at             TIMESTAMP,
    completed_at           TIMESTAMP,
    execution_time_seconds DOUBLE CHECK (execution_time_seconds >= 0),
    success                BOOLEAN,
    git_commit             VARCHAR,
    git_branch             VARCHAR,
    command_line           VARCHAR,
    metadata               JSON,
    is_simulated           BOOLEAN NOT NULL DEFAULT false,
    source_file_id         BIGINT REFERENCES source_files (file_id),
    created_at             TIMESTAMP NOT NULL
);

CREATE TABLE performance_results (
    result_id                   BIGINT PRIMARY KEY DEFAULT nextval('seq_performance_results'),
    run_id                      BIGINT NOT NULL REFERENCES test_runs (run_id),
    model_id                    BIGINT NOT NULL REFERENCES models (model_id),
    hardware_id                 BIGINT NOT NULL REFERENCES hardware_platforms (hardware_id),
    source_file_id              BIGINT REFERENCES source_files (file_id),
    test_case                   VARCHAR,
    batch_size                  INTEGER CHECK (batch_size >= 1),
    sequence_length             INTEGER CHECK (sequence_length >= 1),
    precision                   VARCHAR,
    total_time_seconds          DOUBLE CHECK (total_time_seconds >= 0),
    average_latency_ms          DOUBLE CHECK (average_latency_ms >= 0),
    latency_p50_ms              DOUBLE CHECK (latency_p50_ms >= 0),
    latency_p90_ms              DOUBLE CHECK (latency_p90_ms >= 0),
    latency_p95_ms              DOUBLE CHECK (latency_p95_ms >= 0),
    latency_p99_ms              DOUBLE CHECK (latency_p99_ms >= 0),
    throughput_items_per_second DOUBLE CHECK (throughput_items_per_second > 0),
    memory_peak_mb              DOUBLE CHECK (memory_peak_mb >= 0),
    iterations                  INTEGER CHECK (iterations >= 1),
    warmup_iterations           INTEGER CHECK (warmup_iterations >= 0),
    metrics                     JSON,
    measured_at                 TIMESTAMP,
    created_at                  TIMESTAMP NOT NULL
);

-- Raw per-iteration latencies, where a file has them. Owned rows of a result: no declared
-- foreign key, because DuckDB cannot delete a child and its parent in one transaction
-- (supersede and archiving must); the warehouse checks assert there are no orphans.
CREATE TABLE performance_samples (
    result_id  BIGINT NOT NULL,
    iteration  INTEGER NOT NULL CHECK (iteration >= 0),
    latency_ms DOUBLE NOT NULL CHECK (latency_ms >= 0)
);

-- model_id is NULL for family-level statements (a compatibility matrix rates families).
CREATE TABLE hardware_compatibility (
    compatibility_id       BIGINT PRIMARY KEY DEFAULT nextval('seq_hardware_compatibility'),
    run_id                 BIGINT NOT NULL REFERENCES test_runs (run_id),
    model_id               BIGINT REFERENCES models (model_id),
    model_family           VARCHAR,
    hardware_id            BIGINT NOT NULL REFERENCES hardware_platforms (hardware_id),
    source_file_id         BIGINT REFERENCES source_files (file_id),
    is_compatible          BOOLEAN,
    detection_success      BOOLEAN,
    initialization_success BOOLEAN,
    error_message          VARCHAR,
    error_type             VARCHAR,
    suggested_fix          VARCHAR,
    compatibility_score    DOUBLE,
    metadata               JSON,
    measured_at            TIMESTAMP,
    created_at             TIMESTAMP NOT NULL,
    CHECK (model_id IS NOT NULL OR model_family IS NOT NULL)
);

CREATE TABLE integration_test_results (
    test_result_id         BIGINT PRIMARY KEY DEFAULT nextval('seq_integration_test_results'),
    run_id                 BIGINT NOT NULL REFERENCES test_runs (run_id),
    model_id               BIGINT REFERENCES models (model_id),
    hardware_id            BIGINT REFERENCES hardware_platforms (hardware_id),
    source_file_id         BIGINT REFERENCES source_files (file_id),
    test_module            VARCHAR NOT NULL,
    test_class             VARCHAR,
    test_name              VARCHAR NOT NULL,
    status                 VARCHAR NOT NULL CHECK (status IN ('pass', 'fail', 'error', 'skip')),
    execution_time_seconds DOUBLE CHECK (execution_time_seconds >= 0),
    error_message          VARCHAR,
    error_traceback        VARCHAR,
    metadata               JSON,
    measured_at            TIMESTAMP,
    created_at             TIMESTAMP NOT NULL
);

-- Owned rows of a test result; no declared foreign key, for the reason given above.
CREATE TABLE integration_test_assertions (
    assertion_id   BIGINT PRIMARY KEY DEFAULT nextval('seq_integration_test_assertions'),
    test_result_id BIGINT NOT NULL,
    assertion_name VARCHAR NOT NULL,
    passed         BOOLEAN NOT NULL,
    expected_value VARCHAR,
    actual_value   VARCHAR,
    message        VARCHAR,
    created_at     TIMESTAMP NOT NULL
);

CREATE TABLE web_platform_results (
    result_id                   BIGINT PRIMARY KEY DEFAULT nextval('seq_web_platform_results'),
    run_id                      BIGINT NOT NULL REFERENCES test_runs (run_id),
    model_id                    BIGINT NOT NULL REFERENCES models (model_id),
    hardware_id                 BIGINT NOT NULL REFERENCES hardware_platforms (hardware_id),
    source_file_id              BIGINT REFERENCES source_files (file_id),
    platform                    VARCHAR NOT NULL,
    browser                     VARCHAR,
    browser_version             VARCHAR,
    test_file                   VARCHAR,
    success                     BOOLEAN,
    implementation_type         VARCHAR,
    is_simulation               BOOLEAN,
    load_time_ms                DOUBLE CHECK (load_time_ms >= 0),
    initialization_time_ms      DOUBLE CHECK (initialization_time_ms >= 0),
    inference_time_ms           DOUBLE CHECK (inference_time_ms >= 0),
    total_time_ms               DOUBLE CHECK (total_time_ms >= 0),
    shader_compilation_time_ms  DOUBLE CHECK (shader_compilation_time_ms >= 0),
    memory_usage_mb             DOUBLE CHECK (memory_usage_mb >= 0),
    throughput_items_per_second DOUBLE CHECK (throughput_items_per_second > 0),
    error_message               VARCHAR,
    metrics                     JSON,
    measured_at                 TIMESTAMP,
    created_at                  TIMESTAMP NOT NULL
);
"""

# Regressions found by the regression check, keyed by the series (natural names, so the
# table means the same in any copy of the warehouse), the metric and the candidate result.
_V3_REGRESSIONS = """
CREATE SEQUENCE seq_performance_regressions;
CREATE TABLE performance_regressions (
    regression_id       BIGINT PRIMARY KEY DEFAULT nextval('seq_performance_regressions'),
    model_name          VARCHAR NOT NULL,
    platform_key        VARCHAR NOT NULL,
    test_case           VARCHAR,
    batch_size          INTEGER,
    sequence_length     INTEGER,
    precision           VARCHAR,
    metric              VARCHAR NOT NULL CHECK (metric IN ('throughput', 'latency', 'memory')),
    candidate_result_id BIGINT NOT NULL,
    candidate_run_id    BIGINT NOT NULL REFERENCES test_runs (run_id),
    candidate_value     DOUBLE NOT NULL,
    baseline_median     DOUBLE NOT NULL,
    baseline_points     INTEGER NOT NULL,
    change_percent      DOUBLE NOT NULL,
    direction           VARCHAR NOT NULL CHECK (direction IN ('regression', 'improvement')),
    severity            VARCHAR NOT NULL CHECK (severity IN ('minor', 'major')),
    method              VARCHAR NOT NULL CHECK (method IN ('mann-whitney', 'robust-z', 'low-confidence')),
    statistic           DOUBLE,
    measured_at         TIMESTAMP,
    status              VARCHAR NOT NULL DEFAULT 'untriaged'
                        CHECK (status IN ('untriaged', 'acknowledged', 'expected', 'fixed')),
    note                VARCHAR,
    detected_at         TIMESTAMP NOT NULL,
    triaged_at          TIMESTAMP,
    UNIQUE (candidate_result_id, metric)
);
"""

# The order of "latest" everywhere (views, regression baselines, histories): the measured
# time from the data; rows without one are older than any dated row, in insertion order.
ORDER_KEY = "coalesce(epoch_us({p}measured_at), {p}result_id - 4611686018427387904)"

# Results a harness marked failed (a command that exited non-zero, a test that failed after
# its benchmark) are kept, but no latest value, series or baseline is made of them.
MEASURED = "{p}status IS DISTINCT FROM 'failed'"

# Views are rebuilt after every migration, so they always match the tables.
VIEWS = {
    # Latest result per configuration, in one pass over the facts: "latest" is the newest
    # measured time from the data; rows without one count as older than any dated row and
    # follow each other in insertion order (two results of one configuration measured in the
    # same microsecond are equally latest). Sequence length is part of the configuration, so
    # batch 1 at 32 and at 128 tokens stay two rows.
    "latest_performance_metrics": """
        WITH latest AS (
            SELECT model_id, hardware_id, test_case, batch_size, sequence_length, precision,
                   arg_max({'average_latency_ms': average_latency_ms,
                            'latency_p50_ms': latency_p50_ms, 'latency_p90_ms': latency_p90_ms,
                            'latency_p95_ms': latency_p95_ms, 'latency_p99_ms': latency_p99_ms,
                            'throughput_items_per_second': throughput_items_per_second,
                            'memory_peak_mb': memory_peak_mb, 'measured_at': measured_at,
                            'result_id': result_id, 'run_id': run_id},
                           {order_key}) AS r,
                   count(*) AS result_count
            FROM performance_results
            WHERE {measured}
            GROUP BY ALL
        )
        SELECT m.model_name, {model_display} AS model_display_name, m.model_family, m.modality,
               h.hardware_type, h.device_name, h.platform_key, l.test_case, l.batch_size, l.sequence_length, l.precision,
               l.r.average_latency_ms, l.r.latency_p50_ms, l.r.latency_p90_ms,
               l.r.latency_p95_ms, l.r.latency_p99_ms, l.r.throughput_items_per_second,
               l.r.memory_peak_mb, l.r.measured_at, t.is_simulated, l.result_count,
               l.r.result_id, l.r.run_id, l.model_id, l.hardware_id
        FROM latest l
        JOIN models m USING (model_id)
        JOIN hardware_platforms h USING (hardware_id)
        JOIN test_runs t ON t.run_id = l.r.run_id
    """,
    # Latest statement per model (or family) and platform.
    "model_hardware_compatibility": """
        WITH latest AS (
            SELECT arg_max(compatibility_id,
                           (coalesce(measured_at, TIMESTAMP '0001-01-01'), compatibility_id))
                       AS compatibility_id,
                   count(*) AS observations
            FROM hardware_compatibility
            GROUP BY model_id, model_family, hardware_id
        )
        SELECT m.model_name, {model_display} AS model_display_name,
               coalesce(c.model_family, m.model_family) AS model_family,
               h.hardware_type, h.device_name,
               c.is_compatible, c.detection_success, c.initialization_success,
               c.compatibility_score, c.error_message, c.error_type, c.suggested_fix,
               c.measured_at, r.is_simulated, latest.observations,
               c.compatibility_id, c.model_id, c.hardware_id
        FROM latest
        JOIN hardware_compatibility c USING (compatibility_id)
        LEFT JOIN models m ON m.model_id = c.model_id
        JOIN hardware_platforms h ON h.hardware_id = c.hardware_id
        JOIN test_runs r ON r.run_id = c.run_id
    """,
    # Latest outcome of each test, with its history of passes and failures.
    "integration_test_status": """
        SELECT t.test_module, t.test_class, t.test_name,
               m.model_name, h.hardware_type, h.device_name,
               arg_max(t.status, (coalesce(t.measured_at, TIMESTAMP '0001-01-01'), t.test_result_id))
                   AS latest_status,
               max(t.measured_at) AS last_measured_at,
               count(*) AS executions,
               count(*) FILTER (WHERE t.status = 'pass') AS passed,
               count(*) FILTER (WHERE t.status IN ('fail', 'error')) AS failed,
               count(*) FILTER (WHERE t.status = 'skip') AS skipped,
               bool_or(r.is_simulated) AS any_simulated
        FROM integration_test_results t
        JOIN test_runs r ON r.run_id = t.run_id
        LEFT JOIN models m ON m.model_id = t.model_id
        LEFT JOIN hardware_platforms h ON h.hardware_id = t.hardware_id
        GROUP BY ALL
    """,
    # One row per model and platform across native and web platforms, from latest results.
    "cross_platform_performance": """
        SELECT model_name, hardware_type, device_name,
               count(*) AS configurations,
               max(throughput_items_per_second) AS best_throughput_items_per_second,
               min(average_latency_ms) AS best_average_latency_ms,
               min(memory_peak_mb) AS lowest_memory_peak_mb,
               bool_or(is_simulated) AS any_simulated,
               'native' AS source
        FROM latest_performance_metrics
        GROUP BY model_name, hardware_type, device_name
        UNION ALL
        SELECT m.model_name, h.hardware_type, h.device_name,
               count(*), max(w.throughput_items_per_second), min(w.inference_time_ms),
               min(w.memory_usage_mb), bool_or(r.is_simulated OR coalesce(w.is_simulation, false)),
               'web'
        FROM web_platform_results w
        JOIN models m ON m.model_id = w.model_id
        JOIN hardware_platforms h ON h.hardware_id = w.hardware_id
        JOIN test_runs r ON r.run_id = w.run_id
        GROUP BY ALL
    """,
}


# One row per table of each archive batch that committed. Parquet files of a batch are named
# <batch_id>_<n>.parquet; the archive views read only files whose batch is listed here, so a
# batch interrupted before its commit is invisible (and removed by the next archive run).
_V4_ARCHIVE = """
CREATE TABLE archive_batches (
    batch_id     VARCHAR NOT NULL,
    table_name   VARCHAR NOT NULL,
    archive_dir  VARCHAR NOT NULL,
    rows         BIGINT NOT NULL CHECK (rows > 0),
    row_checksum HUGEINT NOT NULL,
    cutoff       TIMESTAMP NOT NULL,
    archived_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (batch_id, table_name)
);
"""

BATCH_OF_FILE = r"regexp_extract(a.filename, '([0-9a-f]{32})_[0-9]+\.parquet$', 1)"


def sql_string(text: str | object) -> str:
    """A SQL string literal (for paths in COPY and read_parquet, which take no parameters)."""
    return "'" + str(text).replace("'", "''") + "'"


def archive_glob(archive_dir: str | Path, table: str = "*", batch: str = "*") -> str:
    """Parquet files of the archive: ``<dir>/<table>/year=…/month=…/<batch>_<n>.parquet``."""
    return f"{archive_dir}/{table}/*/*/{batch}_*.parquet"


def _archived_view(con: duckdb.DuckDBPyConnection, fact: ArchivedFact) -> str:
    """Committed archived rows of a table; rows of a file superseded (or ingested again) since
    they were archived drop out, as its live rows would have been deleted."""
    dirs = [
        d
        for (d,) in con.execute(
            "SELECT DISTINCT archive_dir FROM archive_batches WHERE table_name = ? ORDER BY 1", [fact.table]
        ).fetchall()
    ]
    if not dirs:
        return f"SELECT * FROM {fact.table} WHERE false"
    globs = ", ".join(sql_string(archive_glob(d, fact.table)) for d in dirs)
    source = f"""
        SELECT a.* EXCLUDE (filename), b.archived_at AS _archived_at
        FROM read_parquet([{globs}], filename = true, hive_partitioning = false, union_by_name = true) a
        JOIN archive_batches b ON b.batch_id = {BATCH_OF_FILE} AND b.table_name = '{fact.table}'"""
    if fact.parent:
        return (
            f"SELECT * EXCLUDE (_archived_at) FROM ({source}) "
            f"WHERE {fact.key} IN (SELECT {fact.key} FROM archived_{fact.parent})"
        )
    return f"""
        SELECT a.* EXCLUDE (_archived_at) FROM ({source}) a
        LEFT JOIN source_files f ON f.file_id = a.source_file_id
        WHERE a.source_file_id IS NULL OR (f.status = 'ingested' AND f.ingested_at <= a._archived_at)"""


def create_archive_views(con: duckdb.DuckDBPyConnection) -> None:
    """``archived_<fact>`` (rows in the Parquet archive) and ``all_<fact>`` (live and archived,
    with an ``archived`` flag) for every fact table; rebuilt whenever a batch commits."""
    for fact in ARCHIVED_FACTS:
        con.execute(f"CREATE OR REPLACE VIEW archived_{fact.table} AS {_archived_view(con, fact)}")
        con.execute(
            f"CREATE OR REPLACE VIEW all_{fact.table} AS "
            f"SELECT *, false AS archived FROM {fact.table} "
            f"UNION ALL BY NAME SELECT *, true AS archived FROM archived_{fact.table}"
        )


ARCHIVE_VIEWS = tuple(f"{kind}_{fact.table}" for fact in ARCHIVED_FACTS for kind in ("archived", "all"))


def _rebuilt_performance_results() -> str:
    """performance_results at version 5: ``iterations`` BIGINT (a cheap loop runs billions
    of times) and ``status``. DuckDB cannot change the type of a checked column, so the table
    is rebuilt from its version-1 definition; nothing refers to it by foreign key."""
    v1 = re.search(r"CREATE TABLE performance_results \(.*?\n\);", _V1_TABLES, re.S)
    assert v1 is not None
    changes = {
        "iterations                  INTEGER": "iterations                  BIGINT",
        "created_at                  TIMESTAMP NOT NULL\n);": "created_at                  TIMESTAMP NOT NULL,\n"
        "    status                      VARCHAR DEFAULT 'ok' CHECK (status IN ('ok', 'failed'))\n);",
    }
    ddl = v1.group(0)
    for before, after in changes.items():
        assert before in ddl, before
        ddl = ddl.replace(before, after)
    # The old table is renamed away, not the new one into place: DuckDB's foreign keys keep
    # the name a referencing table was created with.
    return f"""ALTER TABLE performance_results RENAME TO performance_results_v4;
{ddl}
INSERT INTO performance_results SELECT *, 'ok' FROM performance_results_v4;
DROP TABLE performance_results_v4;
"""


# Every platform keyed by its identity (see ``identity.py``): the columns that enter it;
# failed measurements marked, and iteration counts beyond 32 bits.
_V5_IDENTITY = """
ALTER TABLE hardware_platforms ADD COLUMN accelerator_count INTEGER;
ALTER TABLE hardware_platforms ADD COLUMN host_name VARCHAR;
ALTER TABLE hardware_platforms ADD COLUMN fingerprint VARCHAR;
""" + _rebuilt_performance_results()


# A model's name as its files spell it; models.model_name, the key, stays lower case.
_V6_DISPLAY_NAMES = "ALTER TABLE models ADD COLUMN display_name VARCHAR;"

# The identity of a file's results (see ``ingest.batch.results_identity``) and, for a file
# whose results were already stored from another, that file: status 'duplicate'.
_V7_DUPLICATES = """
ALTER TABLE source_files ADD COLUMN results_sha256 VARCHAR;
ALTER TABLE source_files ADD COLUMN duplicate_of BIGINT;
"""
_V6_STATUSES = "status IN ('ingested', 'quarantined', 'empty', 'superseded')"


def _allow_duplicate_status(con: duckdb.DuckDBPyConnection) -> None:
    rebuild(
        con, {"source_files": lambda ddl: ddl.replace(_V6_STATUSES, _V6_STATUSES[:-1] + ", 'duplicate')")}
    )


_FOREIGN_KEY = r", FOREIGN KEY \(\w+\) REFERENCES \w+\(\w+\)"


def _without_foreign_keys(con: duckdb.DuckDBPyConnection) -> None:
    rebuild(con, {"performance_results": lambda ddl: re.sub(_FOREIGN_KEY, "", ddl)})


_V9_STATUSES = "status IN ('untriaged', 'acknowledged', 'expected', 'fixed')"


def _allow_invalid_triage(con: duckdb.DuckDBPyConnection) -> None:
    rebuild(
        con,
        {
            "performance_regressions": lambda ddl: ddl.replace(
                _V9_STATUSES, _V9_STATUSES[:-1] + ", 'invalid')"
            )
        },
    )


def _without_bulk_indexes(con: duckdb.DuckDBPyConnection) -> None:
    """The indexes that grow with every file and every result: the ledger's content hash and
    the runs' key (strings of ~65 characters), the runs' reference to their file, the results'
    id. Kept unique by the writers (one at a time: see ``store.exclusive``) and checked by the
    blocking asset checks, as on a lake."""
    rebuild(
        con,
        {
            "source_files": lambda ddl: ddl.replace(
                "sha256 VARCHAR NOT NULL UNIQUE", "sha256 VARCHAR NOT NULL"
            ),
            "test_runs": lambda ddl: re.sub(
                _FOREIGN_KEY, "", ddl.replace("run_key VARCHAR NOT NULL UNIQUE", "run_key VARCHAR NOT NULL")
            ),
            "performance_results": lambda ddl: ddl.replace(
                "DEFAULT(nextval('seq_performance_results')) PRIMARY KEY",
                "DEFAULT(nextval('seq_performance_results'))",
            ),
        },
    )


# The tables that grow with every file ingested, and their ids.
GROWING_IDS = {
    "source_files": "file_id",
    "quarantine": "quarantine_id",
    "test_runs": "run_id",
    "hardware_compatibility": "compatibility_id",
    "integration_test_results": "test_result_id",
    "integration_test_assertions": "assertion_id",
    "web_platform_results": "result_id",
}


def _unkeyed(table: str, ddl: str) -> str:
    """A growing table's DDL without its id's primary key and its foreign keys."""
    ddl = ddl.replace(f"DEFAULT(nextval('seq_{table}')) PRIMARY KEY", f"DEFAULT(nextval('seq_{table}'))")
    return re.sub(_FOREIGN_KEY, "", ddl)


def _without_growing_keys(con: duckdb.DuckDBPyConnection) -> None:
    """DuckDB writes a table's whole index at every checkpoint, and a file's connection
    checkpoints as it closes: the ids' and references' indexes of the tables that grow with
    every file made each batch's close cost more the larger the warehouse (0.7 s after one
    file stored into a warehouse of 100,000 files). Their ids come from sequences of the
    one writer (``store.exclusive``), as on a lake, and the blocking checks assert them and
    every reference; the regressions' key and the dimensions' keys stay declared."""
    changes: dict[str, Callable[[str], str]] = {
        table: functools.partial(_unkeyed, table) for table in GROWING_IDS
    }
    changes["performance_regressions"] = lambda ddl: re.sub(_FOREIGN_KEY, "", ddl)  # to its run
    rebuild(con, changes)


@dataclass(frozen=True)
class Migration:
    """A schema step: SQL, then an optional data step in the same transaction, then an
    optional clean-up in a transaction of its own (for deletes DuckDB refuses to make in the
    transaction that moved the references). ``lake``: the step changes only constraints a
    lake does not declare, so a lake records its version and nothing else."""

    version: int
    description: str
    sql: str
    data: Callable[[duckdb.DuckDBPyConnection], object] | None = None
    cleanup: Callable[[duckdb.DuckDBPyConnection], object] | None = None
    lake: bool = False


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial warehouse: ledger, dimensions, facts", _V1_TABLES),
    Migration(2, "latest_performance_metrics in one pass (views only)", ""),
    Migration(3, "performance_regressions: regressions found, and their triage", _V3_REGRESSIONS),
    Migration(4, "archive_batches and the archived_/all_ views of every fact table", _V4_ARCHIVE),
    Migration(
        5,
        "platforms keyed by machine identity (hosts mixed in one platform split "
        "apart); performance_results.status marks failed measurements",
        _V5_IDENTITY,
        data=rekey_platforms,
        cleanup=drop_emptied_platforms,
    ),
    Migration(6, "models.display_name: model names shown as their files spell them", _V6_DISPLAY_NAMES),
    Migration(
        7,
        "source_files: the same results in another file recorded as a duplicate of the first",
        _V7_DUPLICATES,
        data=_allow_duplicate_status,
    ),
    Migration(
        8,
        "hardware_platforms: one spelling per device name (A100 and NVIDIA A100 are one platform)",
        "",
        data=merge_device_spellings,
        cleanup=drop_emptied_platforms,
    ),
    Migration(
        9,
        "performance_results: its references checked by the blocking asset check and "
        "`benchdb maintenance --check-integrity`, not by four foreign keys at every insert (8 of the 10 s "
        "a million rows took)",
        "",
        data=_without_foreign_keys,
        lake=True,
    ),
    Migration(
        10,
        "performance_regressions: 'invalid' triage status (an alert that was not a real change)",
        "",
        data=_allow_invalid_triage,
        lake=True,
    ),
    Migration(
        11,
        "source_files.sha256, test_runs.run_key and performance_results.result_id kept unique by "
        "the writers and the blocking asset checks, test_runs' file by the references check, not by "
        "indexes rebuilt at every commit (half the time a batch took to store, half the file)",
        "",
        data=_without_bulk_indexes,
        lake=True,
    ),
    Migration(
        12,
        "the ids and references of the tables that grow with every file (the ledger, quarantine, "
        "runs and the facts other than performance results) kept by the writers and the blocking "
        "asset checks, not by indexes every checkpoint writes whole (each batch's close grew with "
        "the warehouse)",
        "",
        data=_without_growing_keys,
        lake=True,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def existing_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables this warehouse has (not a database attached beside it); an older schema
    version lacks the newer ones."""
    return {
        t
        for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = 'main'"
        ).fetchall()
    }


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version the database is at; 0 for an empty database."""
    # Asked directly: listing a lake's tables reads its whole catalog (~20 ms a call, and
    # every writer calls this). A missing table fails at binding, which leaves an open
    # transaction usable.
    try:
        return fetch_value(con, "SELECT coalesce(max(version), 0) FROM main.schema_version")
    except duckdb.CatalogException:
        return 0


def ensure_schema(con: duckdb.DuckDBPyConnection, up_to: int = SCHEMA_VERSION) -> int:
    """Create or migrate the schema in place; safe to call on every connection that writes.

    Returns the number of migrations applied. Each migration and its version row commit
    together, so a failure leaves the database at the previous version. ``up_to`` stops at
    an older version (to build one in tests).
    """
    version = current_version(con)
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"database schema is at version {version}, newer than this benchdb "
            f"understands ({SCHEMA_VERSION}); upgrade benchdb"
        )
    if version >= up_to:
        return 0
    if lake_dsn(con):  # a lake is created at the current version, never migrated from 1
        return _record_lake_versions(con, version, up_to)
    pending = [m for m in MIGRATIONS if version < m.version <= up_to]
    for applied, migration in enumerate(pending):
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, description VARCHAR NOT NULL,"
                " applied_at TIMESTAMP NOT NULL)"
            )
            if migration.sql:
                con.execute(migration.sql)
            if migration.data:
                migration.data(con)
            if migration is pending[-1]:  # views are bound by name: made once, for the last tables
                create_views(con)
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)",
                [migration.version, migration.description, utc_now()],
            )
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            if applied:  # the migrations that committed keep views that match their tables
                con.execute("BEGIN TRANSACTION")
                create_views(con)
                con.execute("COMMIT")
            raise SchemaError(f"migration {migration.version} failed: {exc}") from exc
        if migration.cleanup:
            con.execute("BEGIN TRANSACTION")
            migration.cleanup(con)
            con.execute("COMMIT")
    return len(pending)


def _record_lake_versions(con: duckdb.DuckDBPyConnection, version: int, up_to: int) -> int:
    """A lake takes the migrations that change only what it does not declare: it records
    their versions (its checks come from the current schema, ``lake.file_schema``)."""
    pending = [m for m in MIGRATIONS if version < m.version <= up_to]
    if version == 0 or not all(m.lake for m in pending):
        raise SchemaError(
            "the lake has no warehouse yet: run `benchdb lake init`"
            if version == 0
            else f"the lake is at schema version {version}; this benchdb has no lake migration to {up_to}"
        )
    con.execute("BEGIN TRANSACTION")
    con.executemany(
        "INSERT INTO schema_version VALUES (?, ?, ?)",
        [[m.version, m.description, utc_now()] for m in pending],
    )
    con.execute("COMMIT")
    return len(pending)


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    # The table's own columns, not ``duckdb_columns()`` (every column of every catalog: ~14 ms)
    return column in {d[0] for d in con.execute(f"SELECT * FROM main.{table} LIMIT 0").description}


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create every view from its definition, for the schema version at hand."""
    # Views are built at every version on the way up: status arrives with version 5,
    # display names with version 6.
    measured = MEASURED.format(p="") if _has_column(con, "performance_results", "status") else "true"
    display = (
        "coalesce(m.display_name, m.model_name)"
        if _has_column(con, "models", "display_name")
        else "m.model_name"
    )
    for name, body in VIEWS.items():
        body = body.replace("{order_key}", ORDER_KEY.format(p="")).replace("{measured}", measured)
        body = body.replace("{model_display}", display)
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {body}")
    if "archive_batches" in existing_tables(con):
        create_archive_views(con)


def utc_now() -> datetime:
    """Wall-clock time for ingestion bookkeeping (never for measured_at), naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
