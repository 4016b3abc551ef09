"""Helpers for the reliability tests: the CLI in a subprocess, file-size limits and
small Parquet runs to submit (fixtures are in conftest.py).

The CLI runs in a real subprocess (not click's runner) because what is checked is what
a user sees: the exit status, stderr without a traceback, and the files on disk after
the process died or hit a full disk.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avs.io.runs import write_run
from avs.ties import tie_order

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


# ---------------------------------------------------------------- killing whole jobs (phase 2)

# Run metadata that differs between any two runs of the same job (docs/design.md).
VOLATILE_META = frozenset({"date", "elapsed", "wall_seconds"})


def start_avs(args: Sequence[str | Path], cwd: Path) -> subprocess.Popen[bytes]:
    """Start ``avs ARGS`` as the leader of a new process group, so that a kill can take
    its LocalCluster workers with it (as the OOM killer or a node failure would)."""
    return subprocess.Popen(
        [*AVS, *map(str, args)],
        cwd=cwd,
        env=avs_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and every process of its group; reap the leader."""
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


def tmp_names(*directories: Path) -> set[str]:
    """Temporary files of the atomic writers directly in ``directories`` (cheap enough
    to poll every millisecond, unlike a recursive glob)."""
    names: set[str] = set()
    for d in directories:
        try:
            names.update(f"{d.name}/{n}" for n in os.listdir(d) if n.endswith(".tmp"))
        except FileNotFoundError:
            continue
    return names


def kill_at(
    args: Sequence[str | Path],
    cwd: Path,
    *,
    seconds: float,
    nth_tmp: int = 0,
    watch: Sequence[Path] = (),
) -> tuple[bool, bool]:
    """Run ``avs ARGS`` and SIGKILL its group after ``seconds``, or earlier, as soon as
    the ``nth_tmp``-th new temporary file appears in ``watch`` (0: time only), that is
    while a writer holds it. Returns (still running when killed, a new temporary file
    was left behind = the kill landed inside a write)."""
    before = tmp_names(*watch)
    proc = start_avs(args, cwd)
    deadline = time.monotonic() + seconds
    seen: set[str] = set()
    while time.monotonic() < deadline and proc.poll() is None:
        if nth_tmp:
            seen |= tmp_names(*watch) - before
            if len(seen) >= nth_tmp:
                break
        time.sleep(0.0005 if nth_tmp else 0.01)
    running = proc.poll() is None
    kill_group(proc)
    return running, bool(tmp_names(*watch) - before)


def stable_run(path: Path) -> tuple[list[tuple[int, int, str, float]], dict[str, Any]]:
    """A run's rows, and its metadata without the keys that differ between any two runs."""
    from avs.io.runs import read_run

    run = read_run(path)
    rows = list(
        zip(
            run.topic.tolist(),
            run.rank.tolist(),
            run.shot_id.tolist(),
            run.score.tolist(),
            strict=True,
        )
    )
    return rows, {k: v for k, v in run.meta.items() if k not in VOLATILE_META}


def assert_same_run(got: Path, reference: Path) -> None:
    """Identical rows; metadata identical except for exactly the volatile keys."""
    from avs.io.runs import read_run

    g, r = read_run(got).meta, read_run(reference).meta
    assert g.keys() == r.keys()
    assert {k for k in g if g[k] != r[k]} <= VOLATILE_META
    assert stable_run(got) == stable_run(reference)


# Index manifest keys measured per build, not part of the index itself.
VOLATILE_MANIFEST = frozenset({"throughput", "built"})


def check_index_files(work: Path, ref: Path) -> None:
    """Every shard under a final name is the reference shard; ids and manifest whole."""
    for shard in work.glob("shard-*.npy"):
        assert shard.read_bytes() == (ref / shard.name).read_bytes(), shard.name
    if (work / "ids.txt").exists():
        assert (work / "ids.txt").read_bytes() == (ref / "ids.txt").read_bytes()
    if (work / "manifest.json").exists():
        json.loads((work / "manifest.json").read_text())  # never half written


def assert_same_index(work: Path, ref: Path) -> None:
    """Same files, shards and ids byte for byte, manifests equal but for timings."""
    assert sorted(p.name for p in work.iterdir()) == sorted(p.name for p in ref.iterdir())
    check_index_files(work, ref)
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (work, ref)]
    for m in manifests:
        assert m["complete"] is True
        for key in VOLATILE_MANIFEST:
            m.pop(key)
    assert manifests[0] == manifests[1]


# ---------------------------------------------------------------- load (phase 2)

QRELS_2021 = REPO / "tests" / "fixtures" / "trecvid" / "avs.qrels.main.tv21"


def write_eval_runs(directory: Path, count: int, k: int = 1000, seed: int = 0) -> list[Path]:
    """``count`` Parquet runs of the 2021 topics (661-680), ``k`` shots each: a random
    half of each ranking from the shots NIST judged for the topic (so infAP is not 0),
    the rest unjudged V3C1-like ids. Seeded; the same call gives the same files."""
    from avs.io.qrels import read_qrels

    judged: dict[int, np.ndarray] = {}
    for q in read_qrels(QRELS_2021):
        judged.setdefault(int(q.topic) - 1000, []).append(q.shot)
    pools = {t: np.array(sorted(set(s))) for t, s in judged.items()}
    rng = np.random.default_rng(seed)
    video, shot_no = rng.integers(1, 7476, 50_000), rng.integers(1, 60, 50_000)
    unjudged = np.unique([f"shot{v:05d}_{s}" for v, s in zip(video, shot_no, strict=True)])
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in range(count):
        topic, shot, score = [], [], []
        for t, pool in sorted(pools.items()):
            hits = rng.choice(pool, size=k // 2, replace=False)
            other = rng.choice(unjudged, size=k - k // 2, replace=False)
            ids = np.unique(np.concatenate([hits, other]))  # a shot at most once per topic
            rng.shuffle(ids)
            scores = rng.random(len(ids)).astype(np.float32)
            order = tie_order(ids, scores)
            topic.append(np.full(len(ids), t))
            shot.append(ids[order])
            score.append(scores[order])
        ranks = np.concatenate([np.arange(1, len(s) + 1) for s in shot])
        meta = {"year": 2021, "simulated": True, "run_name": f"load{r:03d}"}
        path = directory / f"load{r:03d}.parquet"
        write_run(
            path, np.concatenate(topic), ranks, np.concatenate(shot), np.concatenate(score), meta
        )
        paths.append(path)
    return paths


@dataclass(frozen=True)
class Measured:
    """What one CLI run cost. ``driver_peak``: ru_maxrss of the CLI process (the largest
    of it and any child it reaped); ``tree_peak``: the peak of the summed RSS of the CLI
    and all its descendants (LocalCluster workers), sampled every 0.1 s."""

    returncode: int
    wall: float
    driver_peak: int  # bytes
    tree_peak: int  # bytes
    stderr: str


def _tree_rss_peak(pid: int, stop: threading.Event, out: list[int]) -> None:
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    peak = 0
    while not stop.is_set():
        total = 0
        with contextlib.suppress(psutil.Error):  # a worker came or went mid-sample
            for p in [root, *root.children(recursive=True)]:
                total += p.memory_info().rss
        peak = max(peak, total)
        stop.wait(0.1)
    out.append(peak)


# Runs argv[2:] and writes its ru_maxrss (KiB) to argv[1]. Linux carries the parent's
# RSS high-water mark into a forked child's ru_maxrss across exec, so measured directly
# from the (large) test process the figure would be max(test process, avs); this small
# launcher is the parent instead.
_LAUNCHER = (
    "import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); "
    "sys.exit(rc)"
)


def measure_avs(args: Sequence[str | Path], cwd: Path) -> Measured:
    """Run ``avs ARGS`` (stdout to ``cwd/stdout.txt``) and measure time and memory."""
    start = time.perf_counter()
    maxrss = cwd / "maxrss.txt"
    with open(cwd / "stdout.txt", "wb") as out, open(cwd / "stderr.txt", "wb") as err:
        command = [sys.executable, "-c", _LAUNCHER, str(maxrss), *AVS, *map(str, args)]
        proc = subprocess.Popen(command, cwd=cwd, env=avs_env(), stdout=out, stderr=err)
        stop, peaks = threading.Event(), []
        sampler = threading.Thread(target=_tree_rss_peak, args=(proc.pid, stop, peaks))
        sampler.start()
        proc.wait()
        stop.set()
        sampler.join()
    return Measured(
        proc.returncode,
        time.perf_counter() - start,
        int(maxrss.read_text()) * 1024,  # Linux reports kilobytes
        peaks[0] if peaks else 0,
        (cwd / "stderr.txt").read_text(),
    )
