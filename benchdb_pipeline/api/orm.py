"""The ORM of the old system: one dataclass per table, and ``BenchmarkDB`` to use them.

The dataclasses mirror the tables of ``warehouse/schema.py`` column for column (a test
compares them). Facts are not written row by row: a session collects a run and its results
and ``commit()`` stores them as one canonical document through the same rules, spool,
ledger and transaction as every other input, so they keep their provenance. Until then a
new run has a provisional (negative) id; ``commit()`` sets the real one on the objects.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from pathlib import Path

import orjson

from benchdb_pipeline.api.submit import SECTIONS, open_warehouse, spool_records
from benchdb_pipeline.errors import DatabaseConnectionError
from benchdb_pipeline.ingest.normalize import KINDS
from benchdb_pipeline.ingest.pipeline import ingest_files
from benchdb_pipeline.reports.filters import Filters
from benchdb_pipeline.warehouse.dimensions import HARDWARE_ATTRIBUTES, MODEL_ATTRIBUTES
from benchdb_pipeline.warehouse.identity import IDENTITY_FIELDS
from benchdb_pipeline.warehouse.store import ensure_hardware, ensure_model, session, transaction
from benchdb_pipeline.warehouse.writes import announce_write

SOURCE = "orm"


@dataclass
class Models:
    model_id: int | None = None
    model_name: str | None = None
    model_family: str | None = None
    modality: str | None = None
    source: str | None = None
    version: str | None = None
    parameters_million: float | None = None
    metadata: dict | None = None
    created_at: datetime | None = None
    display_name: str | None = None  # the name as its files spell it; model_name is the key


_IDENTITY = ("hardware_type", *IDENTITY_FIELDS)


@dataclass
class HardwarePlatforms:
    hardware_id: int | None = None
    platform_key: str | None = None
    hardware_type: str | None = None
    device_name: str | None = None
    platform: str | None = None
    platform_version: str | None = None
    driver_version: str | None = None
    memory_gb: float | None = None
    compute_units: int | None = None
    metadata: dict | None = None
    created_at: datetime | None = None
    accelerator_count: int | None = None
    host_name: str | None = None
    fingerprint: str | None = None


@dataclass
class TestRuns:
    __test__ = False  # not a pytest test class, whatever its name

    run_id: int | None = None
    run_key: str | None = None
    test_name: str | None = None
    test_type: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    execution_time_seconds: float | None = None
    success: bool | None = None
    git_commit: str | None = None
    git_branch: str | None = None
    command_line: str | None = None
    metadata: dict | None = None
    is_simulated: bool | None = None
    source_file_id: int | None = None
    created_at: datetime | None = None


@dataclass
class PerformanceResults:
    result_id: int | None = None
    run_id: int | None = None
    model_id: int | None = None
    hardware_id: int | None = None
    source_file_id: int | None = None
    test_case: str | None = None
    batch_size: int | None = None
    sequence_length: int | None = None
    precision: str | None = None
    total_time_seconds: float | None = None
    average_latency_ms: float | None = None
    latency_p50_ms: float | None = None
    latency_p90_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_p99_ms: float | None = None
    throughput_items_per_second: float | None = None
    memory_peak_mb: float | None = None
    iterations: int | None = None
    warmup_iterations: int | None = None
    metrics: dict | None = None
    measured_at: datetime | None = None
    created_at: datetime | None = None
    status: str | None = None


@dataclass
class HardwareCompatibility:
    compatibility_id: int | None = None
    run_id: int | None = None
    model_id: int | None = None
    model_family: str | None = None
    hardware_id: int | None = None
    source_file_id: int | None = None
    is_compatible: bool | None = None
    detection_success: bool | None = None
    initialization_success: bool | None = None
    error_message: str | None = None
    error_type: str | None = None
    suggested_fix: str | None = None
    compatibility_score: float | None = None
    metadata: dict | None = None
    measured_at: datetime | None = None
    created_at: datetime | None = None


@dataclass
class IntegrationTestResults:
    test_result_id: int | None = None
    run_id: int | None = None
    model_id: int | None = None
    hardware_id: int | None = None
    source_file_id: int | None = None
    test_module: str | None = None
    test_class: str | None = None
    test_name: str | None = None
    status: str | None = None
    execution_time_seconds: float | None = None
    error_message: str | None = None
    error_traceback: str | None = None
    metadata: dict | None = None
    measured_at: datetime | None = None
    created_at: datetime | None = None


# Which document section, and record kind, each fact class becomes.
FACTS = {
    PerformanceResults: "performance",
    HardwareCompatibility: "compatibility",
    IntegrationTestResults: "integration",
}
TABLES = {
    Models: "models",
    HardwarePlatforms: "hardware_platforms",
    TestRuns: "test_runs",
    PerformanceResults: "performance_results",
    HardwareCompatibility: "hardware_compatibility",
    IntegrationTestResults: "integration_test_results",
}
# Set by the warehouse, never by a caller.
_GENERATED = {
    "result_id",
    "compatibility_id",
    "test_result_id",
    "run_id",
    "run_key",
    "model_id",
    "hardware_id",
    "source_file_id",
    "created_at",
}


def _plain(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def _dimension(fields: dict) -> dict:
    """A model's or a platform's fields under the rules' names, units and ranges."""
    row, problems = KINDS["performance"].normalise(fields, "$", partial=True)
    if problems:
        raise ValueError("; ".join(f"{p.field}: {p.reason}" for p in problems))
    return row


def _row(cls: type, values: tuple, columns: list[str]):
    known = {f.name for f in fields(cls)}
    row = dict(zip(columns, values, strict=True))
    for key in ("metadata", "metrics"):
        if isinstance(row.get(key), str):
            row[key] = orjson.loads(row[key])
    return cls(**{k: v for k, v in row.items() if k in known})


class BenchmarkDB:
    """A unit of work over the warehouse: collect runs and results, then ``commit()``."""

    def __init__(self, db_path: str | Path | None = None, spool_dir: str | Path | None = None) -> None:
        self.db_path, self.spool_dir = open_warehouse(db_path, spool_dir)
        self._provisional = itertools.count(-1, -1)
        self._runs: dict[int, TestRuns] = {}
        self._facts: dict[int, list] = {}

    def __enter__(self) -> BenchmarkDB:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if error is None:
            self.commit()

    # Dimensions: written at once (they carry no measurements), through the rules' names.
    def get_or_add_model(self, model_name: str, model_family: str | None = None, **attributes) -> int:
        row = _dimension({"model_name": model_name, "model_family": model_family, **attributes})
        given = {k: row[k] for k in MODEL_ATTRIBUTES if k != "display_name" and row.get(k) is not None}
        with session(self.db_path) as con, transaction(con):
            return ensure_model(con, row["model_name"].lower(), display_name=row["model_name"], **given)

    def get_or_add_hardware(self, hardware_type: str, device_name: str | None = None, **attributes) -> int:
        row = _dimension({"hardware_type": hardware_type, "device_name": device_name, **attributes})
        given = {
            k: row[k]
            for k in HARDWARE_ATTRIBUTES
            if k not in ("hardware_type", "device_name") and row.get(k) is not None
        }
        with session(self.db_path) as con, transaction(con):
            return ensure_hardware(con, row["hardware_type"], row.get("device_name"), **given)

    # Runs and facts: collected, stored by commit().
    def insert_test_runs(self, run: TestRuns) -> int:
        run.run_id = next(self._provisional)
        self._runs[run.run_id] = run
        self._facts[run.run_id] = []
        return run.run_id

    def _add_fact(self, fact) -> None:
        if fact.run_id not in self._runs:
            raise ValueError(
                f"run_id {fact.run_id} is not a run inserted in this session: insert the "
                "TestRuns first, then its results, then commit()"
            )
        self._facts[fact.run_id].append(fact)

    def insert_performance_results(self, result: PerformanceResults) -> None:
        self._add_fact(result)

    def insert_hardware_compatibility(self, result: HardwareCompatibility) -> None:
        self._add_fact(result)

    def insert_integration_test_results(self, result: IntegrationTestResults) -> None:
        self._add_fact(result)

    def commit(self) -> dict[int, int]:
        """Store every collected run with its results (one transaction); returns provisional →
        real run ids and sets them on the objects. A run the database could not take at once
        stays in the spool (the sensor or the next ingest stores it) and keeps its provisional id."""
        if not self._runs:
            return {}
        names = self._dimension_names()
        submissions = {}
        for provisional, run in self._runs.items():
            document: dict[str, list[dict]] = {SECTIONS[kind]: [] for kind in FACTS.values()}
            for fact in self._facts[provisional]:
                document[SECTIONS[FACTS[type(fact)]]].append(self._record(fact, names))
            submissions[provisional] = self._spool(run, document)
        try:
            ingest_files(self.db_path, [str(s.path) for s in submissions.values()], workers=1)
        except DatabaseConnectionError:
            return {}
        announce_write(self.db_path, "benchdb Python API (BenchmarkDB)")
        real = self._real_ids({provisional: s.request_id for provisional, s in submissions.items()})
        for provisional, run_id in real.items():
            run = self._runs.pop(provisional)
            run.run_id = run_id
            for fact in self._facts.pop(provisional):
                fact.run_id = run_id
        return real

    def _spool(self, run: TestRuns, sections: dict):
        header = {k: _plain(v) for k, v in asdict(run).items() if v is not None and k not in _GENERATED}
        return spool_records(self.spool_dir, sections, header, source=SOURCE)

    def _dimension_names(self) -> tuple[dict, dict]:
        model_ids = {f.model_id for facts in self._facts.values() for f in facts if f.model_id is not None}
        hardware_ids = {
            f.hardware_id for facts in self._facts.values() for f in facts if f.hardware_id is not None
        }
        with session(self.db_path, read_only=True) as con:
            models = dict(
                con.execute(
                    "SELECT model_id, model_name FROM models WHERE list_contains(?, model_id)",
                    [sorted(model_ids)],
                ).fetchall()
            )
            found = con.execute(
                f"SELECT hardware_id, {', '.join(_IDENTITY)} FROM hardware_platforms "
                "WHERE list_contains(?, hardware_id)",
                [sorted(hardware_ids)],
            ).fetchall()
            hardware = {r[0]: dict(zip(_IDENTITY, r[1:], strict=True)) for r in found}
        missing = (model_ids - set(models)) | (hardware_ids - set(hardware))
        if missing:
            raise ValueError(
                f"unknown model or hardware ids {sorted(missing)}: use get_or_add_model "
                "and get_or_add_hardware"
            )
        return models, hardware

    @staticmethod
    def _record(fact, names: tuple[dict, dict]) -> dict:
        models, hardware = names
        record = {k: _plain(v) for k, v in asdict(fact).items() if v is not None and k not in _GENERATED}
        if fact.model_id is not None:
            record["model_name"] = models[fact.model_id]
        if fact.hardware_id is not None:  # the whole identity, so the record finds this platform
            record.update({k: v for k, v in hardware[fact.hardware_id].items() if v is not None})
        return record

    def _real_ids(self, request_ids: dict[int, str]) -> dict[int, int]:
        with session(self.db_path, read_only=True) as con:
            found = dict(
                con.execute(
                    "SELECT json_extract_string(metadata, '$.request_id'), run_id FROM test_runs "
                    "WHERE list_contains(?, json_extract_string(metadata, '$.request_id'))",
                    [list(request_ids.values())],
                ).fetchall()
            )
        return {provisional: found[rid] for provisional, rid in request_ids.items() if rid in found}

    # Reads.
    def get_performance_results(self, **filters) -> list[PerformanceResults]:
        """Every stored result matching the filters (model, hardware, device, batch_size,
        precision, test_case, since), newest first."""
        where, params = Filters(**filters).where("h")
        with session(self.db_path, read_only=True) as con:
            result = con.execute(
                f"""
                SELECT p.* FROM performance_results p
                JOIN (SELECT p.result_id, m.model_name, m.model_family, hw.hardware_type,
                             hw.device_name, p.batch_size, p.precision, p.test_case, p.measured_at,
                             r.is_simulated
                      FROM performance_results p JOIN models m USING (model_id)
                      JOIN hardware_platforms hw USING (hardware_id)
                      JOIN test_runs r ON r.run_id = p.run_id) h USING (result_id){where}
                ORDER BY p.measured_at DESC NULLS LAST, p.result_id DESC""",
                params,
            )
            columns = [d[0] for d in result.description]
            return [_row(PerformanceResults, row, columns) for row in result.fetchall()]

    def get(self, cls: type, key: int):
        """One row of a table by its id, as its dataclass (None when absent)."""
        table = TABLES[cls]
        id_column = fields(cls)[0].name
        with session(self.db_path, read_only=True) as con:
            result = con.execute(f"SELECT * FROM {table} WHERE {id_column} = ?", [key])
            row = result.fetchone()
            return _row(cls, row, [d[0] for d in result.description]) if row else None
