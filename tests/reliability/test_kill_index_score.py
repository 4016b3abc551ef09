"""SIGKILL during `avs index` and `avs score` (real CLI subprocesses, LocalCluster workers
killed with them), at seeded points.

Each command first runs to the end in its own directory: its duration T and its output
are the reference. Then, for each seeded point, it is started in a fresh work directory
and its whole process group is SIGKILLed, either after ``uniform(0.3, 1.05) * T`` seconds (once)
or the moment the n-th temporary file of an atomic writer appears (n seeded), which is
inside a file write. After the kill each file under a final name is absent or complete
and equal to the reference. Then the command is rerun (index: plainly, it resumes by
itself; score: with --resume) and its output must equal the reference: shards and ids
byte for byte, run rows identical, run metadata different only in date/elapsed/
wall_seconds (index manifest: only in throughput/built).
"""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from tests.support.cli import kill_at, timed_avs
from tests.support.files import (
    assert_same_index,
    assert_same_run,
    check_index_files,
    leftovers,
    stable_run,
)

pytestmark = pytest.mark.slow

SEED = 20261128
# Kills per command: at seeded times, inside seeded writes. The mid-write kills aim at
# the hard case (a file half-written); a second timed kill cost about 20 s per command
# of a suite that must stay under 15 minutes.
TIMED, MID_WRITE = 1, 2
# A small file can be written and renamed between the poll that sees its temporary and
# the kill (seen on a quiet machine): a mid-write point that missed its write is retried.
MID_WRITE_TRIES = 4


def schedule(name: str, t: float, writes: int) -> list[tuple[float, int]]:
    """(seconds, nth temporary file or 0) for each kill, from a generator seeded by name."""
    rng = random.Random(f"{SEED}-{name}")
    points = [(rng.uniform(0.3, 1.05) * t, 0) for _ in range(TIMED)]
    return points + [(3 * t, rng.randint(1, writes)) for _ in range(MID_WRITE)]


def kill_then_rerun(
    points: list[tuple[float, int]],
    work: Path,
    kill: Callable[[float, int], tuple[bool, bool]],
    check_killed: Callable[[], None],
    rerun: Callable[[], None],
) -> tuple[int, int]:
    """For each point: a fresh ``work``, one kill, the files checked, the command rerun
    (and its output checked by ``rerun``). Returns (interrupted, mid_write) counts."""
    interrupted = mid_write = 0
    for seconds, nth in points:
        for _ in range(MID_WRITE_TRIES if nth else 1):
            shutil.rmtree(work, ignore_errors=True)
            running, in_write = kill(seconds, nth)
            check_killed()  # every attempt, hit or miss, must leave consistent files
            rerun()
            if in_write:
                break
        interrupted += running
        mid_write += in_write
    # a timed point near 1.05 T may miss a run that was faster than the reference
    assert interrupted >= len(points) - 1 and mid_write >= MID_WRITE, (interrupted, mid_write)
    return interrupted, mid_write


# ---------------------------------------------------------------- avs index


def test_kill_during_index(tmp_path: Path, search_world, record_property) -> None:
    args = search_world.index_args
    ref, work = tmp_path / "ref", tmp_path / "work"
    t = timed_avs(args(ref), tmp_path)
    points = schedule("index", t, writes=200)
    points[-1] = (3 * t, 1)  # the first temporary is ids.txt's: kill inside that write
    interrupted, mid_write = kill_then_rerun(
        points,
        work,
        lambda s, n: kill_at(args(work), tmp_path, seconds=s, nth_tmp=n, watch=[work]),
        lambda: check_index_files(work, ref),
        lambda: (timed_avs(args(work), tmp_path), assert_same_index(work, ref)),  # resumes itself
    )
    record_property("kills", f"T={t:.2f}s interrupted={interrupted} mid_write={mid_write}")


# ---------------------------------------------------------------- avs score


def test_kill_during_score(tmp_path: Path, search_world, record_property) -> None:
    def args(runs: Path) -> list:
        return [*search_world.score_args(runs), "--resume"]

    ref, work = tmp_path / "ref", tmp_path / "work"
    t = timed_avs(args(ref), tmp_path)
    reference, final, partial = ref / "r.parquet", work / "r.parquet", work / ".r.partial"
    # the first mid-write point is inside a shard checkpoint; the second inside the
    # final Parquet write (its temporary is the first one that appears in runs/ itself)
    points = schedule("score", t, writes=200)
    points[-1] = (3 * t, -1)

    def kill(seconds: float, nth: int) -> tuple[bool, bool]:
        watch = [work] if nth < 0 else [partial, work]
        return kill_at(args(work), tmp_path, seconds=seconds, nth_tmp=abs(nth), watch=watch)

    def check_killed() -> None:
        assert not final.exists() or stable_run(final) == stable_run(reference)
        for checkpoint in partial.glob("shard-*.npz"):
            with np.load(checkpoint, allow_pickle=False) as z:
                assert z["scores"].shape == (4, 100), checkpoint.name

    def rerun() -> None:
        if not final.exists():  # --resume: continue from the checkpoints
            timed_avs(args(work), tmp_path)
        assert_same_run(final, reference)
        assert not partial.exists() and leftovers(work) == []  # stale temporaries swept

    interrupted, mid_write = kill_then_rerun(points, work, kill, check_killed, rerun)
    record_property("kills", f"T={t:.2f}s interrupted={interrupted} mid_write={mid_write}")
