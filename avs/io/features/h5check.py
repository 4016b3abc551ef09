"""A bounded first look at an HDF5 file before the command itself opens it.

libhdf5 can loop forever, or crash the process, on damaged metadata (object headers,
B-tree nodes: docs/reliability.md), and Python cannot interrupt native code. A file can
also hold an external link to a FIFO, which libhdf5 opens and then waits on. So before
a store is opened here, a child process opens it and walks everything the store's
reader will touch: every object header and attribute, the chunk index of every dataset,
and the first and last element of each dataset, following links as the reader would. A
child that does not finish within :func:`timeout_s` seconds is killed and the file is
refused with one error; a child killed by a signal likewise. Only then does this
process open the file. A file that passed is remembered by its identity (device,
inode, size, modification time) for the rest of the process.

What this does not cover: a damaged *data* chunk met later while reading rows gives an
error (h5py raises), and the walk bounds time, not what a hostile file makes libhdf5
allocate inside the child.

The child is a fork where this process runs no other thread (fast: the parent has h5py
loaded), else a fresh interpreter (``python -m avs.io.features.h5check FILE``): forking
a threaded process could copy a lock another thread holds and hang the child falsely.
"""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from avs.envvars import HDF5_CHECK_S, seconds
from avs.errors import FormatError

__all__ = ["DEFAULT_TIMEOUT_S", "TIMEOUT_ENV", "check_hdf5", "timeout_s"]

#: Seconds the child may take. A metadata walk of a 1.5M-shot store with frame-level
#: features takes well under a second; a loop is a loop whatever the limit.
DEFAULT_TIMEOUT_S = 30.0
#: Environment variable that overrides it (seconds, > 0), e.g. for a slow network disk.
TIMEOUT_ENV = HDF5_CHECK_S

_passed: set[tuple[int, int, int, int]] = set()


def timeout_s() -> float:
    """The child's time limit: ``$AVS_HDF5_CHECK_S`` or :data:`DEFAULT_TIMEOUT_S`."""
    return seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)


def check_hdf5(path: Path) -> None:
    """Return when a child process could open and walk ``path`` in time; else
    :class:`FormatError` naming the file. Python-level errors of the walk are left to
    the caller's own open, which reports them with its usual message."""
    st = os.stat(path)
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
    if key in _passed:
        return
    limit = timeout_s()
    if hasattr(os, "fork") and threading.active_count() == 1:
        status = _forked(path, limit)
    else:
        status = _spawned(path, limit)
    if status is None:
        raise FormatError(
            path,
            f"libhdf5 did not finish reading the file's metadata within {limit:g} s "
            f"(damaged object headers, or a link to a FIFO); refused. A slow disk? "
            f"Set {TIMEOUT_ENV}=SECONDS",
        )
    if status < 0:
        raise FormatError(
            path,
            f"libhdf5 crashed reading the file's metadata ({_signal_name(-status)}): "
            "a damaged HDF5 file; refused",
        )
    _passed.add(key)


def _forked(path: Path, limit: float) -> int | None:
    pid = os.fork()
    if pid == 0:  # the child: never returns into the parent's code
        code = 1
        try:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            faulthandler.disable()  # a crash is the parent's to report, in one line
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            walk(path)
            code = 0
        except BaseException:  # noqa: BLE001 - reported by the parent's own open
            code = 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + limit
    delay, done = 0.001, 0
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
            if time.monotonic() >= deadline:
                return None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
    finally:
        if not done:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)


def _spawned(path: Path, limit: float) -> int | None:
    cmd = [sys.executable, "-m", "avs.io.features.h5check", os.fspath(path)]
    try:
        proc = subprocess.run(  # noqa: S603 - our own module, the path as one argument
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return min(proc.returncode, 0)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def walk(path: Path) -> None:
    """Touch what :class:`avs.io.features.hdf5.FeatureStore` will: every hard-linked
    object's header and attributes, then the store's own datasets through their links
    (soft and external links included), each one's chunk index and end elements."""
    import h5py

    with h5py.File(path, "r") as f:
        dict(f.attrs.items())

        def visit(name: str, obj: object) -> None:
            dict(obj.attrs.items())  # type: ignore[attr-defined]

        f.visititems(visit)
        names = ["ids"]
        for group, parts in (("features", ("",)), ("frames", ("/values", "/offsets"))):
            grp = f.get(group)
            if isinstance(grp, h5py.Group):
                names += [f"{group}/{key}{part}" for key in grp for part in parts]
        for name in names:
            obj = f.get(name)
            if isinstance(obj, h5py.Dataset):
                _touch(obj)


def _touch(ds: object) -> None:
    import h5py

    assert isinstance(ds, h5py.Dataset)
    dict(ds.attrs.items())
    if ds.chunks is not None:
        if hasattr(ds.id, "chunk_iter"):  # HDF5 >= 1.12.3: the whole chunk index, once
            ds.id.chunk_iter(lambda info: None)
        else:
            ds.id.get_num_chunks()
    if ds.size:
        first = (0,) * ds.ndim
        last = tuple(n - 1 for n in ds.shape)
        ds[first]
        ds[last]


if __name__ == "__main__":  # the spawned child: exit 0 when the walk ended
    try:
        walk(Path(sys.argv[1]))
    except BaseException:  # noqa: BLE001 - the parent's own open reports it
        sys.exit(1)
