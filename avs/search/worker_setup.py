"""Preloaded into every LocalCluster worker process (distributed's ``preload``).

Ctrl-C in a terminal signals the whole process group: the driver turns it into one
"interrupted" line and closes the cluster, so the workers ignore SIGINT rather than each
printing a traceback of its own first."""

from __future__ import annotations

import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:
    """Called by distributed when the worker starts."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
