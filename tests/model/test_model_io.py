"""AvsModel encoders, unknown texts, checkpoints and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from avs.errors import AvsError
from avs.model import AvsModel, LaffConfig, load_model, save_model
from avs.model.loss import TripletLoss
from avs.text import build_encoder

CAPTIONS = ["a man rides a bike", "a dog runs on grass", "a man runs", "two dogs swim"]


def make_model(fusion: str = "laff", text: tuple[str, ...] = ("bow", "gru")) -> AvsModel:
    torch.manual_seed(0)
    cfg = LaffConfig(
        video_features=["a", "b"],
        video_dims=[10, 6],
        text_features=list(text),
        fusion=fusion,
        heads=2,
        dim=16,
        frame_features=["b"] if fusion == "laff-ml" else [],
        gru_word_dim=8,
        gru_hidden=8,
        bow_min_count=1,
    )
    encoders = [build_encoder(s, cfg.to_dict()) for s in cfg.text_features]
    for e in encoders:
        e.fit(CAPTIONS)
    cfg.text_dims = [e.dim for e in encoders]
    return AvsModel(cfg, encoders).eval()


def video_inputs(fusion: str) -> tuple[dict, dict | None]:
    g = torch.Generator().manual_seed(3)
    feats = {"a": torch.randn(3, 10, generator=g), "b": torch.randn(3, 6, generator=g)}
    frames = None
    if fusion == "laff-ml":
        frames = {"b": (torch.randn(7, 6, generator=g), torch.tensor([0, 2, 5, 7]))}
    return feats, frames


@pytest.mark.parametrize("fusion", ["laff", "laff-ml", "mean", "mhsa", "concat"])
def test_checkpoint_reloads_to_identical_outputs(fusion: str, tmp_path: Path) -> None:
    model = make_model(fusion)
    fp = save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m", "cpu")
    assert again.fingerprint == fp == model.fingerprint
    assert again.heads == 2 and again.dim == 16 and again.video_features == ["a", "b"]
    feats, frames = video_inputs(fusion)
    assert torch.equal(model.encode_video(feats, frames), again.encode_video(feats, frames))
    assert torch.equal(model.encode_text(CAPTIONS), again.encode_text(CAPTIONS))
    assert again.encode_text(["a man"]).shape == (1, 16)


def test_fingerprint_changes_with_weights(tmp_path: Path) -> None:
    model = make_model()
    fp1 = save_model(model, tmp_path / "m1")
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert save_model(model, tmp_path / "m2") != fp1


def test_unknown_texts() -> None:
    model = make_model()
    assert model.unknown_texts(["a man", "zebra quokka", "", "DOGS swim!"]) == [1, 2]


def test_corrupt_or_foreign_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    model = make_model()
    fp = save_model(model, tmp_path / "m")
    cfg = tmp_path / "m" / "config.json"
    doc = json.loads(cfg.read_text())
    doc["version"] = 99
    cfg.write_text(json.dumps(doc))
    with pytest.raises(AvsError, match=fp):
        load_model(tmp_path / "m")
    doc["version"] = 1
    doc["config"]["heads"] = 4  # weights no longer match the fingerprint
    cfg.write_text(json.dumps(doc))
    with pytest.raises(AvsError, match=fp):
        load_model(tmp_path / "m")
    cfg.write_text("{not json")
    with pytest.raises(AvsError, match="corrupt"):
        load_model(tmp_path / "m")
    with pytest.raises(AvsError, match="not a model directory"):
        load_model(tmp_path / "nothing")


def test_missing_feature_and_dimension_mismatch_are_clear_errors() -> None:
    model = make_model()
    with pytest.raises(AvsError, match="'b' is missing"):
        model.encode_video({"a": torch.randn(2, 10)})
    with pytest.raises(AvsError, match=r"expects \(\*, 6\)"):
        model.encode_video({"a": torch.randn(2, 10), "b": torch.randn(2, 5)})


def test_triplet_loss_ignores_captions_of_the_same_video() -> None:
    """Regression for the released code: two captions of one video in a batch were each
    other's hardest negative."""
    v = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), dim=1)
    t = v.clone()
    loss = TripletLoss(margin=0.2, heads=1)
    same = loss(t, v, torch.tensor([0, 0, 1]))["loss"]
    distinct = loss(t, v, torch.tensor([0, 1, 2]))["loss"]
    assert same.item() == pytest.approx(0.0)
    assert distinct.item() == pytest.approx(0.4)  # rows 0 and 1: margin + 1 - 1 each


def test_cuda_request_without_gpu_is_an_error(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    save_model(make_model(), tmp_path / "m")
    with pytest.raises(AvsError, match="cuda"):
        load_model(tmp_path / "m", "cuda")
