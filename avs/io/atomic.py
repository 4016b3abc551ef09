"""Write-then-rename, so a crash never leaves a partial file under a final name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def tmp_path_for(final: str | Path) -> Path:
    """A unique temporary name in the same directory as ``final`` (same filesystem,
    so ``os.replace`` is atomic). Starts with '.' and ends in '.tmp' so that readers
    and globs for finished files never mistake it for one."""
    final = Path(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write to; on success fsync and rename it to ``final``.

    On any exception the temporary file is removed and ``final`` is left untouched.
    Use this for writers that want a path (h5py, pyarrow)."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = tmp_path_for(final)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
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
