"""Which machine a result ran on: the platform key, a fingerprint of what makes results
comparable.

Results of two machines are one series only when every identity field that both files give
is equal: hardware type, device (CPU or accelerator model), core or thread count, memory,
accelerator count, and the host name when the file names no device (nothing better tells
hosts apart). A field a file does not give stays out of the key rather than being guessed.

The fields are a setting: ``BENCHDB_PLATFORM_IDENTITY`` (comma-separated, from
``IDENTITY_FIELDS``; hardware type is always part). Changing it changes the keys of new
results only; existing platforms keep the keys they were given.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

IDENTITY_ENV = "BENCHDB_PLATFORM_IDENTITY"
# field -> short label in the key
IDENTITY_FIELDS = {
    "device_name": "",
    "compute_units": "cores",
    "memory_gb": "mem_gb",
    "accelerator_count": "accelerators",
    "host_name": "host",
}
DEFAULT_IDENTITY = tuple(IDENTITY_FIELDS)


def identity_fields() -> tuple[str, ...]:
    """The configured identity fields (``BENCHDB_PLATFORM_IDENTITY``), in canonical order."""
    raw = os.environ.get(IDENTITY_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_IDENTITY
    chosen = {name.strip() for name in raw.split(",") if name.strip()} - {"hardware_type"}
    unknown = chosen - set(IDENTITY_FIELDS)
    if unknown:
        raise ValueError(
            f"{IDENTITY_ENV}: unknown fields {sorted(unknown)} "
            f"(choose from hardware_type, {', '.join(IDENTITY_FIELDS)})"
        )
    return tuple(name for name in IDENTITY_FIELDS if name in chosen)


def _part(name: str, value: Any) -> str:
    if name == "memory_gb":
        value = f"{float(value):.0f}"  # reported totals wobble below a gigabyte
    label = IDENTITY_FIELDS[name]
    return f"{label}={value}" if label else str(value)


def platform_key(row: Mapping, fields: tuple[str, ...] | None = None) -> str:
    """``cuda|NVIDIA H100|mem_gb=80|accelerators=8``: the natural key of a platform.

    The device name always holds the second place (empty when unknown), so keys sort by
    type and device; the host name counts only where no device is named.
    """
    fields = identity_fields() if fields is None else fields
    device = row.get("device_name") if "device_name" in fields else None
    parts = [str(row["hardware_type"]), str(device or "")]
    for name in fields:
        value = row.get(name)
        if name == "device_name" or value is None or (name == "host_name" and device):
            continue
        parts.append(_part(name, value))
    return "|".join(parts)


def fingerprint(key: str) -> str:
    """A short, stable id of a platform key (shown beside the platform)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]
