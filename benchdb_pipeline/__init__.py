"""benchdb: a benchmark-results database for ML performance engineering.

Domain code lives in ``warehouse``, ``ingest`` and friends; the Dagster layer in ``defs``
is assembled by ``benchdb_pipeline.definitions``. Nothing Dagster is imported here.
"""

__version__ = "0.1.0"
