"""score_shard against exact float64 ranking, across shard counts, ties at the k-th place."""

from __future__ import annotations

import numpy as np
import pytest

from avs.errors import AvsError
from avs.search.merge import empty_topk, merge_topk, tie_key
from avs.search.score import score_shard
from tests.support.searchkit import reference, reshard, topic_queries


def _score_index(index, queries, k, key):
    import json

    manifest = json.loads((index / "manifest.json").read_text())
    acc = empty_topk(len(queries))
    for s in manifest["shards"]:
        tie = key[s["start"] : s["stop"]]
        part = score_shard(index / s["file"], queries, k, "cpu", start=s["start"], tiebreak=tie)
        acc = merge_topk(acc, part, k, key)
    return acc


@pytest.mark.parametrize("k", [1, 20, 600])
def test_topk_equals_float64_brute_force(world, k):
    queries = topic_queries(world)
    key = tie_key(world.ids)
    scores, rows = _score_index(world.index, queries, k, key)
    ref_ids, ref_scores = reference(world.index, queries, k)
    ids = np.array(world.ids)
    np.testing.assert_array_equal(ids[rows], ref_ids)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-6)


def test_identical_across_1_2_4_shards(world, tmp_path):
    queries = topic_queries(world)
    key = tie_key(world.ids)
    results = [
        _score_index(reshard(world.index, tmp_path / f"i{p}", p), queries, 50, key)
        for p in (1, 2, 4)
    ]
    for s, r in results[1:]:
        np.testing.assert_array_equal(r, results[0][1])
        np.testing.assert_array_equal(s, results[0][0])


def test_tie_at_kth_place_follows_shot_id_desc(tmp_path):
    """torch.topk picks arbitrarily among equal scores; the k-th place must still follow
    the tie rule (shot id descending), or shard count would change the run."""
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((40, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)  # unit rows: the query's twins win
    vecs[5:30] = vecs[0]  # 26 equal rows, k cuts through them
    np.save(tmp_path / "s.npy", vecs)
    ids = [f"shot{i:03d}_1" for i in rng.permutation(40)]
    key = tie_key(ids)
    q = vecs[:1].copy()
    scores, rows = score_shard(tmp_path / "s.npy", q, 10, tiebreak=key)
    tied = [i for i in range(40) if i == 0 or 5 <= i < 30]
    expect = sorted(tied, key=lambda r: ids[r], reverse=True)[:10]
    assert rows[0].tolist() == expect
    assert len(set(scores[0].tolist())) == 1


def test_float16_and_float32_shards_and_offset(tmp_path):
    rng = np.random.default_rng(3)
    vecs = rng.standard_normal((300, 64)).astype(np.float16)
    q = rng.standard_normal((5, 64)).astype(np.float32)
    np.save(tmp_path / "h.npy", vecs)
    np.save(tmp_path / "f.npy", vecs.astype(np.float32))
    sh, rh = score_shard(tmp_path / "h.npy", q, 30, start=1000)
    sf, rf = score_shard(tmp_path / "f.npy", q, 30, start=1000)
    np.testing.assert_array_equal(rh, rf)
    exact = q.astype(np.float64) @ vecs.astype(np.float64).T
    expect = np.argsort(-exact, axis=1, kind="stable")[:, :30] + 1000
    np.testing.assert_array_equal(rh, expect)
    assert sh.dtype == np.float32 and rh.dtype == np.int64


def test_missing_shard_is_a_clear_error(tmp_path):
    with pytest.raises(AvsError, match="shard missing"):
        score_shard(tmp_path / "shard-00007.npy", np.zeros((1, 4), np.float32), 5)


@pytest.mark.parametrize("k", [1, 2, 99, 100, 250])
def test_k_at_and_beyond_shard_size(tmp_path, k):
    rng = np.random.default_rng(4)
    vecs = rng.standard_normal((100, 16)).astype(np.float32)
    q = rng.standard_normal((3, 16)).astype(np.float32)
    np.save(tmp_path / "s.npy", vecs)
    scores, rows = score_shard(tmp_path / "s.npy", q, k)
    exact = q.astype(np.float64) @ vecs.astype(np.float64).T
    expect = np.argsort(-exact, axis=1, kind="stable")[:, : min(k, 100)]
    np.testing.assert_array_equal(rows, expect)
    assert scores.shape == (3, min(k, 100))


def test_fortran_order_shard(tmp_path):
    """Regression: a Fortran-order .npy made every block a strided gather (7x slower);
    it must still score correctly (now through one contiguous copy)."""
    rng = np.random.default_rng(5)
    vecs = np.asfortranarray(rng.standard_normal((200, 32)).astype(np.float16))
    np.save(tmp_path / "f.npy", vecs)
    np.save(tmp_path / "c.npy", np.ascontiguousarray(vecs))
    q = rng.standard_normal((4, 32)).astype(np.float32)
    a = score_shard(tmp_path / "f.npy", q, 17)
    b = score_shard(tmp_path / "c.npy", q, 17)
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0], b[0])
