"""Apply the rules of ``rules.py`` to raw records: rename, convert units, validate.

A record either normalises completely or yields problems that name the record (a JSON
path into the file) and the field as the file spells it. Nothing is guessed: a missing
value stays missing (NULL), a wrong one is a problem.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from benchdb_pipeline.ingest.rules import (
    BOOL,
    CANONICAL_UNIT,
    CONTROL_CHARACTERS,
    FLOAT,
    INT,
    JSON,
    LONG_TEXT,
    LONG_TEXT_LIMIT,
    OVERFLOW_COLUMN,
    PLAUSIBLE_MAXIMUM,
    RULES,
    SAMPLES,
    TEXT,
    TEXT_LIMIT,
    TIMESTAMP,
    UNIT_KEYS,
    UNITS,
    Rule,
    accelerator_type,
    convert,
    hardware_type_of,
    unit_factor,
)
from benchdb_pipeline.ingest.timestamps import parse_timestamp

_TRUE = {"true", "yes", "y", "1"}
MAX_INT = 2**31 - 1  # whole-number columns are 32-bit INTEGERs…
MAX_BIGINT = 2**63 - 1  # …except the wide ones (BIGINT)
_FALSE = {"false", "no", "n", "0"}
# A performance record measures at least one of these (unless it is a failed run's).
MEASUREMENTS = (
    "average_latency_ms",
    "latency_p50_ms",
    "latency_p90_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "throughput_items_per_second",
    "total_time_seconds",
    "memory_peak_mb",
    "samples",
)
PERCENTILES = (
    ("latency_p50_ms", 0.50),
    ("latency_p90_ms", 0.90),
    ("latency_p95_ms", 0.95),
    ("latency_p99_ms", 0.99),
)


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a record (or a whole file, when locator is None) cannot be stored."""

    locator: str | None
    field: str | None
    reason: str

    def describe(self, path: str) -> str:
        where = [path]
        if self.locator:
            where.append(f"record {self.locator}")
        if self.field:
            where.append(f"field '{self.field}'")
        return f"{': '.join(where)}: {self.reason}"


def route_device(record: Mapping) -> Mapping:
    """``device`` names a hardware type (``cuda:0``) or a device (``NVIDIA A100``): the
    latter is a device name, and implies the hardware type when the record gives none."""
    device = record.get("device")
    if not isinstance(device, str) or hardware_type_of(device) is not None:
        return record
    routed = {k: v for k, v in record.items() if k != "device"}
    routed.setdefault("device_name", device)
    implied = accelerator_type(device)
    if implied and not any(k in record for k in ("hardware_type", "hardware", "device_type", "backend")):
        routed["hardware_type"] = implied
    return routed


class RecordKind:
    """The compiled rules of one record kind: alias lookup, required fields, overflow."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.overflow = OVERFLOW_COLUMN[name]
        self.lookup: dict[str, tuple[Rule, Converter, int]] = {}
        for rule in RULES[name]:
            for rank, (alias, unit) in enumerate(rule.all_aliases().items()):
                self.lookup.setdefault(alias, (rule, _compile(rule, unit), rank))
        self.required = [rule for rule in RULES[name] if rule.required]
        self.plans: dict[tuple[str, ...], tuple[list, tuple[str, ...], tuple[str, ...]]] = {}

    def normalise(
        self,
        record: object,
        locator: str,
        units: Mapping[str, str] | None = None,
        *,
        partial: bool = False,
    ) -> tuple[dict, list[Problem]]:
        """Return the normalised row and the problems found (row is unusable if any).
        ``partial`` normalises the fields given without asking for the required ones."""
        if type(record) is not dict and not isinstance(record, Mapping):
            return {}, [Problem(locator, None, f"expected an object, found {_kind(record)}")]
        if "device" in record:
            record = route_device(record)
        keys = tuple(record)
        plan = self.plans.get(keys)
        if plan is None:
            if len(self.plans) > 4096:
                self.plans.clear()
            plan = self.plans[keys] = self.plan(keys)
        steps, unit_keys, extra_keys = plan
        problems: list[Problem] = []
        declared: Mapping[str, str] = units or {}
        if unit_keys:
            declared = dict(declared)
            for key in unit_keys:
                _declare_unit(key, record[key], declared, locator, problems)
        row: dict[str, object] = {}
        failed: set[str] = set()
        for key, column, to_column in steps:
            value = record[key]
            if value is None:
                continue
            try:
                converted = to_column(value, declared)
            except ValueError as exc:
                problems.append(Problem(locator, key, str(exc)))
                failed.add(column)
                continue
            if converted is not None:
                row[column] = converted
        for rule in () if partial else self.required:
            if rule.column not in row and rule.column not in failed:
                problems.append(Problem(locator, rule.column, "required field is missing"))
        if extra_keys and self.overflow:
            extra = {key: record[key] for key in extra_keys}
            base = row.get(self.overflow)
            row[self.overflow] = (
                {**extra, **base}
                if isinstance(base, dict)
                else ({**extra, self.overflow: base} if base is not None else extra)
            )
        return row, problems

    def plan(self, keys: tuple[str, ...]) -> tuple[list, tuple[str, ...], tuple[str, ...]]:
        """For one set of record keys: which key feeds which column (best-ranked alias wins),
        which keys declare units, and which are unrecognised. Records of one producer share
        their keys, so this is worked out once per key set."""
        best: dict[str, tuple[int, str, Converter]] = {}
        unit_keys: list[str] = []
        extra: list[str] = []
        for key in keys:
            hit = self.lookup.get(key)
            if hit is None:
                (unit_keys if key in UNIT_KEYS else extra).append(key)
                continue
            rule, convert, rank = hit
            if rule.column not in best or rank < best[rule.column][0]:
                best[rule.column] = (rank, key, convert)
        steps = [(key, column, convert) for column, (_, key, convert) in best.items()]
        return steps, tuple(unit_keys), tuple(extra)


def _declare_unit(key: str, value: object, declared: dict, locator: str, problems: list) -> None:
    """A unit key declares the unit of its dimension; plain 'unit' names any dimension."""
    if not isinstance(value, str):
        problems.append(Problem(locator, key, f"{value!r} is not a unit name"))
        return
    dimensions = (
        [UNIT_KEYS[key]]
        if key != "unit"
        else [d for d in ("time", "memory", "throughput") if unit_factor(d, value) is not None]
    )
    if not dimensions or unit_factor(dimensions[0], value) is None:
        known = ", ".join(UNITS[UNIT_KEYS[key]]) if key != "unit" else "ms, s, us, MB, GB, items/s"
        problems.append(Problem(locator, key, f"unknown unit {value!r} (known: {known})"))
        return
    declared[dimensions[0]] = value


def _kind(value: object) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"{value!r} is not a number ({_kind(value)})")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


MEMO_TEXT = 256  # the longest text value a converter remembers

_cached_timestamp = functools.lru_cache(maxsize=8192)(parse_timestamp)


def _factor(rule: Rule, unit: str | None) -> float:
    """Factor from ``unit`` (None: the column's own unit) to the column's unit."""
    if rule.dimension is None:
        return 1.0
    target = rule.unit or CANONICAL_UNIT[rule.dimension]
    return convert(1.0, rule.dimension, unit or target, target)


def _check_range(rule: Rule, number: float) -> None:
    if rule.minimum is None:
        return
    if number < rule.minimum or (rule.exclusive and number == rule.minimum):
        bound = ">" if rule.exclusive else "≥"
        raise ValueError(f"{number:g} is out of range: {rule.column} must be {bound} {rule.minimum:g}")


Converter = Callable[[object, Mapping[str, str]], object]


def fixed_factor(rule: Rule, unit: str | None) -> float | None:
    """The factor of values under an alias that names its unit (or of a column without
    units); None for a unit-less alias, which follows the unit its record declares."""
    if not rule.dimension:
        return 1.0
    return _factor(rule, unit) if unit else None


def default_factor(rule: Rule) -> float:
    """The factor of values under a unit-less alias when the record declares no unit."""
    return _factor(rule, None) if rule.dimension else 1.0


def plausible_maximum(rule: Rule) -> float | None:
    """The largest value a measured column can take, in the column's unit (None: no cap)."""
    dimension = rule.dimension
    unit = rule.unit or (CANONICAL_UNIT[dimension] if dimension else None)
    if not dimension or not unit:
        return None
    return convert(PLAUSIBLE_MAXIMUM[dimension], dimension, CANONICAL_UNIT[dimension], unit)


def largest_whole(rule: Rule) -> int:
    return MAX_BIGINT if rule.wide else MAX_INT


def _compile(rule: Rule, unit: str | None) -> Converter:
    """A converter for values arriving under one alias: kind, unit factor and range.

    The factor is fixed when the alias names its unit; a unit-less alias follows the unit
    the record declares, else the column's own.
    """
    kind, dimension = rule.kind, rule.dimension
    fixed = fixed_factor(rule, unit)
    default = default_factor(rule)

    def factor(declared: Mapping[str, str]) -> float:
        if fixed is not None:
            return fixed
        declared_unit = declared.get(dimension) if declared and dimension else None
        return _factor(rule, declared_unit) if declared_unit else default

    if kind == TEXT:
        limit = LONG_TEXT_LIMIT if rule.column in LONG_TEXT else TEXT_LIMIT

        def checked(value: str) -> str | None:
            value = value.strip()
            if not value:
                return None
            if len(value) > limit:
                raise ValueError(f"text of {len(value):,} characters (at most {limit:,})")
            if not value.isprintable() and CONTROL_CHARACTERS.search(value):  # the fast test first
                raise ValueError(f"{value[:40]!r} holds control characters (such as NUL or ESC)")
            return rule.normalise(value) if rule.normalise else value

        # Names repeat in every record: each short one is checked once (one that fails is not
        # kept: it raises again); long texts (messages, command lines) are not kept at all.
        remembered = functools.lru_cache(maxsize=4096)(checked)

        def text(value: object, declared: Mapping[str, str]) -> object:
            if type(value) is str:
                return remembered(value) if len(value) <= MEMO_TEXT else checked(value)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{value!r} is not text ({_kind(value)})")
            return checked(str(value))

        return text
    if kind in (FLOAT, INT):
        whole = kind == INT
        largest = largest_whole(rule)
        minimum, exclusive = rule.minimum, rule.exclusive
        unit = rule.unit or (CANONICAL_UNIT[dimension] if dimension else None)
        plausible = plausible_maximum(rule)

        def number(value: Any, declared: Mapping[str, str]) -> object:
            kind_of = type(value)
            result = float(value) if kind_of is float or kind_of is int else _number(value)
            result *= fixed if fixed is not None else factor(declared)
            if not math.isfinite(result):
                raise ValueError(f"{value!r} is not a finite number")
            if whole:
                if not result.is_integer():
                    raise ValueError(f"{value!r} is not a whole number")
                if abs(result) > largest:
                    raise ValueError(f"{value!r} is out of range: at most {largest:,}")
                result = int(value) if kind_of is int and float(value) == result else int(result)
            if minimum is not None and (result < minimum or (exclusive and result == minimum)):
                _check_range(rule, result)
            if plausible is not None and result > plausible:
                raise ValueError(
                    f"{value!r} is out of range: {rule.column} above {plausible:g} {unit} is not a measurement"
                )
            return result

        return number
    if kind == BOOL:

        def boolean(value: object, declared: Mapping[str, str]) -> bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, (int, float)) and value in (0, 1):
                return bool(value)
            if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
                return value.strip().lower() in _TRUE
            raise ValueError(f"{value!r} is not true or false")

        return boolean
    if kind == JSON:

        def json_value(value: object, declared: Mapping[str, str]) -> object:
            if not isinstance(value, (dict, list)):
                raise ValueError(f"expected an object or a list, found {_kind(value)}")
            return value

        return json_value
    if kind == TIMESTAMP:

        def timestamp(value: object, declared: Mapping[str, str]) -> datetime:
            return _cached_timestamp(value) if type(value) is str else parse_timestamp(value)

        return timestamp
    if kind == SAMPLES:

        def samples(value: object, declared: Mapping[str, str]) -> list[float]:
            if not isinstance(value, list):
                raise ValueError(f"expected a list of latencies, found {_kind(value)}")
            scale = factor(declared)
            out = []
            for index, item in enumerate(value):
                try:
                    sample = _number(item) * scale
                    _check_range(rule, sample)
                except ValueError as exc:
                    raise ValueError(f"sample [{index}]: {exc}") from None
                out.append(sample)
            return out

        return samples
    raise AssertionError(f"unknown rule kind {kind}")


def percentile(ordered: list[float], q: float) -> float:
    """Linear-interpolated percentile of a sorted list (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def derive_from_samples(row: dict) -> None:
    """Fill average, percentiles and iteration count from raw samples where not given."""
    samples = row.get("samples")
    if not samples:
        return
    ordered = sorted(samples)
    if row.get("average_latency_ms") is None:
        row["average_latency_ms"] = math.fsum(samples) / len(samples)
    for column, q in PERCENTILES:
        if row.get(column) is None:
            row[column] = percentile(ordered, q)
    if row.get("iterations") is None:
        row["iterations"] = len(samples)


KINDS = {name: RecordKind(name) for name in RULES}


# Measurements with no column of their own (a file size, an energy, an unmodelled unit): kept
# under metrics.measures as {name: {"value": v, "unit": u}}; such a record is measured.
MEASURES = "measures"


def _measured_elsewhere(row: Mapping) -> bool:
    metrics = row.get("metrics")
    return isinstance(metrics, Mapping) and bool(metrics.get(MEASURES))


class Extraction:
    """What one document yields: runs, normalised rows by record kind, and problems."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.rows: dict[str, list[dict]] = {
            "performance": [],
            "compatibility": [],
            "integration": [],
            "web_platform": [],
            "hardware": [],
        }
        self.problems: list[Problem] = []

    @property
    def record_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def note(self, run: int, text: str) -> None:
        """Something the reader should know about the file that is not a problem (a row left
        out, a NaN stored as NULL): kept in the run's ``metadata.ingest_notes``."""
        metadata = self.runs[run].setdefault("metadata", {})
        metadata.setdefault("ingest_notes", []).append(text)

    def add_run(self, record: Mapping, locator: str = "$") -> int:
        row, problems = KINDS["run"].normalise(record, locator)
        self.problems.extend(problems)
        self.runs.append(row)
        return len(self.runs) - 1

    def add(
        self,
        kind: str,
        record: object,
        locator: str,
        *,
        run: int = 0,
        units: Mapping[str, str] | None = None,
    ) -> dict | None:
        """Normalise one record into ``kind`` rows; returns the row, or None on problems."""
        row, problems = KINDS[kind].normalise(record, locator, units)
        if (
            kind == "compatibility"
            and not problems
            and not (row.get("model_name") or row.get("model_family"))
        ):
            problems.append(Problem(locator, "model_name", "a model name or model family is required"))
        if kind == "integration" and not problems and row.get("assertions") is not None:
            problems.extend(self._assertions(row, locator))
        if (
            kind == "performance"
            and not problems
            and row.get("status") != "failed"
            and row.keys().isdisjoint(MEASUREMENTS)  # a row holds no None
            and not _measured_elsewhere(row)
        ):
            problems.append(
                Problem(
                    locator,
                    None,
                    "no measurement (a latency, throughput, total time, peak memory or samples)",
                )
            )
        if problems:
            self.problems.extend(problems)
            return None
        if kind == "performance":
            derive_from_samples(row)
            row.setdefault("status", "ok")
        row["_run"], row["_at"] = run, locator
        self.rows[kind].append(row)
        return row

    @staticmethod
    def _assertions(row: dict, locator: str) -> list[Problem]:
        raw = row["assertions"]
        if not isinstance(raw, list):
            return [Problem(locator, "assertions", "expected a list of assertions")]
        problems, normalised = [], []
        for index, item in enumerate(raw):
            if isinstance(item, Mapping):
                item = {k: v if isinstance(v, (str, bool)) or v is None else str(v) for k, v in item.items()}
            assertion, found = KINDS["assertion"].normalise(item, f"{locator}.assertions[{index}]")
            problems.extend(found)
            normalised.append(assertion)
        row["assertions"] = normalised
        return problems
