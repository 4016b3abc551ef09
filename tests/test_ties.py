"""The tie rule has one definition (avs.ties); merge's integer tie key is its fast form.

Both orders must agree on data full of ties, including -0.0 against 0.0 and shot ids
whose numeric and string orders differ."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from avs.search.merge import sort_topk, tie_key
from avs.ties import rank_records, tie_order

SCORES = st.sampled_from([0.5, 0.25, 0.0, -0.0, -0.25, 1.0])
IDS = st.builds(lambda v, s: f"shot{v:05d}_{s}", st.integers(0, 30), st.integers(1, 40))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(IDS, SCORES, min_size=1, max_size=60), st.integers(1, 70))
def test_merge_key_order_equals_the_tie_rule(shots: dict[str, float], k: int) -> None:
    ids = list(shots)
    scores = np.array([shots[i] for i in ids], dtype=np.float32)
    key = tie_key(ids)
    top_scores, top_rows = sort_topk(scores[None, :], np.arange(len(ids))[None, :], k, key)
    fast = [ids[r] for r in top_rows[0]]
    by_rule = [shot for shot, _ in rank_records(shots.items())][:k]
    by_numpy = [ids[i] for i in tie_order(ids, scores)][:k]
    assert fast == by_rule == by_numpy
    assert top_scores[0].tolist() == sorted(scores.tolist(), reverse=True)[:k]


def test_rule_is_score_then_shot_id_descending_as_strings() -> None:
    pairs = [("shot2_9", 1.0), ("shot2_10", 1.0), ("shot1_1", 2.0), ("shot3_1", 0.5)]
    assert [s for s, _ in rank_records(pairs)] == ["shot1_1", "shot2_9", "shot2_10", "shot3_1"]
