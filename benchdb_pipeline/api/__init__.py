"""Interfaces outside Dagster: the Python API (``BenchmarkDBAPI``), the ORM (``BenchmarkDB``)
and the REST API (``app.create_app``, served by ``benchdb serve``).

Every write goes through the same rules as a file: a record becomes a canonical document,
is spooled durably, and is ingested with its provenance (source ``api``, request id).
"""

from benchdb_pipeline.api.orm import BenchmarkDB
from benchdb_pipeline.api.python_api import BenchmarkDBAPI

__all__ = ["BenchmarkDB", "BenchmarkDBAPI"]
