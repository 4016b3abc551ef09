"""TrainOptions for the tiny training collection of tests/train/conftest.py."""

from __future__ import annotations

from pathlib import Path

from avs.train.loop import TrainOptions


def options(coll: Path, out: Path, **kw: object) -> TrainOptions:
    """Small CPU training options of ``coll`` into ``out``; ``kw`` overrides any field."""
    base = dict(
        collection=str(coll),
        out=str(out),
        video_features=["objfeat", "motion"],
        text_features=["bow", "gru"],
        heads=2,
        dim=32,
        epochs=3,
        batch_size=32,
        lr=1e-3,
        model_options={"gru_word_dim": 16, "gru_hidden": 16, "bow_min_count": 1},
        device="cpu",  # test_train.py asserts bit-identity; the CUDA run is test_train_cuda.py
    )
    base.update(kw)
    return TrainOptions(**base)
