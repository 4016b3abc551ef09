"""Limits a user may need to change without a command-line option, read from the
environment: one parser, one error naming the variable.

    AVS_HDF5_CHECK_S   seconds the bounded first open of an HDF5 file may take (30)
    AVS_WORKER_WAIT_S  seconds to wait for a first worker of `--scheduler` (30)
"""

from __future__ import annotations

import math
import os

from avs.errors import AvsError

__all__ = ["HDF5_CHECK_S", "WORKER_WAIT_S", "seconds"]

HDF5_CHECK_S = "AVS_HDF5_CHECK_S"
WORKER_WAIT_S = "AVS_WORKER_WAIT_S"
_MAX_S = 86400.0


def seconds(name: str, default: float) -> float:
    """``$name`` as seconds in (0, 86400], or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw[:32]) if len(raw) <= 32 else math.nan
    except ValueError:
        value = math.nan
    if not 0 < value <= _MAX_S:
        raise AvsError(
            f"environment variable {name}={raw[:32]!r}: expected seconds, "
            f"a number in (0, {_MAX_S:g}]"
        )
    return value
