"""merge_topk: associative, commutative, and ordered by the tie rule."""

from __future__ import annotations

import itertools

import numpy as np

from avs.search.merge import empty_topk, merge_topk, sort_topk, tie_key


def _parts(rng: np.random.Generator, n: int, t: int, k: int, nparts: int):
    # Few distinct values so that ties are everywhere, including at the k-th place.
    scores = rng.integers(0, 5, size=(t, n)).astype(np.float32)
    bounds = np.linspace(0, n, nparts + 1).astype(int)
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        rows = np.broadcast_to(np.arange(a, b), (t, b - a))
        parts.append(sort_topk(scores[:, a:b], rows, k))
    return scores, parts


def test_tie_key_orders_like_strings():
    ids = ["shot2_10", "shot2_9", "shot10_1", "shot1_1"]
    key = tie_key(ids)
    assert [ids[i] for i in np.argsort(key)] == sorted(ids)


def test_merge_is_associative_and_commutative_with_ties():
    rng = np.random.default_rng(1)
    ids = [f"shot{rng.integers(1, 99)}_{i}" for i in range(60)]
    key = tie_key(ids)
    _, parts = _parts(rng, 60, 3, 7, 4)
    parts = [sort_topk(s, r, 7, key) for s, r in parts]
    results = []
    for perm in itertools.permutations(parts):
        left = empty_topk(3)
        for p in perm:
            left = merge_topk(left, p, 7, key)
        right = merge_topk(
            perm[0], merge_topk(perm[1], merge_topk(perm[2], perm[3], 7, key), 7, key), 7, key
        )
        results += [left, right]
    for s, r in results:
        np.testing.assert_array_equal(s, results[0][0])
        np.testing.assert_array_equal(r, results[0][1])


def test_merge_equals_global_tie_rule_sort():
    rng = np.random.default_rng(2)
    ids = np.array([f"shot{i % 13}_{i}" for i in range(50)])
    key = tie_key(ids)
    scores, parts = _parts(rng, 50, 2, 9, 3)
    parts = [sort_topk(s, r, 9, key) for s, r in parts]
    acc = empty_topk(2)
    for p in parts:
        acc = merge_topk(acc, p, 9, key)
    for t in range(2):
        expect = sorted(range(50), key=lambda r, t=t: (-scores[t, r], _desc(ids[r])))[:9]
        assert acc[1][t].tolist() == expect


def _desc(s: str) -> tuple[int, ...]:
    # Sort key giving string-descending order inside an ascending sort.
    return tuple(-ord(c) for c in s) + (1,)


def test_fewer_rows_than_k():
    a = (np.array([[3.0, 1.0]], np.float32), np.array([[0, 1]]))
    b = (np.array([[2.0]], np.float32), np.array([[5]]))
    s, r = merge_topk(a, b, 10)
    assert s.tolist() == [[3.0, 2.0, 1.0]] and r.tolist() == [[0, 5, 1]]
