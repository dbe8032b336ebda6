"""A record submitted through an API: validated by the rules, spooled durably, then ingested.

The spool file is a canonical document in the incoming folder, written under a hidden name,
fsync'd, and published with a hard link that fails if the name exists: a request is either
wholly on disk under its id or not there at all, and an ``Idempotency-Key`` maps to one id,
so a retried request is stored once. The file is the record's provenance (path and content
hash in the ledger); the sensor or the next ingest picks up whatever was not stored at once.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from benchdb_pipeline.config import beside, db_path, incoming_dir
from benchdb_pipeline.errors import DatabaseConnectionError
from benchdb_pipeline.ingest.discovery import shown
from benchdb_pipeline.ingest.files import from_epoch_us, modified_us
from benchdb_pipeline.ingest.normalize import Problem
from benchdb_pipeline.ingest.parse import ParsedFile, parse_bytes
from benchdb_pipeline.ingest.pipeline import ingest_files
from benchdb_pipeline.warehouse.schema import ensure_schema, utc_now
from benchdb_pipeline.warehouse.store import session

SECTIONS = {
    "performance": "performance_results",
    "compatibility": "hardware_compatibility",
    "integration": "integration_test_results",
}
API_FOLDER = "api"


class InvalidRecord(ValueError):
    """The record breaks the rules; ``problems`` are (field, reason) pairs."""

    def __init__(self, problems: list[tuple[str | None, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{f}: {r}" if f else r for f, r in problems))


class IdempotencyConflict(ValueError):
    """An Idempotency-Key was used before with a different request body."""


class SpoolUnwritable(OSError):
    """The spool folder cannot take a submission (a full disk, a read-only mount)."""


def spool_problem(folder: Path) -> str | None:
    """Why the spool cannot take a write now, or None: a one-byte probe file is written (a
    full disk or a read-only mount refuses it) and removed; no fsync, /health is polled."""
    probe = folder / f".probe.{uuid.uuid4().hex[:8]}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(probe, "wb") as handle:
            handle.write(b"\0")
    except OSError as exc:
        return f"the spool {folder} cannot be written: {exc.strerror or exc}"
    finally:
        probe.unlink(missing_ok=True)
    return None


@dataclass(frozen=True)
class Submission:
    request_id: str
    path: Path
    replay: bool = False  # an earlier request with the same key already wrote it
    # the spooled file as ingestion reads it, parsed once while validating: the writer
    # stores it without reading the file back (None for a replay)
    parsed: ParsedFile | None = None


def spool_dir_for(db: str | Path) -> Path:
    """Where API records for ``db`` are spooled: the incoming folder the sensor watches for
    the configured warehouse, else a folder beside the given database (so a test or a second
    warehouse never feeds the main one)."""
    if Path(db).resolve() == db_path().resolve():
        return incoming_dir() / API_FOLDER
    return beside(db) / "incoming" / API_FOLDER


def open_warehouse(db: str | Path | None, spool_dir: str | Path | None) -> tuple[Path, Path]:
    """The warehouse path (default ``$BENCHDB_DB``) with its schema ensured, and its spool."""
    path = Path(db) if db else db_path()
    with session(path) as con:
        ensure_schema(con)
    return path, Path(spool_dir) if spool_dir else spool_dir_for(path)


def store_now(db: Path, submission: Submission) -> str:
    """Ingest a spooled submission at once: stored, quarantined, or spooled when another
    process holds the database (the file stays for the sensor or the next ingest)."""
    try:
        report = ingest_files(db, [str(submission.path)], workers=1)
    except DatabaseConnectionError:
        return "spooled"
    status = report.outcomes[0].status if report.outcomes else "known"
    return "stored" if status in ("ingested", "known") else status


def request_id(idempotency_key: str | None) -> str:
    if idempotency_key:
        return "k" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:31]
    return "r" + uuid.uuid4().hex[:31]


# What one submitted record may hold: limits checked before anything is written, so a 202
# always means "will be stored" (orjson writes at most 254 levels; rows this deep are bugs).
MAX_DEPTH = 32
MAX_TEXT = 65_536


def check_limits(body: object) -> None:
    """Refuse a body nested deeper than ``MAX_DEPTH``, with text longer than ``MAX_TEXT``
    characters or not valid Unicode (a lone surrogate), or a whole number beyond 64 bits;
    each problem names the field by its path."""
    problems: list[tuple[str | None, str]] = []
    stack: list[tuple[object, str, int]] = [(body, "", 0)]
    while stack and len(problems) < 20:
        value, path, depth = stack.pop()
        if isinstance(value, Mapping) or isinstance(value, list):
            if depth >= MAX_DEPTH:
                problems.append((path or None, f"nested deeper than {MAX_DEPTH} levels"))
                continue
            items = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, item in items:
                if isinstance(key, str):
                    _check_text(key, f"{path}.{key}" if path else key, problems, what="a key")
                stack.append((item, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, str):
            _check_text(value, path, problems)
        elif isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
            problems.append((path or None, "a whole number beyond 64 bits"))
    if problems:
        raise InvalidRecord(problems)


def _check_text(text: str, path: str, problems: list, what: str = "text") -> None:
    if len(text) > MAX_TEXT:
        problems.append((path or None, f"{what} of {len(text):,} characters (at most {MAX_TEXT:,})"))
    elif not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            problems.append((path or None, f"{what} that is not valid Unicode (a lone surrogate)"))


def _body_hash(body: Mapping) -> str:
    check_limits(body)
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def document(
    sections: Mapping[str, list],
    run: Mapping,
    rid: str,
    body_hash: str,
    source: str = "api",
    client: str | None = None,
) -> dict:
    """The canonical document of submitted records, with their provenance in the run."""
    kinds = [kind for kind, section in SECTIONS.items() if sections.get(section)] or ["performance"]
    return {
        "test_run": {
            "test_name": f"{source} {kinds[0]}",
            "test_type": kinds[0],
            **run,
            "metadata": {
                **(run.get("metadata") or {}),
                "source": source,
                "request_id": rid,
                "client": client,
                "received_at": utc_now().isoformat(),
                "body_sha256": body_hash,
            },
        },
        **{section: [dict(r) for r in records] for section, records in sections.items()},
    }


def _parsed(data: bytes, path: Path, describe: Callable[[Problem], tuple[str | None, str]]) -> ParsedFile:
    """The file ``data`` would be, read as ingestion reads it: a record that breaks the rules
    is refused before anything is written."""
    parsed = parse_bytes(data, shown(str(path)))
    if parsed.problems:
        raise InvalidRecord([describe(p) for p in parsed.problems])
    return parsed


def spool(folder: Path, kind: str, record: Mapping, **options) -> Submission:
    """Validate and durably write one record (see ``spool_records``)."""
    return spool_records(folder, {SECTIONS[kind]: [record]}, **options)


def spool_records(
    folder: Path,
    sections: Mapping[str, list],
    run: Mapping | None = None,
    *,
    idempotency_key: str | None = None,
    source: str = "api",
    client: str | None = None,
) -> Submission:
    """Validate and durably write records (by section) and their run as one document; a
    repeated idempotency key returns the first submission."""
    rid = request_id(idempotency_key)
    path = folder / f"{rid}.json"
    body_hash = _body_hash({"run": run or {}, **sections})
    if path.exists():
        return _replay(path, body_hash, rid)
    data = orjson.dumps(document(sections, run or {}, rid, body_hash, source, client))
    parsed = _parsed(data, path, lambda p: (p.field, p.reason))
    return _publish(folder, rid, data, body_hash, parsed)


def spool_file(folder: Path, data: bytes, *, idempotency_key: str | None = None) -> Submission:
    """Validate and durably write a whole result file in any supported format, as it is."""
    rid = request_id(idempotency_key)
    path = folder / f"{rid}.json"
    body_hash = hashlib.sha256(data).hexdigest()
    if path.exists():
        return _replay(path, body_hash, rid)
    # a record refused for NaN too: the client can fix and resend
    parsed = _parsed(
        data, path, lambda p: (p.field, p.reason if not p.locator else f"{p.locator}: {p.reason}")
    )
    return _publish(folder, rid, data, body_hash, parsed)


def _publish(folder: Path, rid: str, data: bytes, body_hash: str, parsed: ParsedFile) -> Submission:
    """Write under a hidden name, fsync, then link to the id's name (atomic; fails if taken)."""
    path = folder / f"{rid}.json"
    partial = folder / f".{rid}.{uuid.uuid4().hex[:8]}.json.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:  # nothing half-written stays behind; the client may retry
        partial.unlink(missing_ok=True)
        raise SpoolUnwritable(f"the spool {folder} cannot be written: {exc.strerror or exc}") from None
    try:
        os.link(partial, path)
    except FileExistsError:
        return _replay(path, body_hash, rid)
    finally:
        partial.unlink()
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    modified = from_epoch_us(modified_us(path.stat()))  # as an ingest of the file would read it
    return Submission(rid, path, parsed=replace(parsed, modified_at=modified))


def _replay(path: Path, body_hash: str, rid: str) -> Submission:
    data = path.read_bytes()
    try:
        earlier = orjson.loads(data)["test_run"]["metadata"]["body_sha256"]
    except (KeyError, TypeError, orjson.JSONDecodeError):
        earlier = hashlib.sha256(data).hexdigest()  # a whole file spooled as it came
    if earlier != body_hash:
        raise IdempotencyConflict(f"Idempotency-Key already used for a different request ({rid})")
    return Submission(rid, path, replay=True)
