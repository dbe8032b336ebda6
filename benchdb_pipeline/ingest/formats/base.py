"""What every format adapter provides, and helpers they share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath

from benchdb_pipeline.ingest.normalize import KINDS, Extraction, Problem

SIMULATION_FLAGS = ("is_simulated", "simulated", "is_simulation")


@dataclass(frozen=True)
class Source:
    """The file a document came from, for names derived from it (never for values)."""

    path: str

    @property
    def stem(self) -> str:
        return PurePath(self.path).stem


class Adapter:
    """One producer format: recognise its structure, extract its records.

    ``matches`` looks at the structure of the parsed document only, never the file name.
    ``extract`` adds runs and records to the extraction; the rules do the normalising.
    """

    name: str = ""
    category: str = ""  # performance | compatibility | integration | web_platform | summary

    def matches(self, doc: object) -> bool:
        raise NotImplementedError

    def extract(self, doc: object, out: Extraction, source: Source) -> None:
        raise NotImplementedError

    def category_for(self, doc: object) -> str:
        """The ledger category of this document (most formats hold one kind of record)."""
        return self.category


def is_simulated(doc: Mapping) -> bool | None:
    """The document's own simulation flag, when it has one."""
    for key in SIMULATION_FLAGS:
        if isinstance(doc.get(key), bool):
            return doc[key]
    return None


def run_record(source: Source, test_type: str, doc: Mapping, **fields: object) -> dict:
    """A run record with the file-derived defaults and the document's simulation flag."""
    record: dict[str, object] = {"test_name": source.stem, "test_type": test_type}
    flag = is_simulated(doc)
    if flag is not None:
        record["is_simulated"] = flag
    record.update({k: v for k, v in fields.items() if v is not None})
    return record


def key_locator(parent: str, key: str) -> str:
    """JSON-path step for an object key, bracketed when it is not a plain identifier."""
    return f"{parent}.{key}" if key.isidentifier() else f'{parent}["{key}"]'


def object_entries(
    out: Extraction, mapping: Mapping, parent: str, what: str
) -> Iterator[tuple[str, str, Mapping]]:
    """(key, locator, value) for each object in ``mapping``; anything else is a problem."""
    for key, value in mapping.items():
        locator = key_locator(parent, key)
        if isinstance(value, Mapping):
            yield key, locator, value
        else:
            out.problems.append(Problem(locator, None, f"expected {what}, found {type(value).__name__}"))


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def overlay(defaults: Mapping, given: Mapping, kind: str = "performance") -> dict:
    """``defaults`` with ``given`` on top, where a given key replaces every default key that
    feeds the same column (``{"model": …}`` replaces a default ``model_name``)."""
    lookup = KINDS[kind].lookup
    columns = {lookup[key][0].column for key in given if key in lookup}
    kept = {k: v for k, v in defaults.items() if k not in lookup or lookup[k][0].column not in columns}
    return {**kept, **given}
