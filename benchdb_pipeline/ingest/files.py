"""Reading a result file safely: a regular file only, never more than the size cap."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone

from benchdb_pipeline.config import max_file_bytes


class UnreadableFile(OSError):
    """A file that is not read at all: not a regular file, or over the size cap."""


def read_result_file(path: str, limit: int | None = None) -> tuple[bytes, datetime]:
    """A regular file's bytes (at most ``limit``, default ``BENCHDB_MAX_FILE_MB``) and its
    modification time. Opened without blocking, so a FIFO put in place of a file is refused,
    not waited on."""
    limit = max_file_bytes() if limit is None else limit
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("not a regular file (a FIFO, device or socket is never read)")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UnreadableFile(
            f"larger than the {limit / 2**20:g} MB a result file may be (BENCHDB_MAX_FILE_MB); not read"
        )
    return data, datetime.fromtimestamp(info.st_mtime, timezone.utc).replace(tzinfo=None)


def read_beside(path: str | os.PathLike) -> bytes | None:
    """A file an adapter reads beside the one ingested (a system's description, a benchmark
    list), as safely as a result file; None when it is missing or cannot be read."""
    try:
        return read_result_file(os.fspath(path))[0]
    except OSError:
        return None
