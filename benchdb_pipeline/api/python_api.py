"""The Python API, with the old ``BenchmarkDBAPI`` signatures.

Writes take the same road as the REST API (rules, durable spool, ingest with provenance,
source ``python-api``) and wait for the database; reads open it read-only for the call.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from benchdb_pipeline.api import reads
from benchdb_pipeline.api.submit import open_warehouse, spool, store_now
from benchdb_pipeline.reports.filters import Filters
from benchdb_pipeline.reports.queries import run_sql
from benchdb_pipeline.warehouse.store import session
from benchdb_pipeline.warehouse.writes import announce_write

SOURCE = "python-api"


def _given(**fields) -> dict:
    """The fields a caller gave: None means not given (stored as NULL, never a default)."""
    return {key: value for key, value in fields.items() if value is not None}


class BenchmarkDBAPI:
    """Store and read benchmark results in a warehouse file."""

    def __init__(self, db_path: str | Path | None = None, spool_dir: str | Path | None = None) -> None:
        self.db_path, self.spool_dir = open_warehouse(db_path, spool_dir)

    def _store(self, kind: str, record: dict, idempotency_key: str | None) -> dict:
        submission = spool(self.spool_dir, kind, record, idempotency_key=idempotency_key, source=SOURCE)
        status = store_now(self.db_path, submission)
        if status == "stored":
            announce_write(self.db_path, "benchdb Python API")
        return {"id": submission.request_id, "status": status, "path": str(submission.path)}

    def store_performance_result(
        self,
        model_name: str,
        hardware_type: str,
        device_name: str | None = None,
        batch_size: int | None = None,
        precision: str | None = None,
        throughput: float | None = None,
        latency_avg: float | None = None,
        memory_peak: float | None = None,
        test_case: str | None = None,
        sequence_length: int | None = None,
        iterations: int | None = None,
        latencies_ms: list[float] | None = None,
        timestamp: datetime | str | None = None,
        metrics: dict | None = None,
        idempotency_key: str | None = None,
        **extra,
    ) -> dict:
        """Store one performance result (latency in ms, throughput in items/s, memory in MB)."""
        return self._store(
            "performance",
            _given(
                model_name=model_name,
                hardware_type=hardware_type,
                device_name=device_name,
                batch_size=batch_size,
                precision=precision,
                throughput=throughput,
                latency_avg=latency_avg,
                memory_peak=memory_peak,
                test_case=test_case,
                sequence_length=sequence_length,
                iterations=iterations,
                latencies_ms=latencies_ms,
                timestamp=_iso(timestamp),
                metrics=metrics,
                **extra,
            ),
            idempotency_key,
        )

    def store_compatibility_result(
        self,
        model_name: str | None,
        hardware_type: str,
        device_name: str | None = None,
        is_compatible: bool | None = None,
        detection_success: bool | None = None,
        initialization_success: bool | None = None,
        error_message: str | None = None,
        error_type: str | None = None,
        suggested_fix: str | None = None,
        compatibility_score: float | None = None,
        model_family: str | None = None,
        timestamp: datetime | str | None = None,
        metadata: dict | None = None,
        idempotency_key: str | None = None,
        **extra,
    ) -> dict:
        """Store whether a model (or family) works on a platform, with the error if not."""
        return self._store(
            "compatibility",
            _given(
                model_name=model_name,
                model_family=model_family,
                hardware_type=hardware_type,
                device_name=device_name,
                is_compatible=is_compatible,
                detection_success=detection_success,
                initialization_success=initialization_success,
                error_message=error_message,
                error_type=error_type,
                suggested_fix=suggested_fix,
                compatibility_score=compatibility_score,
                timestamp=_iso(timestamp),
                metadata=metadata,
                **extra,
            ),
            idempotency_key,
        )

    def store_integration_result(
        self,
        test_module: str,
        test_name: str,
        status: str,
        test_class: str | None = None,
        model_name: str | None = None,
        hardware_type: str | None = None,
        execution_time_seconds: float | None = None,
        error_message: str | None = None,
        error_traceback: str | None = None,
        assertions: list[dict] | None = None,
        timestamp: datetime | str | None = None,
        metadata: dict | None = None,
        idempotency_key: str | None = None,
        **extra,
    ) -> dict:
        """Store one integration test outcome (pass, fail, error or skip)."""
        return self._store(
            "integration",
            _given(
                test_module=test_module,
                test_name=test_name,
                status=status,
                test_class=test_class,
                model_name=model_name,
                hardware_type=hardware_type,
                execution_time_seconds=execution_time_seconds,
                error_message=error_message,
                error_traceback=error_traceback,
                assertions=assertions,
                timestamp=_iso(timestamp),
                metadata=metadata,
                **extra,
            ),
            idempotency_key,
        )

    def get_performance_metrics(
        self,
        model_name: str | None = None,
        hardware_type: str | None = None,
        device_name: str | None = None,
        batch_size: int | None = None,
        precision: str | None = None,
        test_case: str | None = None,
        since: datetime | None = None,
        latest_only: bool = True,
        limit: int = 1_000_000,
    ):
        """Results as a DataFrame: the latest of each configuration, or all of them."""
        import pandas as pd

        filters = Filters(
            model=model_name,
            hardware=hardware_type,
            device=device_name,
            batch_size=batch_size,
            precision=precision,
            test_case=test_case,
            since=since,
        )
        with session(self.db_path, read_only=True) as con:
            page = reads.performance(
                con,
                filters,
                latest_only=latest_only,
                limit=limit,
                offset=0,
                latest="latest_performance_metrics",
            )
        return pd.DataFrame.from_records(page.items)

    def query(self, sql: str, params: list | dict | None = None):
        """Any SQL on a read-only connection, as a DataFrame."""
        with session(self.db_path, read_only=True) as con:
            return run_sql(con, sql, params).frame()


def _iso(value: datetime | str | None) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value
