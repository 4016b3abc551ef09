"""Issue #16, silent wrong results and lost work, through the real CLI: each case is now
one `Error:` line naming the file, option or field, a non-zero exit, no traceback, no
hang, and nothing pre-existing written or replaced; or, where a flag makes it explicit
(`--allow-nan`) or a damaged checkpoint is scored again, a correct result."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.support.cli import run_avs
from tests.support.files import stable_run
from tests.support.hostile import Tiny, fails_cleanly, fifo, make_tiny
from tests.train.conftest import make_tiny_collection

TRAIN = ["--video-features", "objfeat,motion", "--text-features", "bow", "--preset", "demo",
         "--epochs", "1", "--device", "cpu", "-q"]  # fmt: skip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Tiny:
    return make_tiny(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def coll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_collection(tmp_path_factory.mktemp("coll") / "c", videos=60)


def _copy(coll: Path, tmp: Path) -> Path:
    return Path(shutil.copytree(coll, tmp / "c"))


# ---------------------------------------------------------------- avs train


def test_train_refuses_an_existing_out(coll: Path, tmp_path: Path) -> None:
    out = tmp_path / "m"
    out.mkdir()
    (out / "config.json").write_text('{"a trained": "model"}\n')
    (out / "weights.safetensors").write_bytes(b"weights")
    args = ["train", coll, *TRAIN, "--out", out]
    fails_cleanly(args, tmp_path, "--out", str(out), "--overwrite", untouched=[out])
    fails_cleanly([*args, "--resume", "--overwrite"], tmp_path, "--resume", untouched=[out])
    # --select-top's second model directory is checked before training, too.
    (tmp_path / "n-top1").mkdir()
    (tmp_path / "n-top1" / "config.json").write_text("{}")
    sel = ["train", coll, *TRAIN, "--out", tmp_path / "n", "--select-top", "1"]
    fails_cleanly(sel, tmp_path, "n-top1", untouched=[tmp_path / "n-top1"])
    assert not (tmp_path / "n").exists()


@pytest.mark.parametrize(
    ("bad", "names"),
    [
        (["--lr", "nan", "--batch-size", "0", "--dim", "2000000000"], ["--lr", "--batch-size", "--dim"]),
        (["--lr", "inf", "--heads", "0"], ["--lr", "--heads"]),
        (["--lr", "-1", "--epochs", "0"], ["--lr", "--epochs"]),
    ],
)  # fmt: skip
def test_train_refuses_bad_numbers(coll: Path, tmp_path: Path, bad: list[str], names: list[str]) -> None:  # fmt: skip
    """Several bad options per process: the one Error line must name each of them."""
    out = tmp_path / "m"
    fails_cleanly(["train", coll, *TRAIN, *bad, "--out", out], tmp_path, *names)
    assert not out.exists()


def test_train_refuses_bad_splits_and_collection_json(coll: Path, tmp_path: Path) -> None:
    c = _copy(coll, tmp_path)
    out = tmp_path / "m"
    args = ["train", c, *TRAIN, "--out", out]
    train_ids = (c / "train" / "train.txt").read_text().split()
    test_txt = c / "train" / "test.txt"
    good_test = test_txt.read_text()
    test_txt.write_text(good_test + train_ids[0] + "\n")  # a training video in test.txt
    fails_cleanly(args, tmp_path, "train.txt", "test.txt", train_ids[0])
    test_txt.write_text("")  # an empty test list
    fails_cleanly(args, tmp_path, "no test captions")
    test_txt.write_text(good_test)
    meta = c / "collection.json"
    meta.write_text("{not json")
    fails_cleanly(args, tmp_path, "collection.json")
    meta.write_text('{"format": "avs-collection", "simulated": "yes"}')
    fails_cleanly(args, tmp_path, "collection.json", "simulated")
    fifo(meta)
    fails_cleanly(args, tmp_path, "collection.json", "FIFO")
    assert not out.exists()


# ---------------------------------------------------------------- avs index / score


def _nan_store(tiny: Tiny, path: Path) -> str:
    """A copy of the world's features with shot row 7 NaN in one extractor; its id."""
    import h5py

    shutil.copy(tiny.features, path)
    with h5py.File(path, "r+") as f:
        f["features/clip"][7] = np.nan
        return f["ids"][7].decode()


def test_index_refuses_nan_features_unless_allowed(tiny: Tiny, tmp_path: Path) -> None:
    store = tmp_path / "nan.h5"
    shot = _nan_store(tiny, store)
    out = tmp_path / "idx"
    args = ["index", store, "--model", tiny.model, "--out", out, "--shard-rows", "128",
            "--device", "cpu", "-q"]  # fmt: skip
    fails_cleanly(args, tmp_path, shot, "--allow-nan")
    assert (
        not list(out.glob("shard-*.npy"))
        or not json.loads((out / "manifest.json").read_text())["complete"]
    )
    proc = run_avs([*args, "--allow-nan"], tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] and manifest["nonfinite_zeroed"] == 1
    assert not np.load(out / "shard-00000.npy")[7].any()  # the NaN shot is a zero vector


def test_index_refuses_while_another_build_holds_the_directory(tiny: Tiny, tmp_path: Path) -> None:  # fmt: skip
    out = tiny.copy_index("locked")
    from avs.search.index import index_lock_path

    fd = os.open(index_lock_path(out), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a running `avs index` holds it
    try:
        args = ["index", tiny.features, "--model", tiny.model, "--out", out, "--device", "cpu"]
        fails_cleanly(args, tmp_path, str(out), "another `avs index`", untouched=[out])
    finally:
        os.close(fd)


def _edit_manifest(tiny: Tiny, name: str, edit) -> Path:  # noqa: ANN001
    idx = tiny.copy_index(name)
    m = json.loads((idx / "manifest.json").read_text())
    edit(m)
    (idx / "manifest.json").write_text(json.dumps(m))
    return idx


def test_score_refuses_a_manifest_that_lost_or_duplicated_a_shard(tiny: Tiny, tmp_path: Path) -> None:  # fmt: skip
    runs = tiny.root / "runs"
    cases = {
        "lost": lambda m: m["shards"].pop(1),
        "dup": lambda m: m["shards"].insert(1, dict(m["shards"][1])),
        "short": lambda m: m.update(n=m["n"] - 3, shards=m["shards"][:-1] + [{**m["shards"][-1], "stop": m["n"] - 3}]),
    }  # fmt: skip
    needles = {"lost": "shards[1]", "dup": "shards[2]", "short": "shard-00003.npy"}
    for name, edit in cases.items():
        idx = _edit_manifest(tiny, name, edit)
        fails_cleanly(tiny.score_args(idx), tmp_path, needles[name], untouched=[idx])
        assert not (runs / "tiny.parquet").exists()


def test_resume_rescores_damaged_checkpoints(tiny: Tiny, tmp_path: Path) -> None:
    """NaN scores, a FIFO, a bit-flipped zip and a 0-byte file in place of the four
    partial results: `--resume` scores those shards again, identical to a fresh run."""
    from avs.search.checkpoints import partial_dir

    runs = tiny.root / "runs"
    ref = run_avs(tiny.score_args(**{"--run-name": "ref"}), tmp_path, timeout=120)
    assert ref.returncode == 0, ref.stderr
    # A first --resume leaves nothing to resume: make its partial directory by hand.
    part = partial_dir(runs, "tiny")
    part.mkdir(parents=True)
    from avs.io.topics import topics_sha256

    sig = {"run_name": "tiny", "fingerprint": json.loads((tiny.index / "manifest.json").read_text())["fingerprint"],
           "index": str(tiny.index.resolve()), "n": 503, "shards": 4, "k": 50,
           "topics_sha256": topics_sha256(tiny.topics)}  # fmt: skip
    (part / "job.json").write_text(json.dumps(sig))
    np.savez(part / "shard-00000.npz", scores=np.full((4, 50), np.nan, np.float32),
             rows=np.tile(np.arange(50), (4, 1)), seconds=np.float64(1))  # fmt: skip
    fifo(part / "shard-00001.npz")
    np.savez(part / "shard-00002.npz", scores=np.zeros((4, 50), np.float32),
             rows=np.tile(np.arange(256, 306), (4, 1)), seconds=np.float64(1))  # fmt: skip
    raw = bytearray((part / "shard-00002.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (part / "shard-00002.npz").write_bytes(bytes(raw))
    (part / "shard-00003.npz").write_bytes(b"")
    proc = run_avs([*tiny.score_args(), "--resume"], tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got, ref_rows = stable_run(runs / "tiny.parquet"), stable_run(runs / "ref.parquet")
    assert got[0] == ref_rows[0]
    assert all(np.isfinite(s) for *_, s in got[0])
