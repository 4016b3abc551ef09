"""Fixtures for the fusion tests: a second real-based 2021 run to fuse with RUCMM."""

from __future__ import annotations

from pathlib import Path

import pytest

from avs.fusion.simulate import perturbed_run
from tests.fusion.fusionkit import FIXTURES


@pytest.fixture(scope="session")
def second_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second 2021 TREC run: the real RUCMM run perturbed (seed 1)."""
    out = tmp_path_factory.mktemp("perturbed") / "tv21.PERTURBED.trec"
    return perturbed_run(
        FIXTURES / "tv21.RUCMM.trec", FIXTURES / "avs.qrels.main.tv21", out, seed=1
    )
