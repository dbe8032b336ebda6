"""The Dagster catalog's write listener, light to load: Dagster is imported only where
``DAGSTER_HOME`` names an instance to tell."""

from __future__ import annotations

import os
from pathlib import Path


def record_in_catalog(db: Path, writer: str) -> None:
    """Record the tables ``writer`` changed as runless materializations (see ``catalog``)."""
    if not os.environ.get("DAGSTER_HOME"):
        return
    from benchdb_pipeline.defs.catalog import record_outside_write

    record_outside_write(db, writer)
