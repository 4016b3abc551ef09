"""Late fusion of ranked lists, one topic at a time (docs/fusion.md).

Each input's list for the topic is first made distinct and put in tie-rule order
(:func:`avs.fusion.inputs.distinct_ranking`). Then every input becomes one row of a
matrix over the union of the shots (:func:`topic_matrix`) and the fused score is a
weighted sum of the rows (:func:`combine`), so trying another weight vector costs one
small matrix product.

Normalisations (per run and topic, over the shots the run ranks):

- ``minmax``: (s - min) / (max - min); all scores equal -> 1 for every shot;
- ``zscore``: (s - mean) / std (population std); std 0 -> 0 for every shot;
- ``rank``: (n - rank + 1) / n, i.e. 1 for the first of n shots, 1/n for the last;
- ``none``: the scores as they are.

A shot that a run does not rank gets that run's per-topic minimum after normalisation
(so a run never pushes a shot it did not retrieve above one it did). Methods:

- ``combsum``: sum of normalised scores; ``wsum``: the same with weights;
- ``combmnz``: the (weighted) sum times the number of runs that rank the shot;
- ``rrf``: sum of w / (rrf_k + rank), a shot a run does not rank adds 0;
- ``borda``: sum of w * (N - rank + 1) / N over the N shots of the union; the shots a
  run does not rank share its remaining points equally (Borda-fuse).

``rrf`` and ``borda`` use ranks only, so no normalisation applies to them. A run that
has no list for a topic adds nothing to it (and does not count for ``combmnz``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from avs.errors import AvsError

__all__ = [
    "METHODS",
    "NORMS",
    "RANK_METHODS",
    "TopicMatrix",
    "check_method",
    "combine",
    "fuse_topic",
    "normalise",
    "ordered",
    "topic_matrix",
]

METHODS = ("combsum", "combmnz", "wsum", "rrf", "borda")
NORMS = ("minmax", "zscore", "rank", "none")
RANK_METHODS = ("rrf", "borda")  # rank-based: normalisation does not apply
DEFAULT_RRF_K = 60

Ranking = tuple[np.ndarray, np.ndarray]  # (shots, scores) distinct, in tie-rule order


def check_method(method: str, norm: str | None) -> str:
    """The normalisation ``method`` uses ("none" for rank-based methods); AvsError for an
    unknown method or normalisation, or one given to a method that takes none."""
    if method not in METHODS:
        raise AvsError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    if method in RANK_METHODS:
        if norm not in (None, "none"):
            raise AvsError(f"--norm does not apply to {method} (it fuses ranks, not scores)")
        return "none"
    norm = norm or "minmax"
    if norm not in NORMS:
        raise AvsError(f"--norm must be one of {', '.join(NORMS)}, got {norm!r}")
    return norm


def normalise(scores: np.ndarray, norm: str) -> np.ndarray:
    """One run's scores for one topic, in rank order, normalised (see the module doc)."""
    scores = np.asarray(scores, dtype=np.float64)
    n = len(scores)
    if norm == "none" or n == 0:
        return scores.copy()
    if norm == "minmax":
        low, high = scores.min(), scores.max()
        if high == low:
            return np.ones(n)
        return (scores - low) / (high - low)
    if norm == "zscore":
        std = scores.std()
        if std == 0:
            return np.zeros(n)
        return (scores - scores.mean()) / std
    if norm == "rank":
        return (n - np.arange(n)) / n
    raise AvsError(f"unknown normalisation {norm!r} (one of {', '.join(NORMS)})")


@dataclass(frozen=True)
class TopicMatrix:
    """One topic's inputs over the union of their shots, ready for :func:`combine`."""

    shots: np.ndarray  # union of the shots, sorted ascending (so index = shot-id rank)
    values: np.ndarray  # (runs, shots): each run's contribution before weighting
    present: np.ndarray  # (shots,): how many runs rank the shot (combmnz)


def topic_matrix(
    rankings: Sequence[Ranking | None], method: str, norm: str, rrf_k: float = DEFAULT_RRF_K
) -> TopicMatrix:
    """Rows of contributions for one topic; ``rankings[i]`` is run i's list or None when
    run i has no list for this topic."""
    lists = [r for r in rankings if r is not None and len(r[0])]
    if not lists:
        return TopicMatrix(np.zeros(0, dtype="U1"), np.zeros((len(rankings), 0)), np.zeros(0))
    union, inverse = np.unique(np.concatenate([r[0] for r in lists]), return_inverse=True)
    values = np.zeros((len(rankings), len(union)))
    present = np.zeros(len(union))
    offset = 0
    for i, ranking in enumerate(rankings):
        if ranking is None or not len(ranking[0]):
            continue
        n = len(ranking[0])
        idx = inverse[offset : offset + n]
        offset += n
        present[idx] += 1
        if method == "rrf":
            values[i, idx] = 1.0 / (rrf_k + np.arange(1, n + 1))
        elif method == "borda":
            total = len(union)
            values[i, :] = (total - n + 1) / 2 / total  # the unranked share the rest
            values[i, idx] = (total - np.arange(n)) / total
        else:
            normed = normalise(ranking[1], norm)
            values[i, :] = normed.min()
            values[i, idx] = normed
    return TopicMatrix(union, values, present)


def combine(matrix: TopicMatrix, weights: np.ndarray, method: str) -> np.ndarray:
    """Fused scores (float64) of ``matrix.shots`` for one weight per run."""
    fused = np.asarray(weights, dtype=np.float64) @ matrix.values
    if method == "combmnz":
        fused = fused * matrix.present
    return fused


def ordered(shots: np.ndarray, fused: np.ndarray, k: int) -> Ranking:
    """The top ``k`` of the fused scores by the tie rule, scores as float32; ``shots``
    sorted ascending (a :class:`TopicMatrix`'s union), so a shot's index is its place
    in shot-id order.

    Scores are rounded to float32 *before* ordering: the Parquet run stores float32,
    and ``avs eval`` re-ranks by the stored scores, so ranks must follow them."""
    scores = np.asarray(fused, dtype=np.float32)
    # avs.ties' rule: score descending, then shot id descending (= index descending)
    order = np.lexsort((-np.arange(len(shots)), -scores))[:k]
    return shots[order], scores[order]


def fuse_topic(
    rankings: Sequence[Ranking | None],
    weights: Sequence[float],
    method: str,
    norm: str,
    *,
    rrf_k: float = DEFAULT_RRF_K,
    k: int = 1000,
) -> Ranking:
    """Fuse one topic's lists into the top ``k`` (shots, float32 scores)."""
    matrix = topic_matrix(rankings, method, norm, rrf_k)
    return ordered(matrix.shots, combine(matrix, np.asarray(weights), method), k)
