"""The MHSA centring is recalibrated to the exact training-set mean (as precise-BN does),
not left at the running mean that lags behind the final weights."""

from __future__ import annotations

from pathlib import Path

import torch

from avs.model import load_model
from avs.model.baselines import MhsaFusion, set_centring
from avs.model.model import AvsModel
from avs.train.calibrate import has_centring, recalibrate_centres
from avs.train.data import load_training_data
from avs.train.loop import Batcher, _make_model, train
from tests.support.training import options


@torch.no_grad()
def _pre_centre(block: MhsaFusion, feats: list[torch.Tensor]) -> torch.Tensor:
    """What the block's Centre receives: its forward up to the centring, in eval mode."""
    x = block.transform(feats)
    y, _ = block.attn(x, x, x, need_weights=False)
    return block.norm(x + y).mean(dim=1)


@torch.no_grad()
def _exact_means(model: AvsModel, batcher: Batcher, split) -> tuple[torch.Tensor, torch.Tensor]:
    """Training-set means computed by hand, in one batch, in float64."""
    model.eval()
    rows = torch.from_numpy(split.videos)
    feats, _ = batcher.video(rows)
    video = _pre_centre(model.video_fusion, [feats[n] for n in model.video_features])
    prepared = batcher.text_inputs("train", torch.arange(len(split.texts)))
    enc = [e(p) for e, p in zip(model.text_encoders, prepared, strict=True)]
    text = _pre_centre(model.text_fusion, enc)
    return video.double().mean(0), text.double().mean(0)


def test_recalibrated_mean_is_the_exact_training_set_mean(tiny_collection: Path) -> None:
    opts = options(tiny_collection, Path("unused"), fusion="mhsa", model_options={
        "gru_word_dim": 16, "gru_hidden": 16, "bow_min_count": 1, "mhsa_heads": 2})  # fmt: skip
    torch.manual_seed(0)
    data = load_training_data(tiny_collection, opts.video_features)
    model = _make_model(opts, data, [])
    batcher = Batcher(model, data, "cpu")
    split = data.splits["train"]
    model.train()
    for _ in range(3):  # a lagging running mean, far from the eval-mode mean
        idx = torch.arange(64)
        model.video_embed(*batcher.video(torch.from_numpy(split.video_rows[:64])))
        model.text_embed(batcher.text_inputs("train", idx))
    video, text = _exact_means(model, batcher, split)
    assert not torch.allclose(model.video_fusion.centre.running_mean.double(), video, atol=1e-3)
    model.train()
    means = recalibrate_centres(model, batcher, split, "train", bs=7)  # batches: exact anyway
    assert model.training  # mode restored
    assert set(means) == {"video_fusion.centre", "text_fusion.centre"}
    torch.testing.assert_close(
        model.video_fusion.centre.running_mean.double(), video, atol=1e-6, rtol=1e-5
    )
    torch.testing.assert_close(
        model.text_fusion.centre.running_mean.double(), text, atol=1e-6, rtol=1e-5
    )


def test_training_saves_the_recalibrated_mean(tiny_collection: Path, tmp_path: Path) -> None:
    opts = options(tiny_collection, tmp_path / "m", fusion="mhsa", epochs=2, model_options={
        "gru_word_dim": 16, "gru_hidden": 16, "bow_min_count": 1, "mhsa_heads": 2})  # fmt: skip
    train(opts)
    model = load_model(opts.out, "cpu")
    data = load_training_data(tiny_collection, opts.video_features)
    batcher = Batcher(model, data, "cpu")
    video, text = _exact_means(model, batcher, data.splits["train"])
    torch.testing.assert_close(
        model.video_fusion.centre.running_mean.double(), video, atol=1e-6, rtol=1e-5
    )
    torch.testing.assert_close(
        model.text_fusion.centre.running_mean.double(), text, atol=1e-6, rtol=1e-5
    )


def test_disabled_centring_is_the_identity_and_is_not_recalibrated(tiny_collection: Path) -> None:
    opts = options(tiny_collection, Path("unused"), fusion="mhsa", model_options={
        "gru_word_dim": 16, "gru_hidden": 16, "bow_min_count": 1, "mhsa_heads": 2})  # fmt: skip
    data = load_training_data(tiny_collection, opts.video_features)
    model = _make_model(opts, data, [])
    assert has_centring(model)
    assert set_centring(model, False) == 2
    assert not has_centring(model)
    assert recalibrate_centres(model, Batcher(model, data, "cpu"), data.splits["train"]) == {}
    x = torch.randn(5, model.dim)
    model.train()
    assert torch.equal(model.video_fusion.centre(x), x)
    assert torch.count_nonzero(model.video_fusion.centre.running_mean) == 0
    laff = _make_model(options(tiny_collection, Path("unused")), data, [])
    assert not has_centring(laff)
