"""Limits a user may need to change without a command-line option, read from the
environment: one parser, one error naming the variable.

    AVS_HDF5_CHECK_S   seconds the bounded first open of an HDF5 file may take (30)
    AVS_WORKER_WAIT_S  seconds to wait for a first worker of `--scheduler` (30)
"""

from __future__ import annotations

import math
import os
import re

from avs.errors import AvsError, short

__all__ = ["HDF5_CHECK_S", "WORKER_WAIT_S", "seconds"]

HDF5_CHECK_S = "AVS_HDF5_CHECK_S"
WORKER_WAIT_S = "AVS_WORKER_WAIT_S"
_MIN_S, _MAX_S = 0.01, 86400.0
_DECIMAL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{0,6})?|\.[0-9]{1,6}")  # ASCII digits only


def seconds(name: str, default: float) -> float:
    """``$name`` as seconds, a plain decimal number in [0.01, 86400] (``30``, ``2.5``), or
    ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    value = float(raw) if _DECIMAL.fullmatch(raw) else math.nan
    if not _MIN_S <= value <= _MAX_S:
        raise AvsError(
            f"environment variable {name}={short(raw, 32)}: expected seconds, "
            f"a number from {_MIN_S:g} to {_MAX_S:g}"
        )
    return value
