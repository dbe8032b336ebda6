"""Pydantic models of the REST API's requests and responses (they document the OpenAPI
schema; the ingestion rules remain the one judge of a record's values).

Request models name the usual fields and accept every other field the rules know
(aliases such as ``throughput`` or ``latency_avg``, units such as ``latency_unit``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from benchdb_pipeline.api.submit import check_limits
from benchdb_pipeline.ingest.normalize import MAX_BIGINT, MAX_INT


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="allow")

    def record(self) -> dict:
        """The record as the rules read it: given fields only. Spooling checks its limits;
        where pydantic cannot even write it out (nested too deeply), the same check says
        which field, instead of a 500."""
        try:
            return self.model_dump(mode="json", exclude_none=True)
        except ValueError:
            check_limits(dict(self))
            raise


class PerformanceIn(RecordIn):
    model_name: str = Field(description="Model, e.g. bert-base-uncased.")
    hardware_type: str = Field(description="cpu, cuda, rocm, mps, openvino, …")
    device_name: str | None = None
    batch_size: int | None = Field(default=None, ge=1, le=MAX_INT)
    sequence_length: int | None = Field(default=None, ge=1, le=MAX_INT)
    precision: str | None = Field(default=None, description="fp32, fp16, bf16, int8, …")
    test_case: str | None = None
    throughput: float | None = Field(default=None, description="Items per second.")
    latency_avg: float | None = Field(default=None, description="Average latency in ms.")
    latency_p50_ms: float | None = None
    latency_p99_ms: float | None = None
    memory_peak: float | None = Field(default=None, description="Peak memory in MB.")
    iterations: int | None = Field(default=None, ge=1, le=MAX_BIGINT)
    latencies_ms: list[float] | None = Field(default=None, description="Raw per-iteration latencies.")
    timestamp: datetime | None = Field(default=None, description="When it was measured.")
    is_simulated: bool | None = None
    metrics: dict[str, Any] | None = None


class CompatibilityIn(RecordIn):
    model_name: str | None = None
    model_family: str | None = None
    hardware_type: str
    device_name: str | None = None
    is_compatible: bool | None = None
    detection_success: bool | None = None
    initialization_success: bool | None = None
    error_message: str | None = None
    error_type: str | None = None
    suggested_fix: str | None = None
    compatibility_score: float | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] | None = None


class IntegrationIn(RecordIn):
    test_module: str
    test_class: str | None = None
    test_name: str
    status: str = Field(description="pass, fail, error or skip (and their usual spellings).")
    model_name: str | None = None
    hardware_type: str | None = None
    execution_time_seconds: float | None = Field(default=None, ge=0)
    error_message: str | None = None
    error_traceback: str | None = None
    assertions: list[dict[str, Any]] | None = None
    timestamp: datetime | None = None
    metadata: dict[str, Any] | None = None


class Stored(BaseModel):
    id: str = Field(description="The request id: the spool file's name and the run's request_id.")
    status: str = Field(
        description="stored (201) or spooled (202: durable, stored when the database is free)"
    )
    replay: bool = Field(description="True when an earlier request with this Idempotency-Key wrote it.")


class QueryIn(BaseModel):
    sql: str = Field(description="One SELECT statement.", max_length=100_000)
    params: list[Any] | None = Field(default=None, description="Values for ? placeholders.")
    limit: int | None = Field(default=None, ge=1, description="Rows at most (capped by the server).")


class QueryOut(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class PageOut(BaseModel):
    items: list[dict[str, Any]]
    count: int
    limit: int
    offset: int
    next_offset: int | None


class Problem(BaseModel):
    detail: str | list[dict[str, Any]]
