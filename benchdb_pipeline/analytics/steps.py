"""How a long analysis says what it is doing: a callable that hears each step as it starts.

The CLI prints the steps with the time elapsed, Dagster logs them; a caller that does not
listen passes nothing. The analyses stay free of either.
"""

from __future__ import annotations

from collections.abc import Callable

Step = Callable[[str], object]


def silent(text: str) -> None:
    """The step listener of a caller that does not listen."""
