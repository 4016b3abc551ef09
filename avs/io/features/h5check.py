"""A bounded first look at an HDF5 file before the command itself opens it.

libhdf5 can loop forever, or crash the process, on damaged metadata (object headers,
B-tree nodes: docs/reliability.md), and Python cannot interrupt native code. A file can
also hold an external link to a FIFO, which libhdf5 opens and then waits on. So before
a store is opened here, a child process opens it and walks everything the store's
reader will touch: every object header and attribute, the chunk index of every dataset,
and the first and last element of each dataset, following links as the reader would. A
child that does not finish within :func:`timeout_s` seconds is killed and the file is
refused with one error; a child killed by a signal likewise. Only then does this
process open the file, and it checks that the file it opened is the one checked. A file
that passed is remembered by its identity (device, inode, size, modification time) for
the rest of the process (not the files its external links name). Virtual datasets
(rows from other files) are refused by the reader before anything is read.

What this does not cover: a damaged *data* chunk met later while reading rows gives an
error (h5py raises), and the walk bounds time, not what a hostile file makes libhdf5
allocate inside the child.

The child is a fork where this process runs no other thread (fast: the parent has h5py
loaded), else a fresh interpreter (``python -I``): forking
a threaded process could copy a lock another thread holds and hang the child falsely.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avs.envvars import HDF5_CHECK_S, seconds
from avs.errors import AvsError, FormatError

__all__ = [
    "DEFAULT_TIMEOUT_S",
    "TIMEOUT_ENV",
    "check_hdf5",
    "identity",
    "same_file",
    "store_datasets",
    "timeout_s",
    "walk",
]

#: Seconds the child may take. A metadata walk of a 1.5M-shot store with frame-level
#: features takes well under a second; a loop is a loop whatever the limit.
DEFAULT_TIMEOUT_S = 30.0
#: Environment variable that overrides it (avs/envvars.py), e.g. for a slow network disk.
TIMEOUT_ENV = HDF5_CHECK_S

Identity = tuple[int, int, int, int]  # device, inode, size, modification time (ns)
_passed: set[Identity] = set()  # identities of files that passed


def timeout_s() -> float:
    """The child's time limit: ``$AVS_HDF5_CHECK_S`` or :data:`DEFAULT_TIMEOUT_S`."""
    return seconds(TIMEOUT_ENV, DEFAULT_TIMEOUT_S)


# Signals that say the child crashed inside native code; any other signal is reported
# as what it is (an interrupt, the OOM killer...), never as a damaged file.
_CRASHES = {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGILL, signal.SIGFPE}
_WALKED, _PY_ERROR = 0, 3  # exit codes of a child whose walk ended / raised in Python


def identity(st: os.stat_result) -> Identity:
    """What makes a file the same file: device, inode, size, modification time."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def check_hdf5(path: Path) -> Identity:
    """Return the identity of ``path`` once a child process could open and walk it in
    time; else :class:`FormatError` naming the file. Python-level errors of the walk are
    left to the caller's own open, which reports them with its usual message. The caller
    compares the identity with the file it then opens (:func:`same_file`): a file
    replaced meanwhile was not checked."""
    key = identity(os.stat(path))
    if key in _passed:
        return key
    limit = timeout_s()
    with _children_reapable():
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
        sig = -status
        if sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            raise KeyboardInterrupt  # the user's interrupt reached the child first
        if sig in _CRASHES:
            raise FormatError(
                path,
                f"libhdf5 crashed reading the file's metadata ({_signal_name(sig)}): "
                "a damaged HDF5 file; refused",
            )
        raise AvsError(
            f"{path}: the process checking this HDF5 file was killed by {_signal_name(sig)} "
            "(out of memory?)"
        )
    if status not in (_WALKED, _PY_ERROR):
        raise AvsError(
            f"{path}: the process checking this HDF5 file could not run (exit status "
            f"{status}); is {sys.executable} the Python avs is installed in?"
        )
    _passed.add(key)
    return key


def same_file(path: Path, checked: Identity, fd: int) -> None:
    """FormatError unless the open file ``fd`` is the one :func:`check_hdf5` checked."""
    if identity(os.fstat(fd)) != checked:
        raise FormatError(path, "the file changed while it was being checked; try again")


@contextlib.contextmanager
def _children_reapable() -> Iterator[None]:
    """SIGCHLD at its default while the child runs: an inherited SIG_IGN makes the kernel
    reap children itself, and waiting for one then fails."""
    main = threading.current_thread() is threading.main_thread()
    old = signal.getsignal(signal.SIGCHLD) if main else None
    if main and old == signal.SIG_IGN:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        yield
    finally:
        if main and old == signal.SIG_IGN:
            signal.signal(signal.SIGCHLD, old)


def _forked(path: Path, limit: float) -> int | None:
    """The child's exit status (negative: killed by that signal), None after ``limit``."""
    interrupt = signal.getsignal(signal.SIGINT)
    pid = os.fork()
    if pid == 0:  # the child: never returns into the parent's code
        code = _PY_ERROR
        try:
            # Ctrl-C stops the child at once, unless this process was started with
            # SIGINT ignored (a background job): then it stays ignored.
            if interrupt != signal.SIG_IGN:
                signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            faulthandler.disable()  # a crash is the parent's to report, in one line
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            walk(path)
            code = _WALKED
        except BaseException:  # noqa: BLE001 - reported by the parent's own open
            code = _PY_ERROR
        finally:
            os._exit(code)
    deadline = time.monotonic() + limit
    delay, status = 0.001, None
    try:
        while status is None:
            done, raw = os.waitpid(pid, os.WNOHANG)
            if done:
                status = -os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else os.WEXITSTATUS(raw)
            elif time.monotonic() >= deadline:
                return None
            else:
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        return status
    finally:
        if status is None:  # timed out or interrupted: the child is ours to end
            with contextlib.suppress(ProcessLookupError, ChildProcessError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _spawned(path: Path, limit: float) -> int | None:
    # -I: neither the working directory nor PYTHON* variables decide what the child
    # imports (a stray h5py.py must not run); avs comes from this interpreter's install
    # (an avs that is not installed there makes the child fail: "could not run").
    code = "from avs.io.features.h5check import main; main()"
    cmd = [sys.executable, "-I", "-c", code, os.fspath(path)]
    try:
        proc = subprocess.run(  # noqa: S603 - our own code, the path as one argument
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None
    return proc.returncode


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def walk(path: Path) -> None:
    """Touch what :class:`avs.io.features.hdf5.FeatureStore` will, no more: the root's
    attributes, then ``/ids``, ``/features/*`` and ``/frames/*/{values,offsets}`` through
    their links (soft and external links included): each object's header and attributes,
    each dataset's chunk index and end elements. Objects the reader never opens are not
    walked (a deep tree beside the store costs nothing)."""
    import h5py

    with h5py.File(path, "r") as f:
        dict(f.attrs.items())
        for name in store_datasets(f):
            obj = f.get(name)
            if isinstance(obj, h5py.Dataset):
                _touch(obj)


def store_datasets(f: Any) -> list[str]:
    """Paths of the datasets a feature store's reader opens in the h5py file ``f``:
    ``ids``, ``features/NAME``, ``frames/NAME/values`` and ``frames/NAME/offsets``."""
    import h5py

    names = ["ids"]
    for group, parts in (("features", ("",)), ("frames", ("/values", "/offsets"))):
        grp = f.get(group)
        if isinstance(grp, h5py.Group):
            names += [f"{group}/{key}{part}" for key in grp for part in parts]
    return names


def _touch(ds: object) -> None:
    import h5py

    assert isinstance(ds, h5py.Dataset)
    dict(ds.attrs.items())
    if ds.is_virtual:
        return  # refused by the reader before any read (its sources are other files)
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


def main() -> None:
    """The spawned child: exit 0 when the walk ended, 3 when it raised in Python."""
    try:
        walk(Path(sys.argv[1]))
    except BaseException:  # noqa: BLE001 - the parent's own open reports it
        sys.exit(_PY_ERROR)
    sys.exit(_WALKED)


if __name__ == "__main__":
    main()
