"""Interfaces outside Dagster: the Python API (``BenchmarkDBAPI``), the ORM (``BenchmarkDB``)
and the REST API (``app.create_app``, served by ``benchdb serve``).

Every write goes through the same rules as a file: a record becomes a canonical document,
is spooled durably, and is ingested with its provenance (source ``api``, request id).

The two classes are imported when first asked for, so that the REST API's query workers,
which import a module of this package, start without the ingestion code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchdb_pipeline.api.orm import BenchmarkDB
    from benchdb_pipeline.api.python_api import BenchmarkDBAPI

__all__ = ["BenchmarkDB", "BenchmarkDBAPI"]
_HOMES = {"BenchmarkDB": "orm", "BenchmarkDBAPI": "python_api"}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
