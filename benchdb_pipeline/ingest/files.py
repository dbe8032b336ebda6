"""Reading a result file safely: a regular file only, never more than the size cap."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from datetime import datetime, timedelta

from benchdb_pipeline.config import max_file_bytes


class UnreadableFile(OSError):
    """A file that is not read at all: not a regular file, or over the size cap."""


_EPOCH = datetime(1970, 1, 1)


def read_result_file(path: str, limit: int | None = None) -> tuple[bytes, datetime]:
    """A regular file's bytes (at most ``limit``, default ``BENCHDB_MAX_FILE_MB``) and its
    modification time (UTC, to the microsecond). Opened without blocking, so a FIFO put in
    place of a file is refused, not waited on."""
    data, micros = read_file_us(path, limit)
    return data, from_epoch_us(micros)


def from_epoch_us(micros: int) -> datetime:
    """A time in microseconds since the epoch as the ledger keeps a file's: naive UTC."""
    return _EPOCH + timedelta(microseconds=micros)


def modified_us(info: os.stat_result) -> int:
    """A file's modification time in microseconds since the epoch: the file system's exact
    time, truncated (a float of seconds would round it)."""
    return info.st_mtime_ns // 1000


def read_file_us(path: str, limit: int | None = None) -> tuple[bytes, int]:
    """``read_result_file`` with the modification time in microseconds since the epoch: a
    bulk reader makes the times one column at once (a datetime a file is ~2 µs)."""
    limit = max_file_bytes() if limit is None else limit
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise UnreadableFile("not a regular file (a FIFO, device or socket is never read)")
        data = _read_up_to(descriptor, info.st_size, limit + 1)
    finally:
        os.close(descriptor)
    if len(data) > limit:
        raise UnreadableFile(
            f"larger than the {limit / 2**20:g} MB a result file may be (BENCHDB_MAX_FILE_MB); not read"
        )
    return data, modified_us(info)


def _read_up_to(descriptor: int, size: int, most: int) -> bytes:
    """At most ``most`` bytes, read in as few calls as the file's size allows (a buffered
    file object costs five times the read of a small file); a file still growing is read
    to its end all the same."""
    chunks, got = [], 0
    while got < most:
        wanted = min(max(size + 1 - got, 1 << 16), most - got)
        chunk = os.read(descriptor, wanted)
        if chunk:
            chunks.append(chunk)
            got += len(chunk)
        if len(chunk) < wanted:  # a regular file reads short only at its end: no call more
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def read_beside(path: str | os.PathLike) -> bytes | None:
    """A file an adapter reads beside the one ingested (a system's description, a benchmark
    list), as safely as a result file; None when it is missing or cannot be read."""
    try:
        return read_result_file(os.fspath(path))[0]
    except OSError:
        return None


def content_hashes(paths: Iterable[str]) -> list[str]:
    """The content hash of each file that can be read (as parsing hashes it), for a few
    files whose ledger rows are asked for alone."""
    found = []
    for path in paths:
        try:
            found.append(hashlib.sha256(read_result_file(path)[0]).hexdigest())
        except OSError:  # parsing says why
            continue
    return found
