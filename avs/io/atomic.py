"""Write-then-rename, so a crash never leaves a partial file under a final name.

A write that fails because the disk (or the user's quota, or a file-size limit) is
full is reported as an :class:`AvsError` naming the file, not as a traceback: the
temporary file is removed and whatever was under the final name stays as it was.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from avs.errors import AvsError

# errnos meaning "no room": device full, file-size limit (RLIMIT_FSIZE), quota exceeded
_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
# h5py reports HDF5's failed writes as OSError without errno; the text carries it
_NO_ROOM_TEXT = ("No space left on device", "File too large", "Disk quota exceeded")


def is_disk_full(err: BaseException) -> bool:
    """True if ``err`` is an OSError saying the file system (or a limit) is full."""
    if not isinstance(err, OSError):
        return False
    if err.errno in _NO_ROOM:
        return True
    text = str(err)
    return any(t in text for t in _NO_ROOM_TEXT)


@contextlib.contextmanager
def disk_full_as_error(final: str | Path) -> Iterator[None]:
    """Turn a "disk full" OSError raised inside the block into an :class:`AvsError`
    naming ``final``; other exceptions pass through unchanged."""
    try:
        yield
    except OSError as err:
        if not is_disk_full(err):
            raise
        if err.errno == errno.EFBIG or "File too large" in str(err):
            why = "File too large: it exceeds the file-size limit (ulimit -f) or the file system's"
        elif err.errno == errno.EDQUOT or "quota" in str(err):
            why = "Disk quota exceeded; free some of your space and rerun"
        else:
            why = "No space left on device; free some space on its file system and rerun"
        raise AvsError(
            f"{final}: not written: {why} (any earlier file under that name is unchanged)"
        ) from None


def free_bytes(path: str | Path) -> int:
    """Free bytes on the file system that will hold ``path`` (which, like its parent
    directories, need not exist yet)."""
    existing = Path(path).absolute()
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def format_bytes(n: float, decimal: bool = False) -> str:
    """A size for a message in a unit that keeps it readable: "0.0 GB" said nothing.
    Binary units (GiB, MiB, KiB), or decimal ones (GB, MB, kB) with ``decimal``."""
    units = (
        (("GB", 10**9), ("MB", 10**6), ("kB", 10**3))
        if decimal
        else (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))
    )
    # From a tenth of a unit on, so a figure never reads as 0.0 of it.
    for unit, size in units:
        if n >= size / 10:
            return f"{n / size:,.1f} {unit}"
    return f"{int(n):,} bytes"


def check_free_space(dst: str | Path, needed: int) -> None:
    """Refuse before writing anything when ``dst``'s file system cannot hold ``needed``
    bytes (the old ``dst`` is replaced only at the end, so it does not count)."""
    free = free_bytes(dst)
    if needed > free:
        raise AvsError(
            f"{dst}: not written: it needs about {format_bytes(needed)} and the file "
            f"system holding it has {format_bytes(free)} free; free some space and rerun"
        )


def tmp_path_for(final: str | Path) -> Path:
    """A unique temporary name in the same directory as ``final`` (same filesystem,
    so ``os.replace`` is atomic). Starts with '.' and ends in '.tmp' so that readers
    and globs for finished files never mistake it for one."""
    final = Path(final)
    with disk_full_as_error(final):
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    # mkstemp makes the file 0600 and os.replace keeps that; give it the mode a plain
    # open() would, so runs and reports stay readable by the team.
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    return Path(name)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write to; on success fsync and rename it to ``final``.

    On any exception the temporary file is removed and ``final`` is left untouched;
    a full disk becomes an :class:`AvsError`. Use this for writers that want a path
    (h5py, pyarrow)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(final)
    with disk_full_as_error(final):
        try:
            yield tmp
            with open(tmp, "rb+") as fh:
                # Again here: a library that recreated the file (safetensors writes 0600)
                # must not leave one file of a model unreadable to the team.
                os.fchmod(fh.fileno(), 0o666 & ~_umask())
                os.fsync(fh.fileno())
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise


@contextlib.contextmanager
def atomic_open(final: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator:
    """Like ``open(final, mode)`` for writing, but atomic (see :func:`atomic_path`)."""
    if "b" in mode:
        encoding = None
    with atomic_path(final) as tmp, open(tmp, mode, encoding=encoding) as fh:
        yield fh


def write_text_atomic(final: str | Path, text: str) -> None:
    """Write ``text`` to ``final`` atomically."""
    with atomic_open(final, "w") as fh:
        fh.write(text)
