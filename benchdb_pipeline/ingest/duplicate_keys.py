"""Objects that give a key twice: JSON parsers keep the last value silently, so a file whose
duplicated keys disagree is ambiguous and refused, naming the object and the key.

In valid JSON every object key, and nothing else, is a string followed by a colon. So the
keys a file gives can be counted in its bytes and compared with the keys the parsed document
kept; only when they differ is the file read again, keeping every pair, to say where and
whether the values differ (equal values are one value written twice, and pass). The usual
count is cheap: ``":`` in the file against ``":`` in orjson's compact writing of the document,
which is exact when no key is spaced from its colon and no quote is written ``\u0022`` (a
``\":`` inside a string then appears at least as often in the file as in the rewriting);
otherwise a regular expression counts the keys and a walk counts the document's.
"""

from __future__ import annotations

import json
import re

import orjson

from benchdb_pipeline.ingest.normalize import Problem

_KEY = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"\s*:', re.S)
_SPACED_COLON = re.compile(rb'"\s+:')


def keys_kept(data: bytes, doc: object, keys: int | None = None) -> bool:
    """Whether ``doc`` kept every key ``data`` gives. ``keys``: the number of keys ``doc``
    holds where its caller counted them (records of scalars), which a string value holding
    ``":`` then sends to the exact count (no rewriting of the document to count)."""
    # a file without a backslash (most) has no \u0022: one pass of memchr, not a search
    if (b"\\" not in data or b"\\u0022" not in data) and not _SPACED_COLON.search(data):
        try:
            written = orjson.dumps(doc).count(b'":') if keys is None else keys
        except orjson.JSONEncodeError:  # nested deeper than orjson writes, or a huge integer
            pass
        else:
            if data.count(b'":') == written:
                return True
    return _KEY.subn(b"", data)[1] == _key_count(doc)


def _key_count(doc: object) -> int:
    count, stack = 0, [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count


class _Pairs(dict):
    """An object as parsed, with the keys it gave more than once and their values."""

    repeated: dict[str, list[object]]


def _keep_pairs(pairs: list[tuple[str, object]]) -> _Pairs:
    obj = _Pairs(pairs)
    obj.repeated = {}
    if len(obj) < len(pairs):
        for key, value in pairs:
            obj.repeated.setdefault(key, []).append(value)
        obj.repeated = {k: v for k, v in obj.repeated.items() if len(v) > 1}
    return obj


def duplicate_keys(data: bytes, doc: object) -> list[Problem]:
    """A problem for each object of ``doc`` (parsed from ``data``) that gives a key twice
    with different values."""
    if keys_kept(data, doc):
        return []
    try:
        pairs = json.loads(data, object_pairs_hook=_keep_pairs)
    except ValueError:  # read by orjson, not by json (never expected): nothing to add
        return []
    problems: list[Problem] = []
    stack: list[tuple[object, str]] = [(pairs, "$")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, _Pairs):
            for key, values in item.repeated.items():
                if any(value != values[0] for value in values[1:]):
                    shown = ", ".join(json.dumps(v)[:60] for v in values[:4])
                    problems.append(
                        Problem(path, key, f"given {len(values)} times with different values ({shown})")
                    )
            stack.extend((value, f"{path}.{key}") for key, value in item.items())
        elif isinstance(item, list):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(item))
    return sorted(problems, key=lambda p: (p.locator or "", p.field or ""))
