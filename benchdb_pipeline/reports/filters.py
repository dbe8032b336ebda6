"""Filters shared by every report, query and chart, compiled to SQL with bound parameters.

No value is ever pasted into SQL text: each filter adds a fixed clause with a ``?`` and its
value goes in the parameter list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from benchdb_pipeline.ingest.rules import norm_hardware_type, norm_model_name, norm_precision
from benchdb_pipeline.warehouse.device_names import norm_device_name
from benchdb_pipeline.warehouse.schema import utc_now


@dataclass(frozen=True)
class Metric:
    """A measured quantity as reports show it."""

    name: str
    column: str
    label: str
    unit: str
    higher_is_better: bool

    @property
    def axis_label(self) -> str:
        return f"{self.label} ({self.unit})"


# Values further apart than this factor are drawn on a log scale (a CPU beside a GPU).
LOG_SPAN = 100.0

METRICS = {
    "throughput": Metric("throughput", "throughput_items_per_second", "Throughput", "items/s", True),
    "latency": Metric("latency", "average_latency_ms", "Average latency", "ms", False),
    "memory": Metric("memory", "memory_peak_mb", "Peak memory", "MB", False),
}


@dataclass(frozen=True)
class Filters:
    """Which results a report covers. Names are normalised as ingestion normalises them."""

    model: str | None = None
    model_family: str | None = None
    hardware: str | None = None
    device: str | None = None
    platform: str | None = None  # one machine: a platform key (see warehouse/identity.py)
    batch_size: int | None = None
    precision: str | None = None
    test_case: str | None = None
    since: date | datetime | None = None
    last_days: int | None = None
    # True: simulated results count everywhere; False: nowhere; None (the default): tables show
    # them (marked), charts hide them wherever measured results exist (see ``selection``).
    include_simulated: bool | None = None

    def where(self, table: str = "") -> tuple[str, list]:
        """A WHERE clause (possibly empty) over the columns of ``latest_performance_metrics``
        or any relation with the same names, and its parameters."""
        prefix = f"{table}." if table else ""
        clauses, params = [], []

        def add(clause: str, value: object) -> None:
            clauses.append(clause.format(p=prefix))
            params.append(value)

        if self.model:
            add("{p}model_name = ?", norm_model_name(self.model))
        if self.model_family:
            add("{p}model_family = ?", self.model_family)
        if self.hardware:
            add("{p}hardware_type = ?", norm_hardware_type(self.hardware))
        if self.device:
            add("{p}device_name = ?", norm_device_name(self.device))
        if self.platform:
            add("{p}platform_key = ?", self.platform)
        if self.batch_size is not None:
            add("{p}batch_size = ?", self.batch_size)
        if self.precision:
            add("{p}precision = ?", norm_precision(self.precision))
        if self.test_case:
            add("{p}test_case = ?", self.test_case)
        start = self.start()
        if start is not None:
            add("{p}measured_at >= ?", start)
        if self.include_simulated is False:
            clauses.append(f"NOT {prefix}is_simulated")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def start(self) -> datetime | None:
        """The earliest measurement time covered, from --since or --last-days."""
        starts = []
        if self.since is not None:
            since = self.since
            starts.append(
                since if isinstance(since, datetime) else datetime.combine(since, datetime.min.time())
            )
        if self.last_days is not None:
            starts.append(utc_now() - timedelta(days=self.last_days))
        return max(starts) if starts else None

    def describe(self) -> str:
        parts = [
            f"{name.replace('_', ' ')} {value}"
            for name, value in (
                ("model", self.model),
                ("model_family", self.model_family),
                ("hardware", self.hardware),
                ("device", self.device),
                ("platform", self.platform),
                ("batch_size", self.batch_size),
                ("precision", self.precision),
                ("test_case", self.test_case),
                ("since", self.start()),
            )
            if value is not None
        ]
        if self.include_simulated is False:
            parts.append("measured results only")
        return ", ".join(parts) or "all results"


EVERYTHING = Filters()


def series_label(
    model: str,
    platform_key: str,
    test_case: str | None,
    precision: str | None,
    batch_size: int | None,
    sequence_length: int | None,
) -> str:
    """``gpt2 / cuda · A100 · mem_gb=80 / fp16 / batch 8 / seq 128``: a series as people read it."""
    parts = [model, platform_key.rstrip("|").replace("|", " · ")]
    parts += [str(v) for v in (test_case, precision) if v]
    parts += [f"batch {batch_size}"] if batch_size else []
    parts += [f"seq {sequence_length}"] if sequence_length else []
    return " / ".join(parts)
