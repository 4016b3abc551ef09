"""Helpers for the reliability tests: the CLI in a subprocess, file-size limits and
small Parquet runs to submit (fixtures are in conftest.py).

The CLI runs in a real subprocess (not click's runner) because what is checked is what
a user sees: the exit status, stderr without a traceback, and the files on disk after
the process died or hit a full disk.
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from avs.io.runs import tie_order, write_run

REPO = Path(__file__).resolve().parents[2]
# Entry point of the installed CLI, run with this interpreter (no PATH lookup).
AVS = [sys.executable, "-m", "avs"]
TEAM_ARGS = ["--pid", "TEAM", "--tr-type", "D", "--class", "F", "--task", "M", "--novelty", "C"]


# ---------------------------------------------------------------- subprocess helpers


def avs_env() -> dict[str, str]:
    """Environment for a CLI subprocess: no workspace file, no colour, no bar."""
    env = {k: v for k, v in os.environ.items() if k != "AVS_WORKSPACE"}
    env.update(NO_COLOR="1", TERM="dumb", PYTHONDONTWRITEBYTECODE="1")
    return env


def run_avs(
    args: Sequence[str | Path],
    cwd: Path,
    *,
    preexec: Callable[[], None] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run ``avs ARGS`` in ``cwd`` and wait for it."""
    return subprocess.run(
        [*AVS, *map(str, args)],
        cwd=cwd,
        env=avs_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec,
        check=False,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """A user error: non-zero exit, no traceback, one 'Error:' message holding
    every needle. Returns stderr."""
    err = proc.stderr
    assert proc.returncode != 0, f"exit 0 for a bad input\nstdout: {proc.stdout}"
    assert proc.returncode != -signal.SIGSEGV, "crashed with SIGSEGV"
    assert "Traceback" not in err and "Traceback" not in proc.stdout, err
    assert err.count("Error:") == 1, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in:\n{err}"
    return err


def fsize_limit(nbytes: int) -> Callable[[], None]:
    """preexec_fn: no file may grow past ``nbytes``. SIGXFSZ is ignored so the write
    that crosses the limit fails with EFBIG instead of killing the process."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return apply


def leftovers(directory: Path) -> list[str]:
    """Temporary files and directories the atomic writers would leave behind."""
    return sorted(p.name for p in directory.rglob(".*") if p.name.endswith((".tmp", ".old")))


# ---------------------------------------------------------------- runs to submit


def make_run(path: Path, topics: Sequence[int], k: int, seed: int = 0, year: int = 2022) -> Path:
    """A Parquet run with ``k`` V3C shots per topic, ranked by the tie rule."""
    rng = np.random.default_rng(seed)
    topic, rank, shot, score = [], [], [], []
    for t in topics:
        videos = rng.choice(9000, size=k, replace=False) + 1
        shots = np.array([f"shot{v:05d}_{i % 9 + 1}" for i, v in enumerate(videos)])
        scores = rng.random(k).astype(np.float32)
        order = tie_order(shots, scores)
        topic += [t] * k
        rank += range(1, k + 1)
        shot += shots[order].tolist()
        score += scores[order].tolist()
    meta = {
        "year": year,
        "elapsed": {str(t): 1.5 for t in topics},
        "simulated": True,
        "run_name": path.stem,
    }
    return write_run(path, np.array(topic), np.array(rank), np.array(shot), np.array(score), meta)


def topics_2022() -> list[int]:
    """The 30 topic numbers of topics/2022.txt."""
    from avs.io.topics import read_topics

    return [t.number for t in read_topics(REPO / "topics" / "2022.txt")]
