"""Regression: the MHSA fusion baseline collapsed under hardest-negative training.

Bug: ``MhsaFusion`` (transform -> nn.MultiheadAttention -> residual + LayerNorm -> mean
over features -> per-head L2) collapsed within a few RMSprop steps: every caption (and
every video) got nearly the same embedding (mean pairwise cosine 0.99), R@1 at chance.
The hardest-negative triplet loss is lower for identical embeddings (margin per row)
than at initialisation, and the attention's value/output projections, linear maps after
the tanh with only scale-invariant LayerNorm / L2 after them, can amplify the component
that all samples share until it dominates. Fix: the fused vector is centred (batch mean
in training, running mean at inference) before the per-head normalisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from avs.model import load_model
from avs.model.baselines import MhsaFusion
from avs.synth import make_collection
from avs.train.data import load_training_data
from avs.train.loop import Batcher, TrainOptions, evaluate, train

TOPICS = Path(__file__).resolve().parents[2] / "topics" / "2022.txt"


@pytest.fixture
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _mean_pairwise_cosine(emb: torch.Tensor, heads: int) -> float:
    sims = emb @ emb.T / heads
    off = ~torch.eye(len(emb), dtype=torch.bool)
    return float(sims[off].mean())


def test_mhsa_does_not_collapse_under_hardest_negative_training(
    tmp_path: Path, one_thread: None
) -> None:
    coll = make_collection(tmp_path / "coll", [TOPICS], shots=200, seed=3, train_videos=300)
    opts = TrainOptions(
        collection=str(coll),
        out=str(tmp_path / "model"),
        video_features=["clip", "motion", "scene"],
        text_features=["bow", "gru"],
        fusion="mhsa",
        heads=8,
        dim=512,
        epochs=1,
        batch_size=128,
        lr=1e-3,  # heads, dim, lr and GRU sizes as in the demo preset
        seed=0,
        device="cpu",
        model_options={"gru_word_dim": 64, "gru_hidden": 128, "mhsa_heads": 4},
    )
    train(opts)
    model = load_model(opts.out, "cpu")
    data = load_training_data(coll, opts.video_features, [], opts.seed)
    batcher = Batcher(model, data, "cpu")
    # The training split: the bug is a collapse, not poor generalisation, and it has the
    # most videos (val has ~25 here, too few for a clear chance level).
    split = data.splits["train"]
    text = model.text_embed(batcher.text_inputs("train", torch.arange(300)))[0]
    video = model.video_embed(*batcher.video(torch.from_numpy(split.videos)))[0]
    assert _mean_pairwise_cosine(text.detach(), model.heads) < 0.6  # was 0.94
    assert _mean_pairwise_cosine(video.detach(), model.heads) < 0.6  # was 0.94
    metrics = evaluate(model, batcher, split, "train")
    chance = float((1.0 / torch.arange(1, len(split.videos) + 1)).mean())  # ~0.027
    assert metrics["map"] > 5 * chance  # was 0.066, now ~0.56


def test_mhsa_centring_uses_batch_mean_in_training_and_running_mean_at_inference() -> None:
    torch.manual_seed(0)
    block = MhsaFusion([5, 3], heads=2, dim=8, dropout=0.0, mhsa_heads=2)
    feats = [torch.randn(6, 5) + 3.0, torch.randn(6, 3) - 2.0]
    block.train()
    for _ in range(200):  # running mean converges to the (fixed) batch mean
        block(feats)
    train_emb = block(feats)[0]
    block.eval()
    eval_emb = block(feats)[0]
    assert torch.allclose(train_emb, eval_emb, atol=1e-4)
    assert "centre.running_mean" in block.state_dict()
