"""The one tie rule of avs: score descending, then shot id descending as a string.

It is the order NIST's sample_eval.pl walks a run in, so Parquet ranks, the XML's
``seqNum``, TREC files avs writes and ``avs eval``'s order always agree. Every ordering
of shots in avs goes through this module; ``avs.search.merge`` keeps an integer form of
the same rule for speed (its tests check that both give the same order).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

__all__ = ["rank_key", "rank_records", "tie_order"]


def rank_key(item: tuple[str, float]) -> tuple[float, str]:
    """Key for ``sorted(items, key=rank_key, reverse=True)`` over ``(shot, score)`` pairs."""
    return (item[1], item[0])


def rank_records(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
    """``(shot, score)`` pairs in tie-rule order (a new list; equal pairs keep their order)."""
    return sorted(items, key=rank_key, reverse=True)


def tie_order(
    shot_ids: Sequence[str] | np.ndarray, scores: Sequence[float] | np.ndarray
) -> np.ndarray:
    """Indices that put parallel arrays of shot ids and scores in tie-rule order."""
    shot_ids = np.asarray(shot_ids, dtype=object)
    _, shot_rank = np.unique(shot_ids.astype(str), return_inverse=True)
    # lexsort: the last key is the primary one; negate both for descending order.
    return np.lexsort((-shot_rank, -np.asarray(scores, dtype=np.float64)))
