"""Progress for long commands: a bar on a terminal, and where nobody watches one (CI logs,
Dagster, a pipe) a line every so often with how far, how long and how fast."""

from __future__ import annotations

import sys
import time
from typing import Any


class Lines:
    """Progress as lines on standard error, at most one every ``every`` seconds and one at the
    end: ``ingest: 1200 of 10000 files (12 %), 31 s, 38.7 files/s``."""

    def __init__(self, total: int, desc: str, unit: str, every: float = 10.0) -> None:
        self.total, self.desc, self.unit, self.every = total, desc, unit, every
        self.done = 0
        self.started = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if self.done >= self.total or now - self.last >= self.every:
            self.last = now
            elapsed = now - self.started
            share = f" ({100 * self.done / self.total:.0f} %)" if self.total else ""
            rate = f", {self.done / elapsed:.1f} {self.unit}s/s" if elapsed > 0 else ""
            print(
                f"{self.desc}: {self.done} of {self.total} {self.unit}s{share}, {elapsed:.0f} s{rate}",
                file=sys.stderr,
                flush=True,
            )

    def close(self) -> None:
        """Nothing to tidy: every line is already written."""

    def __enter__(self) -> Lines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Steps:
    """Progress of work made of steps of unknown length (an analysis): each step as a line on
    standard error when it starts, with the time since the first, ``analyze: performance-
    prediction: throughput: cross-validation fold 2 of 5 (34 configurations), 41 s``."""

    def __init__(self, desc: str, quiet: bool = False) -> None:
        self.desc, self.quiet = desc, quiet
        self.started = time.monotonic()

    def __call__(self, text: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self.started
            print(f"{self.desc}: {text}, {elapsed:.0f} s", file=sys.stderr, flush=True)


def progress(total: int, desc: str, unit: str, quiet: bool = False, leave: bool = True) -> Any:
    """A tqdm bar on a terminal, ``Lines`` elsewhere, nothing with ``quiet``; each has
    ``update(n)`` and ``close()`` and is a context manager."""
    from tqdm import tqdm

    if quiet or sys.stderr.isatty():
        return tqdm(total=total, desc=desc, unit=unit, disable=quiet, file=sys.stderr, leave=leave)
    return Lines(total, desc, unit)
