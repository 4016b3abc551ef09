"""The RUC VisualSearch layout of training data."""

from __future__ import annotations

from pathlib import Path

import pytest

from avs.errors import AvsError
from avs.train.data import load_training_data
from tests.support.files import write_bigfile


def test_ruc_layout_with_sibling_collections(tmp_path: Path) -> None:
    for i, part in enumerate(("train", "val", "test")):
        root = tmp_path / f"msrvtt10k{part}"
        ids = [f"video{i * 10 + k}" for k in range(6)]
        write_bigfile(root / "FeatureData" / "resnext", ids, 5, i)
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
    write_bigfile(root / "FeatureData" / "clip", ids, 4, 0)
    (root / "TextData").mkdir(parents=True)
    (root / "TextData" / "tgif.caption.txt").write_text("".join(f"{v}#0 a cat\n" for v in ids))
    data = load_training_data(root, ["clip"], seed=3)
    sizes = {k: len(s.texts) for k, s in data.splits.items()}
    assert sizes == {"train": 36, "val": 2, "test": 2}
    with pytest.raises(AvsError, match="no video feature 'motion'"):
        load_training_data(root, ["motion"])
