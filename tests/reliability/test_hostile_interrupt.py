"""Ctrl-C and SIGTERM during `avs score` (issue #16): one line, no worker tracebacks, the
status a shell expects, nothing half-written; --resume then finishes the run."""

from __future__ import annotations

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
    assert line in text and "Traceback" not in text and "KeyboardInterrupt" not in text
    assert not (runs / "r.parquet").exists()
    assert not [p for p in runs.iterdir() if p.name.endswith(".tmp")]
    if sig == signal.SIGINT:  # what was kept resumes (once is enough: same code path)
        done = run_avs([*args, "--resume"], cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert (runs / "r.parquet").is_file()
