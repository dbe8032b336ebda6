"""Read one file: hash it, parse it, detect its format, extract and validate its records.

A file is all or nothing: any problem quarantines the whole file with every reason found
(up to a cap), and none of its records is staged; an object that gives a key twice with
different values is such a problem (``duplicate_keys``). The one exception is a NaN or Infinity
(which Python's json writes) in a record's required measurement: that record alone is
quarantined and the file's other records go in.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime

import orjson

from benchdb_pipeline.ingest.discovery import shown
from benchdb_pipeline.ingest.duplicate_keys import duplicate_keys
from benchdb_pipeline.ingest.files import UnreadableFile, read_result_file
from benchdb_pipeline.ingest.formats import TEXT_FORMATS, Adapter, Source, detect, detect_text
from benchdb_pipeline.ingest.normalize import Extraction, Problem

MAX_PROBLEMS = 50


@dataclass
class ParsedFile:
    """The outcome of reading one file, ready for the batch builder."""

    path: str
    sha256: str
    size: int
    modified_at: datetime | None
    # ingested | empty | quarantined | known (content already in the ledger) | unreadable
    status: str
    format: str | None = None
    category: str | None = None
    problems: list[Problem] = field(default_factory=list)
    extraction: Extraction | None = None

    @property
    def record_count(self) -> int:
        return self.extraction.record_count if self.extraction and self.status == "ingested" else 0

    @property
    def error(self) -> str | None:
        if not self.problems:
            return None
        first = self.problems[0].describe(self.path)
        more = len(self.problems) - 1
        return first if not more else f"{first} (and {more} more problem{'s' * (more > 1)})"


def parse_file(path: str, known: frozenset[str] | set[str] = frozenset()) -> ParsedFile:
    """Parse one file; content whose hash is in ``known`` is hashed but not read further. A
    file that cannot be read comes back ``unreadable`` with the reason (it has no content
    to put in the ledger)."""
    try:
        data, modified = read_result_file(path)
    except OSError as exc:
        reason = str(exc) if isinstance(exc, UnreadableFile) else f"cannot be read: {exc.strerror or exc}"
        return ParsedFile(shown(path), "", 0, None, "unreadable", problems=[Problem(None, None, reason)])
    return parse_bytes(data, shown(path), modified, known)


def parse_bytes(
    data: bytes, path: str, modified: datetime | None = None, known: frozenset[str] | set[str] = frozenset()
) -> ParsedFile:
    """Parse a file's content (``path`` names it in problems and derived names)."""
    digest = hashlib.sha256(data).hexdigest()
    parsed = ParsedFile(path, digest, len(data), modified, "known")
    if digest in known:
        return parsed
    try:
        return _read(parsed, data)
    except RecursionError:
        return _quarantine(parsed, Problem(None, None, "nested too deeply to read"))
    except Exception as exc:  # noqa: BLE001 — no file may stop an ingest of the others
        return _quarantine(parsed, Problem(None, None, f"could not be read: {type(exc).__name__}: {exc}"))


def _read(parsed: ParsedFile, data: bytes) -> ParsedFile:
    non_finite: list[str] = []
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "recursion" in str(exc).lower():
            return _quarantine(
                parsed, Problem(None, None, "not readable: JSON nested deeper than 1024 levels")
            )
        doc = _with_non_finite(data, non_finite)
        if doc is None:
            read = detect_text(data)
            if read is None:
                return _quarantine(
                    parsed,
                    Problem(None, None, f"not valid JSON ({exc}), nor a known text format ({TEXT_FORMATS})"),
                )
            return _extract(parsed, *read, [])
    repeated = duplicate_keys(data, doc)
    if repeated:
        parsed.status, parsed.problems = "quarantined", repeated[:MAX_PROBLEMS]
        return parsed
    adapter = detect(doc)
    if adapter is None:
        return _quarantine(
            parsed, Problem(None, None, f"no known result format: {_shape(doc)}. {_resemblance(doc)}")
        )
    return _extract(parsed, adapter, doc, non_finite)


def _extract(parsed: ParsedFile, adapter: Adapter, doc: object, non_finite: list[str]) -> ParsedFile:
    """The adapter's records of ``doc``, normalised; the file quarantined on any problem."""
    path = parsed.path
    parsed.format, parsed.category = adapter.name, adapter.category_for(doc)
    out = Extraction()
    try:
        adapter.extract(doc, out, Source(path))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # Adapters check what they read and name the record and field; reaching here is a
        # shape none of them foresaw, said as such.
        return _quarantine(
            parsed,
            Problem(
                None,
                None,
                f"a {adapter.name} document of a shape benchdb cannot read ({type(exc).__name__}: {exc}); "
                "please report it with the file",
            ),
        )
    parsed.extraction = out
    refused_for_nan = _note_non_finite(out, non_finite) if non_finite else 0
    if out.problems:
        parsed.problems = out.problems[:MAX_PROBLEMS]
        if len(out.problems) > MAX_PROBLEMS:
            parsed.problems.append(
                Problem(None, None, f"{len(out.problems) - MAX_PROBLEMS} more problems not listed")
            )
    if out.problems and (refused_for_nan < len(out.problems) or not out.record_count):
        parsed.status = "quarantined"
        return parsed
    unstorable = _encode_json(out)
    if unstorable:
        return _quarantine(parsed, unstorable)
    parsed.status = "ingested" if out.record_count else "empty"
    return parsed


JSON_COLUMNS = ("metrics", "metadata", "model_metadata", "hardware_metadata")
MAX_JSON_BYTES = 1 << 20  # the extra fields of one record (or one run), as stored


def _encode_json(out: Extraction) -> Problem | None:
    """Write every JSON value as the warehouse stores it, here, so that a value that cannot
    be written (nested deeper than orjson writes, 254 levels) or is too large to keep (over
    ``MAX_JSON_BYTES``) refuses its file before any of it is staged; the problem names the
    record and the field."""
    targets: list[tuple[dict, object, tuple[str, ...]]] = [
        (row, row.get("_at"), JSON_COLUMNS) for rows in out.rows.values() for row in rows
    ]
    targets += [(run, "$", ("metadata",)) for run in out.runs]
    for row, locator, columns in targets:
        for column in columns:
            value = row.get(column)
            if value is None or isinstance(value, str):
                continue
            try:
                text = orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()
            except orjson.JSONEncodeError as exc:
                return Problem(str(locator), column, f"cannot be stored ({exc}): nested too deeply")
            if len(text) > MAX_JSON_BYTES:
                return Problem(
                    str(locator),
                    column,
                    f"{len(text) / 2**20:.1f} MB of extra fields (at most {MAX_JSON_BYTES >> 20} MB)",
                )
            row[column] = text
    return None


class _NonFinite:
    """A ``NaN`` or ``Infinity`` that Python's json module wrote (orjson refuses them)."""

    def __init__(self, text: str) -> None:
        self.text = text


def _with_non_finite(data: bytes, found: list[str]) -> object | None:
    """The document read with NaN and ±Infinity allowed, each replaced by null (missing) and
    its JSON path added to ``found``; None when the file is not JSON even so."""
    if b"NaN" not in data and b"Infinity" not in data:
        return None
    try:
        doc = json.loads(data, parse_constant=_NonFinite)
    except ValueError:  # also UnicodeDecodeError
        return None
    return _scrub(doc, "$", found)


def _scrub(value: object, path: str, found: list[str]) -> object:
    if isinstance(value, _NonFinite):
        found.append(f"{path} ({value.text})")
        return None
    if isinstance(value, dict):
        return {k: _scrub(v, f"{path}.{k}", found) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def _note_non_finite(out: Extraction, found: list[str]) -> int:
    """NaN in an optional field is stored as NULL with a note on the run. A record that NaN
    leaves without a required measurement is refused alone (the rest of the file goes in),
    its problem saying the file had NaN there, not "missing". Returns how many problems are
    such refusals."""
    for run in range(len(out.runs)):
        out.note(
            run,
            f"not-a-number values stored as NULL: {', '.join(found[:20])}"
            + (f" and {len(found) - 20} more" if len(found) > 20 else ""),
        )
    refused = 0
    for index, problem in enumerate(out.problems):
        at = [f for f in found if problem.locator and f.startswith(f"{problem.locator}.")]
        if at:
            refused += 1
            out.problems[index] = Problem(
                problem.locator,
                problem.field,
                f"{problem.reason}: the file has NaN/Infinity at {', '.join(at)}",
            )
    return refused


def _quarantine(parsed: ParsedFile, problem: Problem) -> ParsedFile:
    parsed.status, parsed.problems = "quarantined", [problem]
    return parsed


# The keys that mark each format's document, to say which one a refused file resembles.
_SIGNATURES = {
    "pytest_benchmark": {"machine_info", "commit_info", "benchmarks", "datetime", "version"},
    "google_benchmark": {"context", "benchmarks"},
    "hyperfine": {"results"},
    "pyperf": {"version", "metadata", "benchmarks"},
    "benchmarkdotnet": {"Title", "HostEnvironmentInfo", "Benchmarks"},
    "benchdb_document": {"performance_results", "model_name", "hardware_type"},
}
# ... and the keys of each record of the formats that are lists of records.
_ROW_SIGNATURES = {
    "jmh": {"benchmark", "mode", "primaryMetric"},
    "github_action_benchmark_custom": {"name", "unit", "value"},
    "performance_rows": {"model_name", "hardware_type"},
}


def supported() -> str:
    """Every format this benchdb reads (`benchdb formats list` describes them)."""
    from benchdb_pipeline.ingest.formats import ADAPTERS, TEXT_ADAPTERS

    return ", ".join(a.name for a in (*ADAPTERS, *TEXT_ADAPTERS)) + " (see `benchdb formats list`)"


def _resemblance(doc: object) -> str:
    """Which supported format a refused document is closest to, and what it lacks."""
    if isinstance(doc, list):
        rows = [r for r in doc if isinstance(r, dict)]
        keys = set().union(*rows) if rows else set()
        name, signature = max(_ROW_SIGNATURES.items(), key=lambda item: len(item[1] & keys))
        if signature & keys:
            return (
                f"Its records resemble {name} but lack {sorted(signature - keys)} or their expected types. "
                f"Supported: {supported()}."
            )
    if isinstance(doc, dict):
        keys = set(doc)
        name, signature = max(_SIGNATURES.items(), key=lambda item: len(item[1] & keys))
        if signature & keys:
            return (
                f"It resembles {name} but lacks {sorted(signature - keys)} or their "
                f"expected types. Supported: {supported()}."
            )
    return f"Supported: {supported()}."


def _shape(doc: object) -> str:
    if isinstance(doc, dict):
        keys = list(doc)[:8]
        return f"an object with keys {keys}{' …' if len(doc) > 8 else ''}"
    if isinstance(doc, list):
        return f"a list of {type(doc[0]).__name__ if doc else 'nothing'}"
    return f"a bare {type(doc).__name__}"
