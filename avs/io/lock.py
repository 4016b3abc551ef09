"""One writer at a time: an advisory ``flock`` held on a lock file for a whole job.

Shared by ``avs score`` (per run name) and ``avs index`` (per index directory): two jobs
writing one output would delete each other's temporaries or both report success while
the last writer wins."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from avs.errors import AvsError


@contextlib.contextmanager
def exclusive_lock(lock_file: Path, busy: str) -> Iterator[None]:
    """Hold ``lock_file`` (created if missing, with its directory) for the block; AvsError
    ``busy`` when another process holds it. The file stays afterwards: removing it would
    race with a third job taking it. A killed process releases the lock too."""
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AvsError(busy) from None
    try:
        yield
    finally:
        os.close(fd)  # releases the lock
