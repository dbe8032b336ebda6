"""Plain lists of performance rows read as whole columns, for bulk ingests.

Most files of a bulk ingest are lists of flat rows (``performance_rows``), and per-record
Python is what bounds the per-file route (README, Speed). Here Arrow's JSON reader reads a
chunk's files into columns in one call, without a Python object per value (orjson reads the
files with a null, an escape or a byte not ASCII, and their values are gathered into typed
columns); each set of record keys is resolved to its columns once (``RecordKind`` plans it,
as for the per-file route), and every rule applies to a whole column in DuckDB: text values
(names, precisions, timestamps) are normalised once per distinct value by the per-file
route's own converters; numbers are converted and range-checked in SQL, where the results
identity is written too.

This route takes only the files it can prove it reads exactly as the per-file route would:
every record an object of known fields, each column given once, values of the expected JSON
type, in range, with nothing to report. Any other file (a unit key, an unknown field, a
number given as text, a value out of range, a repeated key, a file that is not a list…) is
handed back to the per-file route, which reads or quarantines it with its reasons. Both
routes stage the same rows, results identity included (a test holds them to it).
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter

import duckdb
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from benchdb_pipeline.config import max_file_bytes
from benchdb_pipeline.ingest.discovery import shown
from benchdb_pipeline.ingest.duplicate_keys import keys_kept
from benchdb_pipeline.ingest.files import read_file_us
from benchdb_pipeline.ingest.formats.base import Source
from benchdb_pipeline.ingest.normalize import (
    KINDS,
    MEASUREMENTS,
    Converter,
    default_factor,
    fixed_factor,
    largest_whole,
    plausible_maximum,
)
from benchdb_pipeline.ingest.rules import BOOL, FLOAT, INT, TEXT, TIMESTAMP, Rule
from benchdb_pipeline.warehouse.dimensions import HARDWARE_ATTRIBUTES, MODEL_ATTRIBUTES
from benchdb_pipeline.warehouse.identity import fingerprint, identity_fields, platform_key
from benchdb_pipeline.warehouse.staging import STAGING_SCHEMAS, StagedBatch, conformed

FORMAT, CATEGORY = "performance_rows", "performance"
_KIND = KINDS["performance"]
_RULES: dict[str, Rule] = {rule.column: rule for rule, *_ in _KIND.lookup.values()}
_SCALARS = (TEXT, INT, FLOAT, BOOL, TIMESTAMP)
_EXACT_INTEGER = 2.0**53  # whole numbers a double holds exactly
# A file's run, as ``run_record`` makes it (named after the file) and the run rules normalise
# it: its name converted per file, its type once.
_RUN_NAME: Converter = KINDS["run"].lookup["test_name"][1]
_RUN_TYPE = KINDS["run"].lookup["test_type"][1](CATEGORY, {})


@dataclass
class ColumnarRead:
    """Files read here (staged, with their outcomes: path, status, format, records) and the
    paths left to the per-file route."""

    batch: StagedBatch
    outcomes: list[tuple[str, str, str | None, int]] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)


@dataclass
class _File:
    path: str
    shown: str
    sha256: str
    size: int
    modified_us: int  # since the epoch, UTC
    test_name: str  # its run's, normalised
    # colons the file's text values must hold if no key is given twice (see ``_add_records``);
    # None where ``keys_kept`` made sure already
    colons: int | None


@dataclass
class _Group:
    """The records of one set of keys: their plan, their files, the records."""

    plan: dict[str, str]
    file_no: list[int] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)


def read_row_lists(
    paths: Sequence[str], known: frozenset[str] | set[str] = frozenset(), first_key: int = 0
) -> ColumnarRead:
    """Stage the files of ``paths`` this route reads; the others come back in ``rest``.
    Content whose hash is in ``known`` is staged as known, not read further.
    The batch's keys are ``first_key`` and up (a few per file and one per record)."""
    read = ColumnarRead(StagedBatch())
    files: list[_File] = []
    groups: dict[tuple[str, ...], _Group] = {}
    ledger_only: list[dict] = []
    plain: list[tuple[int, bytes]] = []  # (file number, text) of the files for Arrow's reader
    limit = max_file_bytes()
    for path in paths:
        try:
            data, modified_us = read_file_us(path, limit)
        except OSError:
            read.rest.append(path)  # the per-file route says why
            continue
        digest = hashlib.sha256(data).hexdigest()
        name = shown(path)
        if digest in known:
            ledger_only.append(
                {
                    "path": name,
                    "sha256": digest,
                    "size_bytes": len(data),
                    "status": "known",
                    "record_count": 0,
                    "file_modified_at": modified_us,
                }
            )
            read.outcomes.append((name, "known", None, 0))
            continue
        try:  # a file's run is named after it (``run_record``)
            test_name = _RUN_NAME(Source(name).stem, {})
        except ValueError:
            read.rest.append(path)  # the per-file route says why
            continue
        file = _File(path, name, digest, len(data), modified_us, str(test_name or FORMAT), None)
        if _plain(data):
            plain.append((len(files), data))
        else:
            taken, file.colons = _add_records(data, len(files), groups)
            if not taken:
                read.rest.append(path)  # the per-file route says why
                continue
        files.append(file)
    by_arrow, left = _read_plain(plain)
    for number, data in left:  # a file staged by neither reader goes to the per-file route below
        files[number].colons = _add_records(data, number, groups)[1]
    staged, accepted = (
        _stage(files, groups, by_arrow, first_key + len(ledger_only)) if files else (None, set())
    )
    for number, file in enumerate(files):
        if number not in accepted:
            read.rest.append(file.path)
    if staged is not None:
        read.batch = staged
        ingested = staged.tables["files"]
        read.outcomes += [
            (path, "ingested", FORMAT, records)
            for path, records in zip(
                ingested["path"].to_pylist(), ingested["record_count"].to_pylist(), strict=True
            )
        ]
    if ledger_only:
        known_rows = pa.Table.from_pylist(
            [{"file_key": first_key + n, **row} for n, row in enumerate(ledger_only)],
            schema=STAGING_SCHEMAS["files"],
        )
        read.batch.tables["files"] = pa.concat_tables([known_rows, read.batch.tables["files"]])
    return read


def _add_records(data: bytes, file_no: int, groups: dict[tuple[str, ...], _Group]) -> tuple[bool, int | None]:
    """Add a file's records to the groups of their keys, when it is a list of rows for this
    route: valid JSON (orjson decides, as for the per-file route), every record planned, and
    no key given twice (orjson keeps the last of a repeated key). A file refused is taken out
    of the groups again. Returns whether it was taken and, for a file without a backslash,
    the colons its text values must hold: in such a file every colon is a key's or inside a
    text (none is escaped, no key holds one: ``_plan``), so its colons less the keys orjson
    kept are its texts' colons exactly when no key was given twice, which the chunk's SQL
    checks per file from the texts' colons (~8 µs a file less than ``keys_kept``, the per-file
    route's check, which a file with a backslash still takes)."""
    if data[:1] != b"[":
        return False, None
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False, None
    if not doc:
        return False, None
    touched: list[_Group] = []
    keys_given = 0
    for record in doc:
        if type(record) is not dict:
            break
        keys = tuple(record)
        group = groups.get(keys)
        if group is None:
            plan = _plan(keys)
            if plan is None:
                break
            group = groups[keys] = _Group(plan)
        keys_given += len(keys)
        group.file_no.append(file_no)
        group.records.append(record)
        touched.append(group)
    else:
        if b"\\" not in data:
            return True, data.count(b":") - keys_given
        if keys_kept(data, doc, keys_given):
            return True, None
    for group in touched:  # each record appended once: take them back, last first
        group.file_no.pop()
        group.records.pop()
    return False, None


_PIECE_BYTES = 1 << 26  # the most text one read of Arrow's JSON reader is given


def _plain(data: bytes) -> bool:
    """Whether Arrow's JSON reader may read a file in place of orjson: a list in ASCII (Arrow
    does not check UTF-8, orjson refuses what is not), without escapes (a lone surrogate
    decodes otherwise), without null (Arrow reads a null as a key not given, which the plan
    of a record's keys tells apart), of at most 64 MiB (``_pieces``)."""
    return (
        data[:1] == b"["
        and len(data) <= _PIECE_BYTES
        and data.isascii()
        and b"\\" not in data
        and b"null" not in data
    )


# Arrow would read a text that looks like a time as a time: the times' keys stay texts.
_TEXT_TIMES = pa.struct(
    [pa.field(key, pa.string()) for key, (rule, *_) in _KIND.lookup.items() if rule.kind == TIMESTAMP]
)
_ROWS = pa.schema([pa.field("f", pa.int64()), pa.field("r", pa.list_(_TEXT_TIMES))])
_PARSE = pj.ParseOptions(explicit_schema=_ROWS, unexpected_field_behavior="infer", newlines_in_values=True)
_ERROR_ROW = re.compile(r" in row (\d+)$")


def _read_plain(plain: list[tuple[int, bytes]]) -> tuple[list[pa.Table], list[tuple[int, bytes]]]:
    """The columns (``file_no``, then each column's values) of the files ``plain`` holds that
    Arrow's JSON reader reads exactly as orjson would, and the files it leaves to orjson.

    The files are read as one text, a line ``{"f": n, "r": <file n>}`` each, by Arrow's JSON
    reader (C++: no Python object per value). It refuses the whole text where one file is
    not JSON, gives a key twice, or gives a value of another type than that key's before
    (numbers aside): the file it names goes to orjson, and the files before and after it are
    read again, apart (the files before it once more: each file is read twice at most). A
    read costs ~0.3 ms however short: past a number of such files the others go to orjson."""
    most_errors, errors = 16 + len(plain) // 64, 0
    tables: list[pa.Table] = []
    left: list[tuple[int, bytes]] = []
    pieces = _pieces(plain)
    while pieces:
        piece = pieces.pop()
        text = b"".join(b'{"f":%d,"r":%b}\n' % (n, data) for n, (_, data) in enumerate(piece))
        try:
            rows = pj.read_json(
                pa.BufferReader(text),
                read_options=pj.ReadOptions(use_threads=False, block_size=len(text) + 1),
                parse_options=_PARSE,
            )
        except pa.ArrowInvalid as error:
            found = _ERROR_ROW.search(str(error))
            at = int(found[1]) if found else len(piece)
            errors += 1
            if at >= len(piece) or errors > most_errors:
                left += piece
                continue
            left.append(piece[at])
            pieces += [part for part in (piece[:at], piece[at + 1 :]) if part]
            continue
        # a line a file, as written (a file's text that closed its line early to add keys or
        # lines is no list: orjson refuses it)
        if rows.column_names != ["f", "r"] or not np.array_equal(
            rows["f"].combine_chunks().to_numpy(), np.arange(len(piece))
        ):
            left += piece
            continue
        table, refused = _arrow_columns(rows["r"].combine_chunks(), np.array([n for n, _ in piece], np.int32))
        tables.append(table)
        left += [piece[at] for at in refused]
    return tables, left


def _pieces(plain: list[tuple[int, bytes]], most: int = _PIECE_BYTES) -> list[list[tuple[int, bytes]]]:
    """``plain`` in runs of files of at most ``most`` bytes together, each read at once (Arrow's
    reader takes a text of at most 2 GiB)."""
    pieces: list[list[tuple[int, bytes]]] = []
    size = 0
    for file in plain:
        if not pieces or size + len(file[1]) > most:
            pieces.append([])
            size = 0
        pieces[-1].append(file)
        size += len(file[1])
    return pieces


def _arrow_columns(lists: pa.ListArray, numbers: np.ndarray) -> tuple[pa.Table, list[int]]:
    """The columns of the files whose every record is planned and of the types the route
    reads, and the positions (in ``numbers``) of the other files. A record's keys are those
    it gives a value (no file here holds a null)."""
    records: pa.StructArray = lists.flatten()
    position = pc.list_parent_indices(lists).to_numpy()
    names = [field.name for field in records.type]
    if not names:  # lists of empty records, or empty lists: orjson's route refuses them
        return pa.table({"file_no": pa.array([], pa.int32())}), list(range(len(numbers)))
    given_keys = np.column_stack(
        [records.field(at).is_valid().to_numpy(zero_copy_only=False) for at in range(len(names))]
    )
    first, of_record = _distinct_rows(given_keys)
    readable = {field.name: _readable(field) for field in records.type}
    bad_sets = np.zeros(len(first), bool)
    given: dict[str, set[str]] = {}  # column → the keys that give it
    for number, bits in enumerate(given_keys[first].tolist()):
        # sorted: a chunk's keys come in the order Arrow met them, the plans are kept by keys
        plan = _plan(tuple(sorted(name for name, gives in zip(names, bits, strict=True) if gives)))
        if plan is None or not all(readable[key] for key in plan.values()):
            bad_sets[number] = True
            continue
        for column, key in plan.items():
            given.setdefault(column, set()).add(key)
    bad = bad_sets[of_record]
    for key in {key for keys in given.values() for key in keys}:
        values = records.field(key)
        if pa.types.is_float64(values.type):
            # an integer -0 is 0 to orjson, -0.0 to Arrow once doubles share its key: such a
            # file goes to orjson (one with -0.0 as well, which orjson reads alike)
            doubles = values.to_numpy(zero_copy_only=False)
            bad |= (doubles == 0) & np.signbit(doubles)
    arrays = {"file_no": pa.array(numbers[position], pa.int32())}
    for column in sorted(given):
        values = [_arrow_values(column, key, records.field(key)) for key in sorted(given[column])]
        arrays[column] = pc.coalesce(*values) if len(values) > 1 else values[0]
    table = pa.table(arrays)
    refused = np.unique(position[bad])
    if len(refused):
        table = table.filter(pa.array(~np.isin(position, refused)))
    return table, refused.tolist()


def _distinct_rows(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean matrix (each record's keys): the first record of each,
    and each record's number among them. The rows are packed into 64-bit words and told apart
    word by word (``np.unique(axis=0)`` sorts rows of bytes, ~10× slower)."""
    packed = np.packbits(flags, axis=1)
    packed = np.pad(packed, ((0, 0), (0, -packed.shape[1] % 8))).view(np.uint64)
    _, first, of_row = np.unique(packed[:, 0], return_index=True, return_inverse=True)
    for word in packed.T[1:]:
        _, number = np.unique(word, return_inverse=True)
        _, first, of_row = np.unique(
            of_row * (number.max() + 1) + number, return_index=True, return_inverse=True
        )
    return first, of_row.reshape(-1)


def _readable(key: pa.Field) -> bool:
    """Whether Arrow read a key's values as the type orjson reads for its column (a key the
    plan does not know is never asked about)."""
    if key.name not in _KIND.lookup:
        return False
    kind, given = _KIND.lookup[key.name][0].kind, key.type
    if kind in (TEXT, TIMESTAMP):
        return pa.types.is_string(given)
    if kind == BOOL:
        return pa.types.is_boolean(given)
    return pa.types.is_int64(given) or pa.types.is_float64(given)


def _arrow_values(column: str, key: str, values: pa.Array) -> pa.Array:
    """A key's values as the column holds them: numbers as doubles times the key's unit factor
    (a whole number too large for a double exactly is refused by the chunk's SQL, as by
    ``_column``: it rounds to 2**53 or more)."""
    if _RULES[column].kind not in (INT, FLOAT):
        return values
    values = values.cast(pa.float64(), safe=False)
    factor = _factor(column, key) or 1.0
    return pc.multiply(values, factor) if factor != 1.0 else values


@functools.lru_cache(maxsize=4096)
def _plan(keys: tuple[str, ...]) -> dict[str, str] | None:
    """Column → the key that gives it, for records with these keys; None when a record with
    them is not for this route (a unit key, an unknown key, a device to route, a column given
    twice, or a value this route does not convert)."""
    if "device" in keys or any(":" in key for key in keys):
        return None
    steps, unit_keys, extra = _KIND.plan(keys)
    if unit_keys or extra or len(steps) != len(keys):
        return None
    columns = {column: key for key, column, _ in steps}
    if any(_RULES[column].kind not in _SCALARS for column in columns):
        return None
    return columns if "model_name" in columns and "hardware_type" in columns else None


@functools.cache
def _database() -> duckdb.DuckDBPyConnection:
    """One in-memory database a process: each chunk takes a cursor of it (a connection of its
    own, temporary tables included) without the ~9 ms of opening a database."""
    return duckdb.connect(config={"preserve_insertion_order": False, "threads": 1})


def _stage(
    files: list[_File], groups: dict, by_arrow: list[pa.Table], first_key: int
) -> tuple[StagedBatch | None, set[int]]:
    con = _database().cursor()
    try:
        return _Columns(con, files, first_key).stage(list(groups.values()), by_arrow)
    finally:
        con.close()


# The types a column's values may have here (JSON null is missing; a bool is not a number).
_TYPES = {TEXT: (str,), TIMESTAMP: (str,), BOOL: (bool,), INT: (int, float), FLOAT: (int, float)}
_ARROW = {TEXT: pa.string(), TIMESTAMP: pa.string(), BOOL: pa.bool_(), INT: pa.float64(), FLOAT: pa.float64()}


class _Columns:
    """One chunk of files in an in-memory DuckDB: the records' columns, then the rows."""

    def __init__(self, con: duckdb.DuckDBPyConnection, files: list[_File], first_key: int) -> None:
        self.con, self.files, self.first_key = con, files, first_key
        self.table = pa.table({})  # the records' columns, as read (``vals``)
        self.unrendered: set[str] = set()  # text columns with a value the converter makes None
        self.line = "NULL"  # SQL of a row's line of the results identity, over ``vals``

    def stage(self, groups: list[_Group], by_arrow: list[pa.Table]) -> tuple[StagedBatch | None, set[int]]:
        table = pa.concat_tables([self._grouped(groups), *by_arrow], promote_options="default")
        columns = sorted(name for name in table.column_names if name != "file_no")
        self.table = table
        for column in columns:
            if _RULES[column].kind in (TEXT, TIMESTAMP):
                for name, values in self._text_values(column).items():
                    table = table.append_column(f"{column}__{name}", values)
        expected = pa.array([file.colons for file in self.files], pa.int64())
        table = table.append_column("file_colons", expected.take(table["file_no"]))
        self.con.register("vals", table)
        return self._assemble(columns)

    def _grouped(self, groups: list[_Group]) -> pa.Table:
        """The columns of the records orjson read (``file_no`` first), without the files
        holding a value of a type this route does not read."""
        columns = sorted({column for group in groups for column in group.plan})
        file_no = [n for group in groups for n in group.file_no]
        refused: set[int] = set()
        arrays = {"file_no": pa.array(file_no, pa.int32())}
        for column, values in _gathered(columns, groups).items():
            arrays[column] = self._column(column, values, groups, file_no, refused)
        table = pa.table(arrays)
        if refused:
            table = table.filter(pc.invert(pc.is_in(table["file_no"], pa.array(sorted(refused), pa.int32()))))
        return table

    def _column(
        self, column: str, values: list, groups: list[_Group], file_no: list[int], refused: set[int]
    ) -> pa.Array:
        """A column's values as read, every group's in turn (numbers as doubles, times the unit
        factor of their key), NULL where a group has no such key."""
        rule = _RULES[column]
        allowed = _TYPES[rule.kind]
        if not set(map(type, values)) <= {*allowed, type(None)}:
            for number, value in zip(file_no, values, strict=True):
                if value is not None and type(value) not in allowed:
                    refused.add(number)
            values = [v if type(v) in allowed else None for v in values]
        try:
            array = pa.array(values, _ARROW[rule.kind])
        except (pa.ArrowInvalid, OverflowError):  # an integer a double cannot hold exactly
            for number, value in zip(file_no, values, strict=True):
                if type(value) is int and abs(value) >= _EXACT_INTEGER:
                    refused.add(number)
            array = pa.array(
                [v if type(v) is not int or abs(v) < _EXACT_INTEGER else None for v in values],
                _ARROW[rule.kind],
            )
        if rule.kind in (INT, FLOAT):
            factors = [_factor(column, group.plan.get(column)) or 1.0 for group in groups]
            if any(f != 1.0 for f in factors):
                sizes = [len(group.records) for group in groups]
                array = pc.multiply(array, pa.array(np.repeat(factors, sizes), pa.float64()))
        return array

    def _text_values(self, column: str) -> dict[str, pa.Array]:
        """Each row's text of the column normalised by the per-file route's converter (once per
        distinct text; looked up in Arrow, not joined in SQL): ``value``, its JSON as the
        identity writes it (``json``), and ``ok``, false where the converter refuses it."""
        convert: Converter = _KIND.lookup[column][1]
        distinct = pc.unique(self.table[column].drop_null())
        raw = distinct.to_pylist()
        values: list[object] = []
        rendered: list[str | None] = []
        ok: list[bool] = []
        for text in raw:
            try:
                value = convert(text, {})
            except ValueError:
                value, good = None, False
            else:
                good = True
            values.append(value)
            rendered.append(orjson.dumps(value).decode() if value is not None else None)
            if value is None:
                self.unrendered.add(column)
            ok.append(good)
        kind = pa.timestamp("us") if _RULES[column].kind == TIMESTAMP else pa.string()
        at = pc.index_in(self.table[column], value_set=distinct)
        return {
            "value": pa.array(values, kind).take(at),
            "json": pa.array(rendered, pa.string()).take(at),
            "ok": pa.array(ok, pa.bool_()).take(at),
            "colons": pa.array([text.count(":") for text in raw], pa.int32()).take(at),
        }

    def _assemble(self, columns: list[str]) -> tuple[StagedBatch | None, set[int]]:
        """rows: each record's values, and whether all of them are read. Its line of the
        results identity (``results_identity``'s JSON of the row: sorted keys, no spaces) is
        written where the identities are made, of the kept rows only (``self.line``)."""
        con = self.con
        selects, checks = [], []
        identity: dict[str, str] = {"kind": "'\"performance\"'"}
        for c in columns:
            rule, d = _RULES[c], f"vals.{c}"
            if rule.kind in (TEXT, TIMESTAMP):
                selects.append(f"{d}__value AS {c}")
                checks.append(f"({d} IS NULL OR {d}__ok)")
                identity[c] = f"{d}__json"
            elif rule.kind == BOOL:
                selects.append(f"{d} AS {c}")
                identity[c] = f"{d}::VARCHAR"
            else:
                conditions = [f"isfinite({d})", f"abs({d}) < {_EXACT_INTEGER!r}"]
                if rule.minimum is not None:
                    conditions.append(f"{d} {'>' if rule.exclusive else '>='} {rule.minimum!r}")
                plausible = plausible_maximum(rule)
                if plausible is not None:
                    conditions.append(f"{d} <= {plausible!r}")
                if rule.kind == INT:
                    conditions += [f"{d} = trunc({d})", f"{d} <= {largest_whole(rule)}"]
                    value = f"TRY_CAST({d} AS BIGINT)"
                else:
                    # written alike by DuckDB and orjson (exponents differ outside this range)
                    conditions.append(f"({d} = 0 OR (abs({d}) >= 1e-4 AND abs({d}) < 1e16))")
                    value = d
                # a value out of bounds refuses its file: the row and its line are not used
                selects.append(f"{value} AS {c}")
                checks.append(f"({d} IS NULL OR ({' AND '.join(conditions)}))")
                identity[c] = f"{value}::VARCHAR"
        identity["status"] = "coalesce(vals.status__json, '\"ok\"')" if "status" in columns else "'\"ok\"'"
        # without a measured time no file has an identity (``results_identity``)
        if "measured_at" in columns:
            self.line = _identity_line(identity, self._nullable(columns))
        texts = [c for c in columns if _RULES[c].kind in (TEXT, TIMESTAMP)]
        colons = " + ".join(f"coalesce(vals.{c}__colons, 0)" for c in texts) or "0"
        con.execute(
            f"""
            CREATE TEMP TABLE rows AS
            SELECT vals.file_no, {", ".join(selects)}, {" AND ".join(checks) or "true"} AS ok,
                   vals.file_colons, {colons} AS colons
            FROM vals
            """
        )
        measured = " OR ".join(f"{c} IS NOT NULL" for c in MEASUREMENTS if c in columns) or "false"
        status = "coalesce(status, 'ok')" if "status" in columns else "'ok'"
        # A file goes in here only when every record of it is a row read in full.
        verdicts = con.execute(
            f"""
            SELECT file_no,
                   bool_and(coalesce(ok AND model_name IS NOT NULL AND hardware_type IS NOT NULL
                                     AND ({measured} OR {status} = 'failed'), false))
                   AND (any_value(file_colons) IS NULL OR sum(colons) = any_value(file_colons))
            FROM rows GROUP BY file_no
            """
        ).fetchall()
        accepted = {number for number, good in verdicts if good}
        if not accepted:
            return None, set()
        return self._batch(
            set(columns), status, accepted if len(accepted) < len(verdicts) else None
        ), accepted

    def _batch(self, present: set[str], status: str, accepted: set[int] | None) -> StagedBatch:
        """The staged tables of the ``accepted`` files' rows (None: every file's)."""
        con, first = self.con, self.first_key
        count = len(self.files)
        # Keys unique in the batch: files from first_key, then their runs, then the rows.
        run_base = first + count
        only_good = ""  # the accepted files' rows of a table with ``file_no``
        if accepted is not None:
            con.register("good", pa.table({"file_no": pa.array(sorted(accepted), pa.int32())}))
            only_good = "SEMI JOIN good USING (file_no)"
        con.execute(f"CREATE TEMP VIEW kept AS SELECT rows.*, {status} AS status_ok FROM rows {only_good}")
        timed = "bool_and(measured_at IS NOT NULL)" if "measured_at" in present else "false"
        started = "min(measured_at)" if "measured_at" in present else "NULL::TIMESTAMP"
        simulated = "bool_or(coalesce(is_simulated, false))" if "is_simulated" in present else "false"
        per_file = con.execute(
            f"""
            SELECT file_no, count(*) AS record_count, {timed} AS identified, {started} AS started_at,
                   {simulated} AS is_simulated
            FROM kept GROUP BY file_no
            """
        ).to_arrow_table()
        numbers = per_file["file_no"].to_pylist()
        files = [self.files[n] for n in numbers]
        keys = pc.add(per_file["file_no"].cast(pa.int64()), first)
        identities = self._identities(numbers, per_file["identified"].to_pylist(), only_good)
        batch = StagedBatch(
            {
                "files": conformed(
                    pa.table(
                        {
                            "file_key": keys,
                            "path": [f.shown for f in files],
                            "sha256": [f.sha256 for f in files],
                            "size_bytes": [f.size for f in files],
                            "format": [FORMAT] * len(files),
                            "category": [CATEGORY] * len(files),
                            "status": ["ingested"] * len(files),
                            "record_count": per_file["record_count"],
                            "file_modified_at": pa.array([f.modified_us for f in files], pa.timestamp("us")),
                            "results_sha256": identities,
                        }
                    ),
                    STAGING_SCHEMAS["files"],
                ),
                "test_runs": conformed(
                    pa.table(
                        {
                            "run_key_local": pc.add(keys, count),
                            "file_key": keys,
                            "run_key": [f"{f.sha256}#0" for f in files],
                            "test_name": [f.test_name for f in files],
                            "test_type": [_RUN_TYPE] * len(files),
                            "started_at": per_file["started_at"],
                            "is_simulated": per_file["is_simulated"],
                        }
                    ),
                    STAGING_SCHEMAS["test_runs"],
                ),
            }
        )
        batch.tables.update(self._facts(present, run_base, first))
        return batch

    def _identities(self, numbers: list[int], identified: list[bool], only_good: str) -> list[str | None]:
        """Each file's results identity (``results_identity``: the sha256 of its rows' lines,
        sorted, one a line), None for a file with a row measured at no given time. The lines
        are sorted and joined per file by Arrow (bytewise, as Python sorts the per-file
        route's), and each file's text hashed where it lies, never made a Python string."""
        if not any(identified):
            return [None] * len(numbers)
        rows = self.con.execute(f"SELECT file_no, {self.line} AS line FROM vals {only_good}").to_arrow_table()
        rows = rows.sort_by([("file_no", "ascending"), ("line", "ascending")])
        file_no = rows["file_no"].to_numpy()
        starts = np.flatnonzero(np.diff(file_no)) + 1
        bounds = np.concatenate(([0], starts, [len(file_no)])).astype(np.int32)
        texts = pc.binary_join(pa.ListArray.from_arrays(bounds, rows["line"].combine_chunks()), "\n")
        _, offsets_buffer, data_buffer = texts.buffers()
        offsets = np.frombuffer(offsets_buffer, np.int32)[
            texts.offset : texts.offset + len(texts) + 1
        ].tolist()
        data = memoryview(data_buffer) if data_buffer is not None else memoryview(b"")
        digest = {
            number: hashlib.sha256(data[start:end]).hexdigest()
            for number, start, end in zip(
                file_no[bounds[:-1]].tolist(), offsets[:-1], offsets[1:], strict=True
            )
        }
        return [digest[n] if timed else None for n, timed in zip(numbers, identified, strict=True)]

    def _nullable(self, columns: list[str]) -> set[str]:
        """The columns whose identity text is NULL in some row (a value not given, or a text
        the converter makes nothing of)."""
        return {c for c in columns if self.table[c].null_count} | self.unrendered

    def _facts(self, present: set[str], run_base: int, first: int) -> dict[str, pa.Table]:
        con, count = self.con, len(self.files)
        models = self._dimension(
            "models",
            ["model_name"],
            lambda row: row["model_name"].lower(),
            MODEL_ATTRIBUTES,
            present,
            sources={"display_name": "model_name"},  # a model's name as its files spell it
        )
        fields = ("hardware_type", *identity_fields())
        chosen = [f for f in fields if f in present]
        platforms = self._dimension("hardware_platforms", chosen, platform_key, HARDWARE_ATTRIBUTES, present)
        match = " AND ".join(f"k.{c} IS NOT DISTINCT FROM p.{c}" for c in chosen)
        con.execute(
            f"""
            CREATE TEMP VIEW keyed AS
            SELECT k.*, m.key AS model_key, p.key AS platform_key
            FROM kept k JOIN d_models m ON m.model_name = k.model_name
            JOIN d_hardware_platforms p ON {match}
            """
        )
        given = {
            "row_key": f"{run_base + count} + row_number() OVER ()",
            "run_key_local": f"{run_base} + file_no",
            "file_key": f"{first} + file_no",
            "model_name": "model_key",
            "platform_key": "platform_key",
            "status": "status_ok",
        }
        fact = STAGING_SCHEMAS["performance_results"]
        facts = con.execute(
            "SELECT "
            + ", ".join(
                f"{given.get(f.name, f.name)} AS {f.name}"
                for f in fact
                if f.name in given or f.name in present
            )
            + " FROM keyed"
        ).to_arrow_table()
        fingerprints = [fingerprint(k) for k in platforms["platform_key"].to_pylist()]
        at = platforms.schema.get_field_index("fingerprint")
        return {
            "performance_results": conformed(facts, fact),
            "models": models,
            "hardware_platforms": platforms.set_column(
                at, "fingerprint", pa.array(fingerprints, pa.string())
            ),
        }

    def _dimension(
        self,
        table: str,
        by: list[str],
        key_of: Callable[[dict], str],
        attributes: tuple[str, ...],
        present: set[str],
        sources: dict[str, str] | None = None,
    ) -> pa.Table:
        """A dimension's rows, one a key (``key_of`` the values of ``by``): each attribute the
        smallest any row gives, as the batch builder merges them (``sources``: attributes read
        from another column). The rows are grouped by ``by`` first, and only those few groups
        are keyed (d_<table>: ``by`` and ``key``) and merged by key."""
        sources = sources or {}
        given = [(a, sources.get(a, a)) for a in attributes if sources.get(a, a) in present]
        groups = self.con.execute(
            f"SELECT {', '.join(by)}"
            + "".join(f", min({c}) AS {a}" for a, c in given if a not in by)
            + " FROM kept GROUP BY ALL"
        ).to_arrow_table()
        keys = [key_of(row) for row in groups.select(by).to_pylist()]
        self.con.register(f"d_{table}", groups.append_column("key", pa.array(keys, pa.string())))
        name = STAGING_SCHEMAS[table].names[0]
        merged = self.con.execute(
            f"SELECT key AS {name}"
            + "".join(f", min({a}) AS {a}" for a, _ in given)
            + f" FROM d_{table} GROUP BY key"
        ).to_arrow_table()
        return conformed(merged, STAGING_SCHEMAS[table])


def _factor(column: str, alias: str | None) -> float | None:
    """The unit factor of a column's value under ``alias`` (records here declare no unit)."""
    if alias is None:
        return None
    rule = _RULES[column]
    unit = _KIND.lookup[alias][0].all_aliases()[alias]
    fixed = fixed_factor(rule, unit)
    return fixed if fixed is not None else default_factor(rule)


def _identity_line(fields: dict[str, str], nullable: set[str]) -> str:
    """SQL of a row's line of the results identity: its JSON (``fields``: each field's JSON
    text in SQL), keys sorted, no spaces, a field left out where its text is NULL, as the row
    leaves it out. Every row gives ``kind``: the fields before it end with their comma, those
    after it begin with one, and a field never NULL is one more argument of ``concat``, not a
    text of its own (``concat`` skips NULLs; this is ~40 % faster than ``concat_ws``)."""
    parts = ["'{'"]
    for name, text in sorted(fields.items()):
        key, comma = (f'"{name}":', ",") if name < "kind" else (f',"{name}":', "")
        if name == "kind":
            key = f'"{name}":'
        if name in nullable:
            parts.append(f"('{key}' || {text}" + (f" || '{comma}')" if comma else ")"))
        else:
            parts += [f"'{key}'", text] + ([f"'{comma}'"] if comma else [])
    return f"concat({', '.join(parts)}, '}}')"


def _gathered(columns: list[str], groups: list[_Group]) -> dict[str, list]:
    """Each column's values, every group's records in turn (None where a group has no such
    key): a group's records are read once, all their columns at a time."""
    values: dict[str, list] = {column: [] for column in columns}
    for group in groups:
        if not group.records:  # its files were refused
            continue
        given = [column for column in columns if column in group.plan]
        if len(given) == 1:
            values[given[0]] += map(itemgetter(group.plan[given[0]]), group.records)
        else:
            read = zip(*map(itemgetter(*(group.plan[c] for c in given)), group.records), strict=True)
            for column, got in zip(given, read, strict=True):
                values[column] += got
        for column in columns:
            if column not in group.plan:
                values[column] += [None] * len(group.records)
    return values


def chosen(categories: Iterable[str]) -> bool:
    """Whether an ingest of these categories (none: every one) takes this route's files."""
    categories = set(categories)
    return not categories or CATEGORY in categories
