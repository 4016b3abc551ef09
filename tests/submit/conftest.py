"""Fixtures for avs submit: small Parquet runs with per-topic elapsed times."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avs.io.runs import write_run
from avs.io.topics import read_topics
from avs.ties import tie_order

REPO = Path(__file__).resolve().parents[2]
TOPICS = REPO / "topics"


def make_run(
    path: Path,
    year: int,
    topics: list[int],
    k: int = 5,
    *,
    elapsed: float = 2.5,
    seed: int = 0,
    iacc: bool = False,
) -> Path:
    """Write a run of ``k`` shots per topic; ranks follow the tie rule (score desc,
    shot id desc), with deliberate score ties."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in topics:
        videos = rng.choice(9000, size=k, replace=False) + 1
        shots = [
            f"shot{v}_{i % 7 + 1}" if iacc else f"shot{v:05d}_{i % 7 + 1}"
            for i, v in enumerate(videos)
        ]
        scores = np.round(rng.random(k), 1).astype(np.float32)  # rounding makes ties
        order = tie_order(np.array(shots), scores)
        for rank, i in enumerate(order, start=1):
            rows.append((t, rank, shots[i], float(scores[i])))
    topic, rank, shot, score = zip(*rows, strict=True)
    meta = {
        "year": year,
        "elapsed": {str(t): elapsed + 0.25 * j for j, t in enumerate(topics)},
        "simulated": True,
        "run_name": path.stem,
    }
    return write_run(path, np.array(topic), np.array(rank), np.array(shot), np.array(score), meta)


def topic_numbers(name: str) -> list[int]:
    """Topic numbers of one of the repository's topic files."""
    return [t.number for t in read_topics(TOPICS / name)]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory as cwd, with no workspace file in effect."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AVS_WORKSPACE", raising=False)
    return tmp_path


@pytest.fixture
def new_run():
    """:func:`make_run`, for tests to write runs with."""
    return make_run


@pytest.fixture
def topics_of():
    """:func:`topic_numbers`: topic numbers of a file in the repository's topics/."""
    return topic_numbers
