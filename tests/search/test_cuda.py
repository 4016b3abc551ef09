"""The CUDA paths of `avs index` and `avs score` against the CPU ones.

Skipped without a GPU; on a GPU machine run ``pytest tests/search/test_cuda.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avs.io.runs import read_run
from avs.search.index import build_index
from avs.search.job import run_score
from avs.search.score import score_shard
from tests.support.searchkit import score_job

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_exact_scores_and_ties_are_identical_on_cuda_and_cpu(tmp_path) -> None:
    # Entries are multiples of 1/8 and 1/16: every product and partial sum is exact in
    # float32, so both devices must give the same numbers whatever their summation
    # order, and the many equal scores test the tie rule on each.
    rng = np.random.default_rng(0)
    x = (rng.integers(-4, 5, size=(70_000, 64)) / 8).astype(np.float16)
    q = (rng.integers(-4, 5, size=(7, 64)) / 16).astype(np.float32)
    path = tmp_path / "shard-00000.npy"
    np.save(path, x)
    for k in (1, 1000, 70_000):
        cpu = score_shard(path, q, k, "cpu", start=500)
        gpu = score_shard(path, q, k, "cuda", start=500)
        np.testing.assert_array_equal(gpu[0], cpu[0])
        np.testing.assert_array_equal(gpu[1], cpu[1])


def test_float_scores_agree_with_float64(tmp_path) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50_000, 512)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x = x.astype(np.float16)
    q = rng.standard_normal((5, 512)).astype(np.float32)
    path = tmp_path / "shard-00000.npy"
    np.save(path, x)
    scores, rows = score_shard(path, q, 100, "cuda")
    exact = q.astype(np.float64) @ x.astype(np.float64).T
    # TF32 (10-bit mantissa) would be off by ~1e-3 here; float32 is within 1e-5.
    np.testing.assert_allclose(scores, np.take_along_axis(exact, rows, 1), rtol=0, atol=1e-5)
    best = -np.sort(-exact, axis=1)[:, :100]
    np.testing.assert_allclose(scores, best, rtol=0, atol=1e-5)


def test_index_on_cuda_matches_cpu(world, tmp_path) -> None:
    out = tmp_path / "gpu-index"
    build_index(world.features, world.model, out, shard_rows=128, device="cuda")
    cpu = json.loads((world.index / "manifest.json").read_text())
    gpu = json.loads((out / "manifest.json").read_text())
    assert gpu["fingerprint"] == cpu["fingerprint"] and gpu["shards"] == cpu["shards"]
    for shard in cpu["shards"]:
        a = np.load(world.index / shard["file"]).astype(np.float32)
        b = np.load(out / shard["file"]).astype(np.float32)
        np.testing.assert_allclose(b, a, atol=2e-3)  # one float16 step at most


def test_score_job_on_cuda_matches_cpu(world, tmp_path, dask_client) -> None:
    cpu = read_run(run_score(score_job(world, tmp_path / "c"), client=dask_client, progress=False))
    gpu = read_run(
        run_score(
            score_job(world, tmp_path / "g", device="cuda"), client=dask_client, progress=False
        )
    )
    assert gpu.meta["device"] == "cuda"
    for number in (701, 702, 703, 704):
        ids_c, scores_c = cpu.ranking(number)
        ids_g, scores_g = gpu.ranking(number)
        np.testing.assert_allclose(scores_g, scores_c, rtol=0, atol=1e-5)
        assert ids_g.tolist() == ids_c.tolist()
