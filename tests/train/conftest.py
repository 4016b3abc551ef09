"""A tiny avs collection built here (not by avs synth) so training tests are small and
fast: 12 concepts (6 objects seen by 'objfeat', 6 actions seen by 'motion'), 200 videos,
3 captions each; 'motion' also has 4 frame-level features per video."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from avs.io.features import FeatureStoreWriter

OBJECTS = ["dog", "car", "bike", "guitar", "boat", "horse"]
ACTIONS = ["running", "jumping", "dancing", "swimming", "singing", "cooking"]


def make_tiny_collection(root: Path, videos: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    (root / "train").mkdir(exist_ok=True)
    ids = [f"video{i}" for i in range(videos)]
    w_obj = rng.normal(size=(len(OBJECTS), 32))
    w_act = rng.normal(size=(len(ACTIONS), 24))
    obj = rng.integers(0, len(OBJECTS), size=videos)
    act = rng.integers(0, len(ACTIONS), size=videos)
    f_obj = np.tanh(w_obj[obj] + 0.3 * rng.normal(size=(videos, 32)))
    frames = np.tanh(w_act[act][:, None, :] + 0.3 * rng.normal(size=(videos, 4, 24)))
    f_act = frames.mean(1)
    with FeatureStoreWriter(
        root / "train" / "features.h5",
        ids,
        {"objfeat": 32, "motion": 24},
        dtype="float32",
        frames={"motion": 24},
        attrs={"simulated": True, "collection": "tiny"},
    ) as w:
        w.write("objfeat", 0, f_obj.astype(np.float32))
        w.write("motion", 0, f_act.astype(np.float32))
        w.write_frames("motion", 0, frames.reshape(-1, 24).astype(np.float32), np.full(videos, 4))
    lines = []
    for i, v in enumerate(ids):
        for n in range(3):
            lines.append(f"{v}#{n} a {OBJECTS[obj[i]]} is {ACTIONS[act[i]]} there")
    (root / "train" / "captions.txt").write_text("\n".join(lines) + "\n")
    cut1, cut2 = int(videos * 0.7), int(videos * 0.85)
    (root / "train" / "train.txt").write_text("\n".join(ids[:cut1]) + "\n")
    (root / "train" / "val.txt").write_text("\n".join(ids[cut1:cut2]) + "\n")
    (root / "train" / "test.txt").write_text("\n".join(ids[cut2:]) + "\n")
    (root / "collection.json").write_text(
        json.dumps({"format": "avs-collection", "name": "tiny", "simulated": True, "seed": seed})
    )
    return root


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread: small models train faster so on a shared 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_collection(tmp_path_factory.mktemp("tiny") / "coll")
