"""Helpers of the hostile-input suites (tests/reliability/test_hostile_*.py, issue #16):
a tiny world (features, model, index, topics) built in-process once per module, a
snapshot of files to prove nothing was written or replaced, and one assertion per case."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.cli import AVS, assert_clean_failure, avs_env
from tests.support.searchkit import TOPIC_LINES, make_features, make_model

CASE_TIMEOUT = 90  # seconds: a hang (a FIFO opened for reading) fails the case


@dataclass(frozen=True)
class Tiny:
    """A scoring world: ``features`` (503 shots), ``model``, ``index`` (4 shards)."""

    root: Path
    features: Path
    model: Path
    index: Path
    topics: Path

    def score_args(self, index: Path | None = None, **over: str) -> list[str | Path]:
        """``avs score`` of the world's topics into ``root/runs`` (k = 50, CPU)."""
        opts = {"--index": index or self.index, "--model": self.model, "--k": "50",
                "--runs": self.root / "runs", "--run-name": "tiny", "--device": "cpu", **over}  # fmt: skip
        topics = opts.pop("--topics", self.topics)  # --topics repeats: one file replaces
        return ["score", "--topics", topics, *[x for kv in opts.items() for x in kv]]

    def copy_index(self, name: str) -> Path:
        """A private copy of the index to damage."""
        dst = self.root / name
        shutil.copytree(self.index, dst)
        return dst


def make_tiny(root: Path) -> Tiny:
    from avs.search.index import build_index

    root.mkdir(parents=True, exist_ok=True)
    features = root / "shots.h5"
    make_features(features)
    make_model(root / "model")
    build_index(features, root / "model", root / "index", shard_rows=128)
    topics = root / "2022.txt"
    topics.write_text("\n".join(TOPIC_LINES) + "\n")
    return Tiny(root, features, root / "model", root / "index", topics)


def snapshot(*paths: Path) -> dict[str, tuple[int, str]]:
    """mtime and sha256 of every file under ``paths`` (hidden lock files excluded)."""
    out = {}
    for top in paths:
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for p in files:
            if p.name.endswith(".lock") or not p.is_file():
                continue
            out[str(p)] = (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def fails_cleanly(
    args: Sequence[str | Path],
    cwd: Path,
    *needles: str,
    untouched: Sequence[Path] = (),
    env: dict[str, str] | None = None,
) -> str:
    """Run ``avs ARGS``: non-zero exit, one ``Error:`` line holding every needle, no
    traceback, within CASE_TIMEOUT, and no file under ``untouched`` written or replaced.
    Returns stderr."""
    before = snapshot(*untouched)
    proc = subprocess.run(
        [*AVS, *map(str, args)],
        cwd=cwd,
        env=env or avs_env(),
        capture_output=True,
        text=True,
        timeout=CASE_TIMEOUT,
        check=False,
    )
    err = assert_clean_failure(proc, *needles)
    assert len([ln for ln in err.splitlines() if ln.startswith("Error:")]) == 1, err
    assert snapshot(*untouched) == before, "a pre-existing file was written or replaced"
    return err


def fifo(path: Path) -> Path:
    """Replace ``path`` (file or directory) by a FIFO that nobody writes to."""
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
    os.mkfifo(path)
    return path
