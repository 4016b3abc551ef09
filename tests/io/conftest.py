"""Fixtures for the file-format tests: small feature stores built on the fly."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from avs.io.bigfile import BigFileWriter
from avs.io.features import FeatureStoreWriter

N = 300
DIMS = {"clip": 16, "slowfast": 8}
FRAMES = 3  # frames per row of the clip frame-level features


def shot_ids(n: int = N) -> list[str]:
    return [f"shot{i // 100 + 1:05d}_{i % 100 + 1}" for i in range(n)]


def matrices(n: int = N, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal((n, d)).astype(np.float32) for name, d in DIMS.items()}


@pytest.fixture
def ids() -> list[str]:
    """The row ids every store fixture holds."""
    return shot_ids()


@pytest.fixture
def n_frames() -> int:
    """Frames per row of the clip frame-level features in ``make_h5`` stores."""
    return FRAMES


@pytest.fixture
def values() -> dict[str, np.ndarray]:
    """The float32 matrices every store fixture holds."""
    return matrices()


@pytest.fixture
def make_h5(tmp_path: Path) -> Callable[..., Path]:
    """Build an HDF5 store with extractors ``clip`` (with frames) and ``slowfast``."""

    def make(
        name: str = "store.h5",
        data: dict[str, np.ndarray] | None = None,
        dtype: str = "float32",
        frames: bool = True,
    ) -> Path:
        data = matrices() if data is None else data
        n = len(next(iter(data.values())))
        path = tmp_path / name
        dims = {k: v.shape[1] for k, v in data.items()}
        fr = {"clip": dims["clip"]} if frames and "clip" in dims else None
        with FeatureStoreWriter(path, shot_ids(n), dims, dtype, fr, {"simulated": True}) as w:
            for k, v in data.items():
                for start in range(0, n, 128):  # blocks, as a streaming writer does
                    w.write(k, start, v[start : start + 128])
            if fr:
                w.write_frames("clip", 0, np.repeat(data["clip"], FRAMES, axis=0), [FRAMES] * n)
        return path

    return make


@pytest.fixture
def make_bigfile(tmp_path: Path) -> Callable[..., Path]:
    """Build a BigFile directory holding ``array`` (default: the clip matrix)."""

    def make(
        name: str = "clip", array: np.ndarray | None = None, parent: Path | None = None
    ) -> Path:
        array = matrices()["clip"] if array is None else array
        path = (parent or tmp_path) / name
        with BigFileWriter(path, shot_ids(len(array)), array.shape[1]) as w:
            w.write(0, array)
        return path

    return make
