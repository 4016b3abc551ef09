"""Paired randomization (permutation) test over topics, with a bootstrap CI.

Source: M. D. Smucker, J. Allan, B. Carterette, "A Comparison of Statistical Significance
Tests for Information Retrieval Evaluation", CIKM 2007 (Fisher's randomization test);
the +1 correction of B. Phipson and G. K. Smyth, "Permutation P-values Should Never Be
Zero", SAGMB 2010.

Under H0 the two runs' scores on each topic are exchangeable, so each per-topic
difference d_i = a_i - b_i keeps or flips its sign with probability 1/2:

    p = (1 + #{perm : |mean(sign * d)| >= |mean(d)|}) / (1 + permutations)

Identical runs give d = 0, every permutation ties, p = 1. The confidence interval of
mean(d) is the percentile bootstrap over topics (resampled with replacement).
Randomness comes only from the ``numpy.random.Generator`` passed in, so a seed
reproduces the result exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_BLOCK = 2000  # permutations per vectorised block (bounds memory: block x topics)


@dataclass(frozen=True)
class PairedTest:
    """Result of :func:`paired_randomization_test` (a minus b)."""

    mean_diff: float  # mean over topics of a_i - b_i
    ci_low: float  # bootstrap percentile CI of the mean difference
    ci_high: float
    p_value: float  # two-sided
    topics: int
    permutations: int
    confidence: float


def paired_randomization_test(
    a: Sequence[float],
    b: Sequence[float],
    rng: np.random.Generator,
    *,
    permutations: int = 10_000,
    confidence: float = 0.95,
) -> PairedTest:
    """Two-sided paired randomization test of mean(a - b) = 0, plus a bootstrap CI.

    ``a`` and ``b`` are per-topic scores in the same topic order."""
    if len(a) != len(b):
        raise ValueError(f"paired scores differ in length: {len(a)} vs {len(b)}")
    if len(a) == 0:
        raise ValueError("no topics to compare")
    if permutations < 1:
        raise ValueError("permutations must be at least 1")
    diff = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    n = diff.size
    observed = abs(diff.mean())
    # relative slack so that sums in another order still count as ties
    threshold = observed - 1e-12 * max(1.0, observed)
    at_least = 0
    done = 0
    while done < permutations:
        size = min(_BLOCK, permutations - done)
        signs = rng.integers(0, 2, size=(size, n), dtype=np.int8) * 2 - 1
        stats = np.abs((signs * diff).mean(axis=1))
        at_least += int((stats >= threshold).sum())
        done += size
    p_value = (1 + at_least) / (1 + permutations)

    picks = rng.integers(0, n, size=(permutations, n))
    boot = diff[picks].mean(axis=1)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    return PairedTest(
        mean_diff=float(diff.mean()),
        ci_low=float(low),
        ci_high=float(high),
        p_value=float(p_value),
        topics=n,
        permutations=permutations,
        confidence=confidence,
    )
