"""The change-point detector on series whose changes are known: what it must find, and the
noise shapes that fooled the earlier one (single wild runs, runners with two speeds)."""

from __future__ import annotations

import numpy as np

from benchdb_pipeline.analytics import segmentation


def noisy(levels: list[float], noise: float, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(levels) * rng.lognormal(0, noise, len(levels))


def reported(values: np.ndarray) -> list[tuple[int, int]]:
    return [
        (first, last) for first, last, _span in segmentation.episodes(values, segmentation.breaks(values))
    ]


def test_a_small_step_in_a_quiet_series_is_found_where_it_is():
    values = noisy([1.0] * 40 + [1.02] * 40, 0.005)  # 2 %: four times the noise
    assert [first for first, _last in reported(values)] == [40]


def test_single_wild_runs_are_no_change():
    for seed in range(10):
        values = noisy([1.0] * 80, 0.027, seed)
        values[[12, 40, 66]] *= 1.5
        assert segmentation.breaks(values) == [], seed


def test_a_runner_with_two_speeds_is_no_change():
    rng = np.random.default_rng(7)
    for seed in range(10):
        levels = [1.06 if rng.random() < 0.3 else 1.0 for _ in range(100)]
        assert segmentation.breaks(noisy(levels, 0.005, seed)) == [], seed


def test_two_steps_the_same_way_are_two_changes_and_a_drift_is_one():
    steps = noisy([1.0] * 30 + [1.1] * 30 + [1.25] * 30, 0.01)
    assert [first for first, _last in reported(steps)] == [30, 60]
    drift = noisy([1.0] * 30 + [1 + 0.01 * i for i in range(1, 21)] + [1.2] * 30, 0.005)
    ((first, last),) = reported(drift)
    assert 27 <= first < last <= 53


def test_the_split_is_significant_or_absent():
    assert segmentation.best_split(np.ones(20)) == (None, 1.0)  # nothing varies
    assert segmentation.best_split(np.arange(5.0)) == (None, 1.0)  # too short to split
    split, p_value = segmentation.best_split(np.array([1.0] * 10 + [2.0] * 10))
    assert split == 10 and p_value < 1e-6
