"""What every format adapter provides, and helpers they share."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from benchdb_pipeline.ingest.normalize import KINDS, Extraction, Problem, route_device
from benchdb_pipeline.ingest.rules import hardware_type_of

SIMULATION_FLAGS = ("is_simulated", "simulated", "is_simulation")


@dataclass(frozen=True)
class Source:
    """The file a document came from, for names derived from it (never for values)."""

    path: str

    @property
    def stem(self) -> str:
        """The file name without its last suffix, as ``PurePath.stem`` gives it for a file's
        path (a bulk ingest asks it of every file: a PurePath costs ~10 µs)."""
        name = self.path.rpartition("/")[2]
        dot = name.rfind(".")
        return name[:dot] if 0 < dot < len(name) - 1 else name


class Adapter:
    """One producer format: recognise its structure, extract its records.

    ``matches`` looks at the structure of the parsed document only, never the file name.
    ``extract`` adds runs and records to the extraction; the rules do the normalising.
    """

    name: str = ""
    category: str = ""  # performance | compatibility | integration | web_platform | summary
    shape: str = ""  # what a file of this format looks like, for `benchdb formats list`

    # ``doc`` is parsed JSON: ``matches`` takes anything, ``extract`` and ``category_for`` a
    # document ``matches`` accepted (each adapter annotates the type it then relies on).
    def matches(self, doc: Any) -> bool:
        raise NotImplementedError

    def extract(self, doc: Any, out: Extraction, source: Source) -> None:
        raise NotImplementedError

    def category_for(self, doc: Any) -> str:
        """The ledger category of this document (most formats hold one kind of record)."""
        return self.category


class TextAdapter(Adapter):
    """A producer that writes text, not JSON: ``parse_text`` reads its output into a structure
    that ``extract`` takes, and ``recognises`` tells from the start of a file, cheaply, whether
    it is worth reading (a folder scan asks it of every ``*.txt``/``*.log``)."""

    def matches(self, doc: Any) -> bool:
        return False  # never a JSON document

    def recognises(self, head: str) -> bool:
        raise NotImplementedError

    def parse_text(self, text: str) -> object | None:
        """The structure ``extract`` reads; None when the text holds none of this format."""
        raise NotImplementedError


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


def mapping_at(doc: Mapping, key: str) -> Mapping:
    """The object under ``key``, or an empty one where it is missing or not an object."""
    found = doc.get(key)
    return found if isinstance(found, Mapping) else {}


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


def split_parameters(name: str, params: Mapping) -> tuple[dict, str]:
    """Parameters that name a column (``batch_size``, ``model``…) as fields, and the test
    case: ``name`` with the other parameters (``name[size=10,mode=fast]``), so that results
    of different parameters are different series."""
    fields = {k: v for k, v in params.items() if k in KINDS["performance"].lookup}
    rest = ",".join(f"{k}={v}" for k, v in params.items() if k not in KINDS["performance"].lookup)
    return fields, f"{name}[{rest}]" if rest else name


def is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# The host's CPU, which describes the platform only when the record ran on the CPU.
HOST_CPU_FIELDS = ("device_name", "compute_units", "hardware_metadata")


def on_host(host: Mapping, record: Mapping) -> dict:
    """``record`` (which may name its own hardware) with the host machine's fields beneath.

    A record that ran on an accelerator (``hardware: cuda``, ``device: cuda:0``, or a
    ``device`` naming a GPU) keeps the host name but not the host CPU's model or core count:
    those describe another device.
    """
    record = route_device(record)
    merged = overlay(host, record)
    hardware = _value_of(record, "hardware_type")
    kind = hardware_type_of(hardware) if isinstance(hardware, str) else None
    if kind is not None and kind != host.get("hardware_type"):
        for name in HOST_CPU_FIELDS:
            if name in host and _value_of(record, name) is None:
                merged.pop(name, None)
    return merged


def _value_of(record: Mapping, column: str) -> object:
    """The value a record gives for a column, under any of its aliases."""
    lookup = KINDS["performance"].lookup
    for key, value in record.items():
        hit = lookup.get(key)
        if hit is not None and hit[0].column == column:
            return value
    return None


def overlay(defaults: Mapping, given: Mapping, kind: str = "performance") -> dict:
    """``defaults`` with ``given`` on top, where a given key replaces every default key that
    feeds the same column (``{"model": …}`` replaces a default ``model_name``)."""
    lookup = KINDS[kind].lookup
    columns = {lookup[key][0].column for key in given if key in lookup}
    kept = {k: v for k, v in defaults.items() if k not in lookup or lookup[k][0].column not in columns}
    return {**kept, **given}
