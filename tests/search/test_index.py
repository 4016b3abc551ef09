"""avs index: layout, embeddings equal to the model's, resumable, atomic, Dask = local."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from avs.errors import AvsError
from avs.io.features import open_features
from avs.model import load_model
from avs.search import index as index_mod
from avs.search.index import build_index, read_manifest
from tests.support.searchkit import make_model


def test_layout_and_throughput(world):
    m = read_manifest(world.index)
    for key in ("format", "version", "fingerprint", "model", "collection", "n", "dim", "heads",
                "dtype", "simulated", "shards"):  # fmt: skip
        assert key in m, key
    assert m["complete"] and m["n"] == 503 and m["dim"] == 32 and m["heads"] == 4
    assert m["dtype"] == "float16" and m["simulated"] is True
    assert [(s["start"], s["stop"]) for s in m["shards"]] == [
        (0, 128),
        (128, 256),
        (256, 384),
        (384, 503),
    ]
    assert (world.index / "ids.txt").read_text().split("\n")[:-1] == world.ids
    tp = m["throughput"]
    assert tp["shots"] == 503 and tp["shots_per_s"] > 0 and tp["reused_shots"] == 0
    # The GEMM peak is the benchmarks' business (issue #11): the manifest keeps the rate.
    assert "gemm_peak_gflops" not in tp and tp["transform_gflops_per_task"] > 0


def test_shards_hold_the_models_embeddings(world):
    model = load_model(world.model, "cpu")
    with open_features(world.features) as store:
        feats = {n: torch.from_numpy(store.read(n, 0, store.n)) for n in model.video_features}
    expect = model.encode_video(feats).numpy()
    m = read_manifest(world.index)
    got = np.concatenate([np.load(world.index / s["file"]) for s in m["shards"]])
    assert got.dtype == np.float16
    np.testing.assert_allclose(got.astype(np.float32), expect, atol=2e-3)


def _stamps(out):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("shard-*.npy")}


def test_resume_rebuilds_only_missing_shards(world, tmp_path):
    out = tmp_path / "idx"
    build_index(world.features, world.model, out, shard_rows=128)
    before = _stamps(out)
    (out / "shard-00002.npy").unlink()
    build_index(world.features, world.model, out, shard_rows=128)
    after = _stamps(out)
    assert set(after) == set(before)
    for name in before:
        assert (after[name] == before[name]) == (name != "shard-00002.npy"), name


def test_other_model_rewrites_everything(world, tmp_path):
    out = tmp_path / "idx"
    build_index(world.features, world.model, out, shard_rows=256)
    before = _stamps(out)
    fp = make_model(tmp_path / "other", seed=3)
    m = build_index(world.features, tmp_path / "other", out, shard_rows=256)
    assert m["fingerprint"] == fp == read_manifest(out)["fingerprint"]
    after = _stamps(out)
    assert all(after[n] != before[n] for n in before)


def test_killed_build_leaves_no_half_shard(world, tmp_path, monkeypatch):
    """A crash while writing a shard must not leave a file that looks finished."""
    out = tmp_path / "idx"
    real_save = np.save

    def dying_save(fh, arr, **kw):
        fh.write(b"\x93NUMPY half")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(index_mod.np, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        build_index(world.features, world.model, out, shard_rows=128)
    monkeypatch.setattr(index_mod.np, "save", real_save)
    assert not list(out.glob("shard-*")) and not list(out.glob(".shard-*"))
    assert not read_manifest(out)["complete"]
    build_index(world.features, world.model, out, shard_rows=128)
    assert read_manifest(out)["complete"]


def test_dask_build_equals_local_build(world, tmp_path, dask_client):
    build_index(world.features, world.model, tmp_path / "dask", shard_rows=128, client=dask_client)
    m = read_manifest(tmp_path / "dask")
    for s in m["shards"]:
        a = np.load(tmp_path / "dask" / s["file"])
        ref = np.concatenate(
            [np.load(world.index / t["file"]) for t in read_manifest(world.index)["shards"]]
        )
        np.testing.assert_array_equal(a, ref[s["start"] : s["stop"]])


def test_errors(world, tmp_path):
    with pytest.raises(AvsError, match="collection not found"):
        build_index(tmp_path / "nope", world.model, tmp_path / "i")
    with pytest.raises(AvsError, match="--dtype"):
        build_index(world.features, world.model, tmp_path / "i", dtype="int8")
    with pytest.raises(AvsError, match="no index"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(AvsError, match="not an avs index"):
        read_manifest(tmp_path)


@pytest.mark.slow
def test_cli_index(world, tmp_path):
    from click.testing import CliRunner

    from avs.cli import main

    out = tmp_path / "cli"
    args = ["index", str(world.features), "--model", str(world.model), "--out", str(out)]
    result = CliRunner().invoke(main, [*args, "--shard-rows", "200", "--device", "cpu", "-q"])
    assert result.exit_code == 0, result.output
    assert "index written" in result.output and len(read_manifest(out)["shards"]) == 3
