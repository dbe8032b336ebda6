"""Apply the rules of ``rules.py`` to raw records: rename, convert units, validate.

A record either normalises completely or yields problems that name the record (a JSON
path into the file) and the field as the file spells it. Nothing is guessed: a missing
value stays missing (NULL), a wrong one is a problem.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from benchdb_pipeline.ingest.rules import (
    BOOL, CANONICAL_UNIT, FLOAT, INT, JSON, OVERFLOW_COLUMN, RULES, SAMPLES, TEXT, TIMESTAMP,
    UNIT_KEYS, UNITS, Rule, unit_factor,
)
from benchdb_pipeline.ingest.timestamps import parse_timestamp

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
PERCENTILES = (("latency_p50_ms", 0.50), ("latency_p90_ms", 0.90), ("latency_p95_ms", 0.95),
               ("latency_p99_ms", 0.99))


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


class RecordKind:
    """The compiled rules of one record kind: alias lookup, required fields, overflow."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.overflow = OVERFLOW_COLUMN[name]
        self.lookup: dict[str, tuple[Rule, str | None, int]] = {}
        for rule in RULES[name]:
            for rank, (alias, unit) in enumerate(rule.all_aliases().items()):
                self.lookup.setdefault(alias, (rule, unit, rank))
        self.required = [rule for rule in RULES[name] if rule.required]

    def normalise(
        self, record: object, locator: str, units: Mapping[str, str] | None = None
    ) -> tuple[dict, list[Problem]]:
        """Return the normalised row and the problems found (row is unusable if any)."""
        if not isinstance(record, Mapping):
            return {}, [Problem(locator, None, f"expected an object, found {_kind(record)}")]
        problems: list[Problem] = []
        chosen: dict[str, tuple[int, Rule, str | None, str, object]] = {}
        extra: dict[str, object] = {}
        declared = dict(units) if units else {}
        for key, value in record.items():
            hit = self.lookup.get(key)
            if hit is None:
                if key in UNIT_KEYS:
                    _declare_unit(key, value, declared, locator, problems)
                else:
                    extra[key] = value
                continue
            rule, unit, rank = hit
            previous = chosen.get(rule.column)
            if previous is None or rank < previous[0]:
                chosen[rule.column] = (rank, rule, unit, key, value)
        row: dict[str, object] = {}
        failed: set[str] = set()
        for column, (_, rule, unit, key, value) in chosen.items():
            if value is None:
                continue
            try:
                converted = _convert(rule, unit, value, declared)
            except ValueError as exc:
                problems.append(Problem(locator, key, str(exc)))
                failed.add(column)
                continue
            if converted is not None:
                row[column] = converted
        for rule in self.required:
            if row.get(rule.column) is None and rule.column not in failed:
                problems.append(Problem(locator, rule.column, "required field is missing"))
        if extra and self.overflow:
            base = row.get(self.overflow)
            row[self.overflow] = {**extra, **base} if isinstance(base, dict) else (
                {**extra, self.overflow: base} if base is not None else extra
            )
        return row, problems


def _declare_unit(key: str, value: object, declared: dict, locator: str, problems: list) -> None:
    """A unit key declares the unit of its dimension; plain 'unit' names any dimension."""
    if not isinstance(value, str):
        problems.append(Problem(locator, key, f"{value!r} is not a unit name"))
        return
    dimensions = [UNIT_KEYS[key]] if key != "unit" else [
        d for d in ("time", "memory", "throughput") if unit_factor(d, value) is not None
    ]
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


def _scale(rule: Rule, unit: str | None, declared: Mapping[str, str]) -> float:
    dimension = rule.dimension
    source = unit or declared.get(dimension) or rule.unit or CANONICAL_UNIT[dimension]
    target = rule.unit or CANONICAL_UNIT[dimension]
    return unit_factor(dimension, source) / unit_factor(dimension, target)


def _check_range(rule: Rule, number: float) -> None:
    if rule.minimum is None:
        return
    if number < rule.minimum or (rule.exclusive and number == rule.minimum):
        bound = ">" if rule.exclusive else "≥"
        raise ValueError(f"{number:g} is out of range: {rule.column} must be {bound} {rule.minimum:g}")


def _convert(rule: Rule, unit: str | None, value: object, declared: Mapping[str, str]) -> object:
    kind = rule.kind
    if kind == TEXT:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"{value!r} is not text ({_kind(value)})")
        text = str(value).strip()
        if not text:
            return None
        return rule.normalise(text) if rule.normalise else text
    if kind in (FLOAT, INT):
        number = _number(value)
        if rule.dimension:
            number *= _scale(rule, unit, declared)
        if kind == INT:
            if not number.is_integer():
                raise ValueError(f"{value!r} is not a whole number")
            number = int(number)
        _check_range(rule, number)
        return number
    if kind == BOOL:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"{value!r} is not true or false")
    if kind == JSON:
        if not isinstance(value, (dict, list)):
            raise ValueError(f"expected an object or a list, found {_kind(value)}")
        return value
    if kind == TIMESTAMP:
        return parse_timestamp(value)
    if kind == SAMPLES:
        if not isinstance(value, list):
            raise ValueError(f"expected a list of latencies, found {_kind(value)}")
        factor = _scale(rule, unit, declared)
        samples = []
        for index, item in enumerate(value):
            try:
                sample = _number(item) * factor
                _check_range(rule, sample)
            except ValueError as exc:
                raise ValueError(f"sample [{index}]: {exc}") from None
            samples.append(sample)
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


class Extraction:
    """What one document yields: runs, normalised rows by record kind, and problems."""

    def __init__(self) -> None:
        self.runs: list[dict] = []
        self.rows: dict[str, list[dict]] = {
            "performance": [], "compatibility": [], "integration": [], "web_platform": [],
        }
        self.problems: list[Problem] = []

    @property
    def record_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

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
        if kind == "compatibility" and not problems and not (
            row.get("model_name") or row.get("model_family")
        ):
            problems.append(Problem(locator, "model_name", "a model name or model family is required"))
        if kind == "integration" and not problems and row.get("assertions") is not None:
            problems.extend(self._assertions(row, locator))
        if problems:
            self.problems.extend(problems)
            return None
        if kind == "performance":
            derive_from_samples(row)
        row["_run"] = run
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
                item = {k: v if isinstance(v, (str, bool)) or v is None else str(v)
                        for k, v in item.items()}
            assertion, found = KINDS["assertion"].normalise(item, f"{locator}.assertions[{index}]")
            problems.extend(found)
            normalised.append(assertion)
        row["assertions"] = normalised
        return problems
