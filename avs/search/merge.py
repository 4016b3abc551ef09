"""Partial top-k lists and their associative merge.

A partial result is a pair ``(scores, rows)`` of arrays shaped ``(topics, m)``: for each
topic the ``m`` best collection rows found so far, best first. Rows are global row
numbers of the index (shot ``ids[row]``).

Order (the tie rule, defined once in avs/ties.py): score descending, then shot id descending as a
string - the order NIST's sample_eval.pl uses. Rows carry no string, so the shot-id
part is an integer *tie key*: ``tie_key(ids)[row]`` is the position of ``ids[row]`` in
ascending string order, and "shot id descending" is "tie key descending". That makes the
order total, so keeping the k best of a union is associative and commutative: any
grouping of shards gives the same final list, ties at the k-th place included.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

TopK = tuple[np.ndarray, np.ndarray]  # (scores float32 (T, m), rows int64 (T, m))


def tie_key(ids: Sequence[str]) -> np.ndarray:
    """Integer key per row such that comparing keys compares shot ids as strings.

    ``key[i] < key[j]`` exactly when ``ids[i] < ids[j]`` (ids are unique in an index)."""
    arr = np.asarray(list(ids), dtype=str)
    key = np.empty(len(arr), dtype=np.int64)
    key[np.argsort(arr, kind="stable")] = np.arange(len(arr), dtype=np.int64)
    return key


def sort_topk(scores: np.ndarray, rows: np.ndarray, k: int, key: np.ndarray | None = None) -> TopK:
    """Keep the ``k`` best per topic in tie-rule order.

    ``key`` maps a global row to its tie key (see :func:`tie_key`); without it ties fall
    back to row descending, which is still a total order but not the documented one."""
    scores = np.asarray(scores, dtype=np.float32)
    rows = np.asarray(rows, dtype=np.int64)
    if scores.shape != rows.shape or scores.ndim != 2:
        raise ValueError(f"scores {scores.shape} and rows {rows.shape} must be equal 2-d shapes")
    secondary = rows if key is None else key[rows]
    # One uint64 per entry: order-preserving bits of the score above the tie key, so a
    # single argsort does both levels (np.lexsort on 2-d input was 10x slower, measured).
    # "+ 0" turns -0.0 into +0.0: equal as floats, so they must tie.
    bits = (scores + np.float32(0)).view(np.uint32)
    ordered = np.where(bits & np.uint32(0x80000000), ~bits, bits | np.uint32(0x80000000))
    combined = (ordered.astype(np.uint64) << np.uint64(32)) | secondary.astype(np.uint64)
    order = np.argsort(~combined, axis=1)[:, :k]  # ~: descending
    return np.take_along_axis(scores, order, 1), np.take_along_axis(rows, order, 1)


def merge_topk(a: TopK, b: TopK, k: int, key: np.ndarray | None = None) -> TopK:
    """Merge two partial top-k results over disjoint rows into the ``k`` best.

    Associative and commutative for a fixed ``key``; the result is sorted by the tie
    rule, so the last merge needs no further sort. Either side may have fewer than ``k``
    columns (a shard smaller than k); the result has ``min(k, m_a + m_b)`` columns."""
    sa, ra = a
    sb, rb = b
    if sa.shape[0] != sb.shape[0]:
        raise ValueError(f"topic counts differ: {sa.shape[0]} vs {sb.shape[0]}")
    return sort_topk(np.concatenate([sa, sb], 1), np.concatenate([ra, rb], 1), k, key)


def empty_topk(topics: int) -> TopK:
    """The identity of :func:`merge_topk`: no rows for any topic."""
    return np.empty((topics, 0), np.float32), np.empty((topics, 0), np.int64)
