"""Formats declared in YAML: a team's own JSON layout read without writing an adapter.

A mapping names where the records are and where each column, measurement and unit is::

    name: acme_nightly                  # the format's name in the ledger
    description: ACME's nightly inference results
    match: [$.suite, $.machine]         # paths every file of this format has (detection)
    records: $.results[*]               # each match is one result
    fields:                             # column: a path in the record, `$.…` in the document,
      model_name: model_id              #   or {value: constant}
      hardware_type: $.machine.accelerator
      device_name: $.machine.gpu
      batch_size: bs
      precision: dtype
      measured_at: $.started
    measurements:                       # column: {path, unit}
      average_latency_ms: {path: latency.mean, unit: us}
      throughput_items_per_second: {path: qps, unit: items/s}
    samples: {path: latency.runs, unit: us}
    extra:                              # kept under metrics.measures, unit as written
      energy: {path: joules, unit: J}
    run:                                # the run's fields
      git_commit: $.commit

Paths are dotted keys with ``[*]`` (every item) and ``[N]`` (one item); ``['a key']`` quotes a
key with dots or spaces. A mapping is checked whole when it is loaded: an unknown column, a
unit the column's dimension does not know, a malformed path or a missing required part is an
error naming the file and the part.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from benchdb_pipeline.errors import BenchdbError
from benchdb_pipeline.ingest.formats.base import Adapter, Source, is_number, run_record
from benchdb_pipeline.ingest.normalize import KINDS, MEASURES, Extraction, Problem
from benchdb_pipeline.ingest.rules import CANONICAL_UNIT, UNITS, convert, unit_factor

_STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[\*\]|\[(\d+)\]|\['([^']+)'\]")
_NAME = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
_COLUMNS = {rule.column: rule for rule, *_ in KINDS["performance"].lookup.values()}
_RUN_COLUMNS = {rule.column for rule, *_ in KINDS["run"].lookup.values()}
_PARTS = {"name", "description", "match", "records", "fields", "measurements", "samples", "extra", "run"}


class MappingError(BenchdbError):
    """A declared mapping that cannot be used, and why."""


@dataclass(frozen=True)
class Path_:
    """A compiled path: from the document (``$.…``) or from the record."""

    text: str
    steps: tuple[str | int | None, ...]  # key, index, or None for every item
    from_root: bool

    def select(self, root: Any, record: Any = None) -> Iterator[tuple[Any, str]]:
        """Every value the path reaches, with its JSON-path locator."""
        start = root if self.from_root or record is None else record
        yield from _walk(start, self.steps, "$" if self.from_root or record is None else "@")

    def first(self, root: Any, record: Any = None) -> Any:
        return next((value for value, _ in self.select(root, record)), None)


def _walk(value: Any, steps: tuple, at: str) -> Iterator[tuple[Any, str]]:
    if not steps:
        yield value, at
        return
    step, rest = steps[0], steps[1:]
    if step is None:
        items = (
            value.items()
            if isinstance(value, Mapping)
            else enumerate(value)
            if isinstance(value, list)
            else ()
        )
        for key, item in items:
            yield from _walk(item, rest, f"{at}[{key!r}]" if isinstance(key, str) else f"{at}[{key}]")
    elif isinstance(step, int):
        if isinstance(value, list) and step < len(value):
            yield from _walk(value[step], rest, f"{at}[{step}]")
    elif isinstance(value, Mapping) and step in value:
        yield from _walk(value[step], rest, f"{at}.{step}")


def compile_path(text: object, where: str) -> Path_:
    if not isinstance(text, str) or not text.strip():
        raise MappingError(f"{where}: expected a path such as results[*].latency, found {text!r}")
    text = text.strip()
    from_root = text.startswith("$")
    body = text[1:] if from_root else "." + text if not text.startswith("[") else text
    steps: list[str | int | None] = []
    position = 0
    while position < len(body):
        found = _STEP.match(body, position)
        if not found:
            raise MappingError(f"{where}: cannot read the path {text!r} at {body[position:]!r}")
        key, index, quoted = found.groups()
        steps.append(key or quoted if (key or quoted) else int(index) if index else None)
        position = found.end()
    return Path_(text, tuple(steps), from_root)


@dataclass(frozen=True)
class Measurement:
    path: Path_
    unit: str | None
    factor: float = 1.0  # to the column's unit


@dataclass
class DeclaredFormat:
    name: str
    description: str
    source: Path
    match: tuple[Path_, ...]
    records: Path_
    fields: dict[str, Path_ | Any] = field(default_factory=dict)  # a path, or a constant
    measurements: dict[str, Measurement] = field(default_factory=dict)
    samples: Measurement | None = None
    extra: dict[str, Measurement] = field(default_factory=dict)
    run: dict[str, Path_] = field(default_factory=dict)


def _measurement(spec: object, column: str | None, where: str) -> Measurement:
    if not isinstance(spec, Mapping) or "path" not in spec or not set(spec) <= {"path", "unit"}:
        raise MappingError(f"{where}: expected {{path: …, unit: …}}, found {spec!r}")
    unit = spec.get("unit")
    if unit is not None and not isinstance(unit, str):
        raise MappingError(f"{where}: the unit must be text, found {unit!r}")
    factor = 1.0
    if column is not None:
        rule = _COLUMNS[column]
        if rule.dimension is None:
            raise MappingError(f"{where}: {column} is not a measurement; map it under fields")
        if unit is None or unit_factor(rule.dimension, unit) is None:
            raise MappingError(
                f"{where}: unit {unit!r} is not a {rule.dimension} unit "
                f"(known: {', '.join(sorted(UNITS[rule.dimension]))})"
            )
        factor = convert(1.0, rule.dimension, unit, rule.unit or CANONICAL_UNIT[rule.dimension])
    return Measurement(compile_path(spec["path"], f"{where}.path"), unit, factor)


def load(path: str | Path) -> DeclaredFormat:
    """Read and check a mapping file; MappingError names the file and the part at fault."""
    path = Path(path)
    try:
        spec = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{path}: cannot be read as YAML: {exc}") from None
    if not isinstance(spec, Mapping):
        raise MappingError(f"{path}: expected a mapping (name, match, records, fields, …)")
    unknown = set(spec) - _PARTS
    if unknown:
        raise MappingError(f"{path}: unknown parts {sorted(unknown)} (known: {', '.join(sorted(_PARTS))})")
    name = spec.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise MappingError(f"{path}: name must be lower-case letters, digits and _ (2-64), found {name!r}")
    for required in ("match", "records", "fields"):
        if not spec.get(required):
            raise MappingError(f"{path}: {required} is required")
    match = spec["match"] if isinstance(spec["match"], list) else [spec["match"]]
    fields: dict[str, Path_ | Any] = {}
    for column, given in (spec.get("fields") or {}).items():
        where = f"{path}: fields.{column}"
        if column not in _COLUMNS:
            raise MappingError(f"{where}: no such column (choose from {', '.join(sorted(_COLUMNS))})")
        if isinstance(given, Mapping) and set(given) == {"value"}:
            fields[column] = given["value"]
        else:
            fields[column] = compile_path(given, where)
    for required in ("model_name", "hardware_type"):
        if required not in fields:
            raise MappingError(f"{path}: fields.{required} is required (a path, or {{value: …}})")
    measurements = {}
    for column, given in (spec.get("measurements") or {}).items():
        if column not in _COLUMNS:
            raise MappingError(f"{path}: measurements.{column}: no such column")
        measurements[column] = _measurement(given, column, f"{path}: measurements.{column}")
    run = {}
    for column, given in (spec.get("run") or {}).items():
        if column not in _RUN_COLUMNS:
            raise MappingError(
                f"{path}: run.{column}: no such run field (choose from {', '.join(sorted(_RUN_COLUMNS))})"
            )
        run[column] = compile_path(given, f"{path}: run.{column}")
    return DeclaredFormat(
        name=name,
        description=str(spec.get("description") or ""),
        source=path,
        match=tuple(compile_path(p, f"{path}: match") for p in match),
        records=compile_path(spec["records"], f"{path}: records"),
        fields=fields,
        measurements=measurements,
        samples=_measurement(spec["samples"], "samples", f"{path}: samples") if spec.get("samples") else None,
        extra={k: _measurement(v, None, f"{path}: extra.{k}") for k, v in (spec.get("extra") or {}).items()},
        run=run,
    )


class DeclaredAdapter(Adapter):
    """An adapter made from a mapping."""

    category = "performance"

    def __init__(self, declared: DeclaredFormat) -> None:
        self.declared = declared
        self.name = declared.name

    def matches(self, doc: object) -> bool:
        declared = self.declared
        return all(any(True for _ in p.select(doc)) for p in declared.match) and any(
            isinstance(value, Mapping) for value, _ in declared.records.select(doc)
        )

    def extract(self, doc: Any, out: Extraction, source: Source) -> None:
        declared = self.declared
        run_fields = {k: p.first(doc) for k, p in declared.run.items()}
        run = out.add_run(
            run_record(source, "performance", {}, metadata={"format": declared.name}, **run_fields)
        )
        for record, locator in declared.records.select(doc):
            if not isinstance(record, Mapping):
                out.problems.append(Problem(locator, None, "expected an object (a record)"))
                continue
            row: dict[str, Any] = {
                column: given.first(doc, record) if isinstance(given, Path_) else given
                for column, given in declared.fields.items()
            }
            for column, measurement in declared.measurements.items():
                row[column] = _scaled(measurement.path.first(doc, record), measurement.factor)
            if declared.samples is not None:
                values = declared.samples.path.first(doc, record)
                row["samples"] = (
                    [_scaled(v, declared.samples.factor) for v in values]
                    if isinstance(values, list)
                    else values
                )
            measures = {
                name: {"value": m.path.first(doc, record), "unit": m.unit}
                for name, m in declared.extra.items()
                if m.path.first(doc, record) is not None
            }
            if measures:
                row["metrics"] = {MEASURES: measures}
            out.add("performance", {k: v for k, v in row.items() if v is not None}, locator, run=run)


def _scaled(value: object, factor: float) -> object:
    """A number in the column's unit; anything else as found, for the rules to refuse by name."""
    return value * factor if is_number(value) else value


@lru_cache(maxsize=8)  # a folder's mappings as of its last few changes
def _loaded(folder: str, stamp: tuple) -> tuple[DeclaredAdapter, ...]:
    return tuple(DeclaredAdapter(load(path)) for path in sorted(Path(folder).glob("*.y*ml")))


def declared_adapters(folder: Path) -> tuple[DeclaredAdapter, ...]:
    """The mappings in ``folder`` (``*.yaml``/``*.yml``), loaded again when a file there
    changes; MappingError for one that cannot be used."""
    try:
        stamp = tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.y*ml")))
    except OSError:
        return ()
    return _loaded(str(folder), stamp) if stamp else ()


_RECHECK_SECONDS = 2.0
_recent: dict[str, tuple[float, tuple[DeclaredAdapter, ...]]] = {}


def current(folder: Path) -> tuple[DeclaredAdapter, ...]:
    """``declared_adapters``, looked at again at most every two seconds (detection asks for
    every file)."""
    now = time.monotonic()
    seen = _recent.get(str(folder))
    if seen is None or now - seen[0] > _RECHECK_SECONDS:
        seen = _recent[str(folder)] = (now, declared_adapters(folder))
    return seen[1]
