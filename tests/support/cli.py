"""The avs CLI in a real subprocess: run it, time it, kill it, measure it.

The CLI runs in a real subprocess (not click's runner) because what is checked is what
a user sees: the exit status, stderr without a traceback, and the files on disk after
the process died or hit a full disk. One kill helper (:func:`kill_at`) serves every
kill test.
"""

from __future__ import annotations

import contextlib
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

from tests.support.files import tmp_names

REPO = Path(__file__).resolve().parents[2]
# Entry point of the installed CLI, run with this interpreter (no PATH lookup).
AVS = [sys.executable, "-m", "avs"]
TEAM_ARGS = ["--pid", "TEAM", "--tr-type", "D", "--class", "F", "--task", "M", "--novelty", "C"]


# ---------------------------------------------------------------- running


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


def timed_avs(args: Sequence[str | Path], cwd: Path, *, timeout: float = 300) -> float:
    """Run ``avs ARGS`` in ``cwd`` to a successful end; its duration in seconds."""
    start = time.perf_counter()
    proc = run_avs(args, cwd, timeout=timeout)
    assert proc.returncode == 0, proc.stderr
    return time.perf_counter() - start


def fsize_limit(nbytes: int) -> Callable[[], None]:
    """preexec_fn: no file may grow past ``nbytes``. SIGXFSZ is ignored so the write
    that crosses the limit fails with EFBIG instead of killing the process."""

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, nbytes))

    return apply


# ---------------------------------------------------------------- killing


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
        # As from a terminal: a test run started in the background of a non-interactive
        # shell inherits SIGINT ignored, which avs rightly keeps (nohup, `cmd &`).
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def kill_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process and every process of its group; reap the leader."""
    with contextlib.suppress(ProcessLookupError):  # the group is already gone
        os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate()


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


# ---------------------------------------------------------------- measuring


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
