"""Training on CUDA (mixed precision) against the same training on CPU.

Skipped without a GPU; on a GPU machine run ``pytest tests/train/test_train_cuda.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from avs.model import load_model
from avs.train.loop import train
from tests.support.training import options

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_cuda_training_learns_and_the_model_runs_on_both_devices(
    tiny_collection: Path, tmp_path: Path
) -> None:
    cpu = train(options(tiny_collection, tmp_path / "cpu", epochs=3))
    gpu = train(options(tiny_collection, tmp_path / "gpu", epochs=3, device="cuda"))
    # Different kernels and float16 autocast: not bit-identical, but as good.
    assert gpu.test["map"] > cpu.test["map"] - 0.1
    assert gpu.test["map"] > 0.3
    on_cpu = load_model(tmp_path / "gpu", "cpu")
    on_gpu = load_model(tmp_path / "gpu", "cuda")
    texts = ["a dog is running", "a boat"]
    with torch.inference_mode():
        a = on_cpu.encode_text(texts).cpu().numpy()
        b = on_gpu.encode_text(texts).cpu().numpy()
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
