"""Interfaces outside Dagster: the Python API (``BenchmarkDBAPI``), the ORM (``BenchmarkDB``)
and the REST API (``app.create_app``, served by ``benchdb serve``).

Every write goes through the same rules as a file: a record becomes a canonical document,
is spooled durably, and is ingested with its provenance (source ``api``, request id).
"""

from __future__ import annotations


def __getattr__(name: str):
    # Lazy, so that importing the package does not load FastAPI or pandas.
    if name == "BenchmarkDBAPI":
        from benchdb_pipeline.api.python_api import BenchmarkDBAPI

        return BenchmarkDBAPI
    if name == "BenchmarkDB":
        from benchdb_pipeline.api.orm import BenchmarkDB

        return BenchmarkDB
    raise AttributeError(name)


__all__ = ["BenchmarkDB", "BenchmarkDBAPI"]
