"""Each fusion method and normalisation against a small example computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from avs.errors import AvsError
from avs.fusion.inputs import distinct_ranking
from avs.fusion.methods import check_method, fuse_topic, normalise

A = distinct_ranking([("a", 3.0), ("b", 2.0), ("c", 1.0)])
B = distinct_ranking([("b", 10.0), ("d", 0.0)])
Z = 1 / math.sqrt(2 / 3)  # A's z-score of a: (3 - 2) / std(3, 2, 1)


def fused(method: str, norm: str, weights=(1.0, 1.0)) -> dict[str, float]:
    shots, scores = fuse_topic([A, B], weights, method, check_method(method, norm))
    assert list(scores) == sorted(scores, reverse=True)  # ranked
    return dict(zip(shots.tolist(), scores.tolist(), strict=True))


@pytest.mark.parametrize(
    ("method", "norm", "weights", "expected", "order"),
    [
        # minmax: A a1 b.5 c0 (d gets A's min 0); B b1 d0 (a, c get 0)
        ("combsum", "minmax", (1, 1), {"a": 1, "b": 1.5, "c": 0, "d": 0}, "badc"),
        ("combmnz", "minmax", (1, 1), {"a": 1, "b": 3, "c": 0, "d": 0}, "badc"),
        ("wsum", "minmax", (1, 3), {"a": 1, "b": 3.5, "c": 0, "d": 0}, "badc"),
        # z-score: A a Z, b 0, c -Z (d: -Z); B b 1, d -1 (a, c: -1)
        ("combsum", "zscore", (1, 1), {"a": Z - 1, "b": 1, "c": -Z - 1, "d": -Z - 1}, "badc"),
        # rank: A a 1, b 2/3, c 1/3 (d: 1/3); B b 1, d 1/2 (a, c: 1/2)
        ("combsum", "rank", (1, 1), {"a": 1.5, "b": 5 / 3, "c": 5 / 6, "d": 5 / 6}, "badc"),
        ("combsum", "none", (1, 1), {"a": 3, "b": 12, "c": 1, "d": 1}, "badc"),
        # RRF, k = 60: A ranks a1 b2 c3, B ranks b1 d2
        (
            "rrf",
            None,
            (1, 1),
            {"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 63, "d": 1 / 62},
            "badc",
        ),
        (
            "rrf",
            None,
            (2, 1),
            {"a": 2 / 61, "b": 2 / 62 + 1 / 61, "c": 2 / 63, "d": 1 / 62},
            "bacd",
        ),
        # Borda over N = 4: ranked (N - r + 1) / N; unranked share the rest:
        # A's d gets 1/4; B's a and c get (1 + 2) / 2 / 4 = 3/8
        ("borda", None, (1, 1), {"a": 1.375, "b": 1.75, "c": 0.875, "d": 1.0}, "badc"),
    ],
)
def test_method_on_hand_example(method, norm, weights, expected, order) -> None:
    got = fused(method, norm, weights)
    assert set(got) == set(expected)
    for shot, value in expected.items():
        assert got[shot] == pytest.approx(value, rel=1e-6), shot
    assert "".join(got) == order  # ties (c, d) broken by shot id descending


def test_normalisations() -> None:
    s = np.array([4.0, 2.0, 1.0, 1.0])
    assert normalise(s, "minmax").tolist() == [1.0, 1 / 3, 0.0, 0.0]
    assert normalise(s, "rank").tolist() == [1.0, 0.75, 0.5, 0.25]
    z = normalise(s, "zscore")
    assert z.mean() == pytest.approx(0) and z.std() == pytest.approx(1)
    assert normalise(s, "none").tolist() == s.tolist()
    # constant scores: every shot equally retrieved
    assert normalise(np.array([5.0, 5.0]), "minmax").tolist() == [1.0, 1.0]
    assert normalise(np.array([5.0, 5.0]), "zscore").tolist() == [0.0, 0.0]


def test_run_without_the_topic_adds_nothing() -> None:
    shots, scores = fuse_topic([A, None], (1, 1), "combmnz", "minmax")
    assert shots.tolist() == ["a", "b", "c"] and scores.tolist() == [1.0, 0.5, 0.0]


def test_scores_are_float32_and_ranked_by_them() -> None:
    # 1 + 1e-9 and 1 are distinct in float64 but equal in float32: the shot id decides
    a = distinct_ranking([("x", 1.0 + 1e-9), ("y", 1.0)])
    shots, scores = fuse_topic([a], (1,), "combsum", "none")
    assert scores.dtype == np.float32
    assert shots.tolist() == ["y", "x"]


def test_cut_at_k() -> None:
    shots, _ = fuse_topic([A, B], (1, 1), "combsum", "minmax", k=2)
    assert shots.tolist() == ["b", "a"]


@pytest.mark.parametrize(
    ("method", "norm", "message"),
    [
        ("nope", None, "--method must be one of"),
        ("combsum", "bad", "--norm must be one of"),
        ("rrf", "minmax", "--norm does not apply to rrf"),
    ],
)
def test_bad_method_or_norm(method, norm, message) -> None:
    with pytest.raises(AvsError, match=message):
        check_method(method, norm)
