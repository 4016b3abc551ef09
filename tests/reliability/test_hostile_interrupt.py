"""Ctrl-C and SIGTERM during `avs score` and `avs index` (issue #16): one line, no worker
tracebacks and no log lines of the cluster's shutdown, the status a shell expects, nothing
half-written; --resume then finishes the run."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from avs.search.index import build_index
from tests.support.cli import run_avs, start_avs
from tests.support.searchkit import TOPIC_LINES, make_features, make_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt")
    make_features(root / "shots.h5", n=30_000)
    make_model(root / "model")
    build_index(root / "shots.h5", root / "model", root / "index", shard_rows=100)  # 300 tasks
    (root / "2022.txt").write_text("\n".join(TOPIC_LINES) + "\n")
    return root


@pytest.mark.parametrize(("sig", "status", "line"), [
    (signal.SIGINT, 130, "interrupted"),
    (signal.SIGTERM, 143, "terminated"),
])  # fmt: skip
def test_signal_mid_score(world: Path, tmp_path: Path, sig: int, status: int, line: str) -> None:
    runs = tmp_path / "runs"
    args = ["score", "--topics", world / "2022.txt", "--model", world / "model", "--index",
            world / "index", "--runs", runs, "--run-name", "r", "--device", "cpu", "-q"]  # fmt: skip
    proc = start_avs(args, tmp_path)
    partial = runs / ".r.partial"
    deadline = time.monotonic() + 120
    while not list(partial.glob("shard-*.npz")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip("the run finished before a signal could land (machine too fast)")
        time.sleep(0.05)
    os.killpg(proc.pid, sig)  # the terminal's Ctrl-C signals the whole process group
    _, err = proc.communicate(timeout=120)
    text = err.decode()
    assert proc.returncode == status, text
    assert_only_the_line(text, line)
    assert not (runs / "r.parquet").exists()
    assert not [p for p in runs.iterdir() if p.name.endswith(".tmp")]
    if sig == signal.SIGINT:  # what was kept resumes (once is enough: same code path)
        done = run_avs([*args, "--resume"], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (runs / "r.parquet").is_file()


def test_sigterm_mid_index(world: Path, tmp_path: Path) -> None:
    """SIGTERM to the group kills the LocalCluster's workers at once: the scheduler in the
    driver then saw closed connections, and once logged them with a traceback (CI)."""
    out = tmp_path / "index"
    args = ["index", world / "shots.h5", "--model", world / "model", "--out", out,
            "--shard-rows", "100", "--device", "cpu", "-q"]  # fmt: skip
    proc = start_avs(args, tmp_path)
    deadline = time.monotonic() + 120
    while not list(out.glob("shard-*.npy")) and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.skip("the index was built before a signal could land (machine too fast)")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err.decode()
    assert_only_the_line(err.decode(), "terminated")
    manifest = json.loads((out / "manifest.json").read_text())
    assert not manifest.get("complete"), "an interrupted index must not say it is complete"
    assert not list(out.glob(".*.tmp"))


def assert_only_the_line(text: str, line: str) -> None:
    """stderr holds the command's one line and nothing of Dask's or Python's."""
    assert line in text.strip().splitlines()[-1], text
    for noise in ("Traceback", "KeyboardInterrupt", "distributed.", "tornado", "Error"):
        assert noise not in text, text
