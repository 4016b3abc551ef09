"""Submission file names; the run id convention itself is TRECVID's (avs.trecvid.run_id)."""

from __future__ import annotations

from collections.abc import Sequence

from avs.errors import AvsError
from avs.trecvid import check_pid, run_id

__all__ = ["check_pid", "file_stem", "run_id"]


def file_stem(ids: Sequence[str], priorities: Sequence[int]) -> str:
    """File name (no suffix) for a submission holding runs ``ids``.

    One run: its id. Several: the first run's id with every priority joined by '-'
    (``F_M_C_D_TEAM.22_1-2-3``), so the name still says which runs are inside."""
    if not ids:
        raise AvsError("no runs to name a submission file after")
    if len(ids) == 1:
        return ids[0]
    head = ids[0].rsplit("_", 1)[0]
    return f"{head}_{'-'.join(str(p) for p in priorities)}"
