"""Telling others that the warehouse was written: one call for every writer.

The CLI, the REST server and the Python API call ``announce_write`` after a write commits.
Listeners are entry points of the ``benchdb.write_listeners`` group, called with the
database and who wrote; this project registers the Dagster catalog's (runless
materializations with ``dagster/row_count``). A failing listener is logged, never raised:
the write itself succeeded.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

log = logging.getLogger(__name__)
GROUP = "benchdb.write_listeners"


@functools.cache
def _listeners() -> tuple[EntryPoint, ...]:
    """The registered listeners, found once per process (reading package metadata is slow)."""
    return tuple(entry_points(group=GROUP))


def announce_write(db: str | Path | None, writer: str) -> None:
    """Call every registered listener with ``db`` and ``writer`` (nothing for no database)."""
    if db is None:
        return
    for entry in _listeners():
        try:
            entry.load()(Path(db), writer)
        except Exception as exc:  # noqa: BLE001 — say why the listener lags, keep the write
            log.warning("write listener %s failed: %s", entry.name, exc)
