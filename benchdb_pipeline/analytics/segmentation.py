"""Where a series' level moved and stayed moved: binary segmentation on ranks, each split
kept only when significant, weak splits re-validated between their neighbours.

Why ranks: benchmark noise is rarely normal. A single slow run would pull a mean-based
split towards itself (a step up and a step back), and a runner that alternates between two
speeds (bimodal noise) fools noise estimates made from successive differences. The
t-statistic of mean ranks (asymptotically the Mann-Whitney test) moves by one rank for one
wild point, and its variance comes from the segment itself, whatever its shape. The test
is applied to the best split of a segment, so its p-value is multiplied by the number of
splits it was chosen from (Bonferroni): on pure noise a segment splits with probability
below ``alpha``. Magnitude is judged against the series' own noise by the test, not by a
fixed percentage, so a 2 % step in a series that varies by 0.5 % is found.

Cumulative sums make one segment's every split O(n); a series of n points with k changes
costs O(n log n + k n). scipy is imported where it is used: importing it costs the command
line half a second, and it inspects (and breaks on) a half-imported PyTorch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

ALPHA = 0.001  # the chance that a segment of pure noise is split
MIN_SIZE = 3  # points on each side of a split: a change must last


def breaks(values: np.ndarray, *, alpha: float = ALPHA, min_size: int = MIN_SIZE) -> list[int]:
    """Indices where a new level starts, in order."""
    found: list[int] = []
    pending = [(0, len(values))]
    while pending:
        start, stop = pending.pop()
        split, p_value = best_split(values[start:stop], min_size)
        if split is not None and p_value < alpha:
            found.append(start + split)
            pending += [(start, start + split), (start + split, stop)]
    return _revalidated(values, sorted(found), alpha, min_size)


def best_split(segment: np.ndarray, min_size: int = MIN_SIZE) -> tuple[int | None, float]:
    """The split of ``segment`` whose two sides differ most in mean rank, and its p-value
    (two-sided, corrected for the number of splits tried)."""
    from scipy.stats import rankdata
    from scipy.stats import t as student_t

    n = len(segment)
    splits = n - 2 * min_size + 1
    if splits < 1:
        return None, 1.0
    ranks = rankdata(segment)
    total, total_sq = ranks.sum(), (ranks**2).sum()
    left = np.arange(min_size, n - min_size + 1)
    right = n - left
    sums = np.cumsum(ranks)[left - 1]
    sums_sq = np.cumsum(ranks**2)[left - 1]
    within = (sums_sq - sums**2 / left) + ((total_sq - sums_sq) - (total - sums) ** 2 / right)
    difference = np.abs((total - sums) / right - sums / left)
    spread = np.sqrt(np.maximum(within, 0) / (n - 2) * (1 / left + 1 / right))
    with np.errstate(divide="ignore", invalid="ignore"):  # no spread: sides apart, or all equal
        stat = np.where(spread > 0, difference / spread, np.where(difference > 0, math.inf, 0.0))
    best = int(np.argmax(stat))
    if stat[best] == 0:
        return None, 1.0
    p_value = min(1.0, 2 * float(student_t.sf(stat[best], n - 2)) * splits)
    return int(left[best]), p_value


def _revalidated(values: np.ndarray, found: list[int], alpha: float, min_size: int) -> list[int]:
    """Each split tested again between its neighbours (a split made early in a long segment
    may be explained by the splits found after it); the weakest failing one goes, and its
    neighbours are tested again, until every split holds."""
    while found:
        edges = [0, *found, len(values)]
        p_values = [
            _p_value(values[edges[i - 1] : edges[i + 1]], edges[i] - edges[i - 1])
            for i in range(1, len(edges) - 1)
        ]
        weakest = int(np.argmax(p_values))
        if p_values[weakest] < alpha:
            return found
        del found[weakest]
    return found


def _p_value(segment: np.ndarray, split: int) -> float:
    """The two-sided p-value of a given split (no correction: it was not chosen here)."""
    from scipy.stats import rankdata
    from scipy.stats import t as student_t

    ranks = rankdata(segment)
    a, b = ranks[:split], ranks[split:]
    within = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
    if within == 0:
        return 0.0 if a.mean() != b.mean() else 1.0
    stat = abs(b.mean() - a.mean()) / math.sqrt(within / (len(ranks) - 2) * (1 / len(a) + 1 / len(b)))
    return 2 * float(student_t.sf(stat, len(ranks) - 2))


def episodes(values: np.ndarray, found: list[int]) -> Iterator[tuple[int, int, tuple[int, int]]]:
    """Breaks that make one slow move, merged: consecutive breaks the same way with a level
    between them that keeps moving that way (or too short to tell) are a drift; with a
    steady level between them they are two steps. Yields (first break, last break, (start of
    the level before, end of the level after))."""
    edges = [0, *found, len(values)]
    segments = list(zip(edges, edges[1:], strict=False))
    levels = [float(np.median(values[a:b])) for a, b in segments]
    i = 0
    while i < len(segments) - 1:
        sign = math.copysign(1, levels[i + 1] - levels[i])
        j = i + 1
        while (
            j < len(segments) - 1
            and math.copysign(1, levels[j + 1] - levels[j]) == sign
            and _moving(values[slice(*segments[j])], sign)
        ):
            j += 1
        yield segments[i][1], segments[j - 1][1], (segments[i][0], segments[j][1])
        i = j


def _moving(level: np.ndarray, sign: float) -> bool:
    """Whether a level between two breaks is part of a slow move (Kendall's tau against
    time, one-sided p < 0.05, in the move's direction), or too short to tell."""
    from scipy.stats import kendalltau

    if len(level) < 2 * MIN_SIZE:
        return True
    tau, p_value = kendalltau(np.arange(len(level)), level, alternative="greater" if sign > 0 else "less")
    return bool(p_value < 0.05)
