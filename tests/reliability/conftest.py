"""Fixtures for the reliability tests: small file systems and a small search world
(helpers live in tests/support/: cli.py runs and kills the CLI, files.py checks what it
left on disk)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# ---------------------------------------------------------------- file systems


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """``small_fs("2m")``: a fresh tmpfs of that size, unmounted after the test.
    Skips when this process may not mount (not root, or no CAP_SYS_ADMIN)."""
    mounted: list[Path] = []

    def make(size: str) -> Path:
        mnt = tmp_path / f"fs{len(mounted)}"
        mnt.mkdir()
        proc = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({proc.stderr.strip() or 'not root'})")
        mounted.append(mnt)
        return mnt

    yield make
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True, check=False)


# ---------------------------------------------------------------- a search world

# The search tests' tiny world (tests/support/searchkit.py) is reused, not copied.
SEARCH_SHOTS = 20_000  # with 100-row shards: 200 tasks, ~8 s per CLI command on 2 cores
SEARCH_SHARD_ROWS = 100


@dataclass(frozen=True)
class SearchWorld:
    root: Path
    features: Path
    model: Path
    index: Path  # built in-process with SEARCH_SHARD_ROWS rows per shard
    topics: Path

    def index_args(self, out: Path, shard_rows: int = SEARCH_SHARD_ROWS) -> list[str | Path]:
        """``avs index`` of this world's shots into ``out`` (CPU, no progress bar)."""
        return [
            "index", self.features, "--model", self.model, "--out", out,
            "--shard-rows", str(shard_rows), "--device", "cpu", "-q",
        ]  # fmt: skip

    def score_args(self, runs: Path, name: str = "r", k: int = 100) -> list[str | Path]:
        """``avs score`` of this world's topics into ``runs/NAME.parquet`` (LocalCluster)."""
        return [
            "score", "--topics", self.topics, "--index", self.index, "--model", self.model,
            "--run-name", name, "--runs", runs, "--k", str(k), "--device", "cpu", "-q",
        ]  # fmt: skip


@pytest.fixture(scope="session")
def search_world(tmp_path_factory: pytest.TempPathFactory) -> SearchWorld:
    """20,000 simulated shots, the search tests' tiny LAFF model, its index (200 shards)
    and a 2022 topic file. Paths are absolute so every CLI run records the same ones."""
    from avs.search.index import build_index
    from tests.support.searchkit import TOPIC_LINES, make_features, make_model

    root = tmp_path_factory.mktemp("search_world")
    make_features(root / "shots.h5", n=SEARCH_SHOTS)
    make_model(root / "model")
    build_index(root / "shots.h5", root / "model", root / "index", shard_rows=SEARCH_SHARD_ROWS)
    topics = root / "2022.txt"
    topics.write_text("\n".join(TOPIC_LINES) + "\n")
    return SearchWorld(root, root / "shots.h5", root / "model", root / "index", topics)
