"""Paired randomization test on cases with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from avs.eval.significance import paired_randomization_test


def test_identical_runs_p_is_one():
    a = [0.1, 0.5, 0.3, 0.9, 0.0]
    res = paired_randomization_test(a, list(a), np.random.default_rng(0), permutations=2000)
    assert res.p_value == 1.0
    assert res.mean_diff == 0.0
    assert (res.ci_low, res.ci_high) == (0.0, 0.0)


def test_run_better_on_every_topic_small_p():
    """20 topics, all differences positive: exact p = 2 / 2^20; with B permutations the
    estimate is (1 + hits) / (1 + B), about 1 / (1 + B)."""
    rng = np.random.default_rng(1)
    b = rng.uniform(0.1, 0.5, size=20)
    a = b + rng.uniform(0.01, 0.1, size=20)
    res = paired_randomization_test(a, b, np.random.default_rng(7), permutations=10_000)
    assert res.p_value < 0.001
    assert res.mean_diff == pytest.approx(float(np.mean(a - b)))
    assert 0 < res.ci_low < res.mean_diff < res.ci_high


def test_three_equal_wins_matches_exact_p():
    """d = (1, 1, 1): 2 of the 8 sign patterns reach |mean| = 1, exact p = 0.25."""
    res = paired_randomization_test(
        [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], np.random.default_rng(3), permutations=40_000
    )
    assert res.p_value == pytest.approx(0.25, abs=0.01)


def test_sign_of_difference_is_a_minus_b():
    res = paired_randomization_test(
        [0.0] * 5, [1.0] * 5, np.random.default_rng(0), permutations=100
    )
    assert res.mean_diff == -1.0 and res.ci_high == -1.0


def test_same_seed_same_result():
    """Regression guard (ranx#70): a seeded test must give the same numbers twice."""
    a, b = [0.2, 0.4, 0.1, 0.8, 0.3, 0.5], [0.3, 0.2, 0.1, 0.5, 0.4, 0.1]
    first = paired_randomization_test(a, b, np.random.default_rng(42), permutations=5000)
    second = paired_randomization_test(a, b, np.random.default_rng(42), permutations=5000)
    assert first == second
    other = paired_randomization_test(a, b, np.random.default_rng(43), permutations=5000)
    assert other.mean_diff == first.mean_diff


def test_bad_input():
    with pytest.raises(ValueError, match="length"):
        paired_randomization_test([1.0], [1.0, 2.0], np.random.default_rng(0))
    with pytest.raises(ValueError, match="no topics"):
        paired_randomization_test([], [], np.random.default_rng(0))
