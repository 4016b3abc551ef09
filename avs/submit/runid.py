"""NIST's run id convention: ``class_task_novelty_trType_pid.YY_priority``.

Example: ``F_M_C_D_GodSpeed.21_1``. Years before 2019 have no task or novelty, so
those parts are left out (``F_D_TEAM.18_1``); algo (2023 on) is not part of the id.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from avs.errors import AvsError

# A pid becomes part of a file name: letters, digits, '_', '-' and '.' only.
_PID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_pid(pid: str) -> str | None:
    """A problem with ``pid`` as a run id / file name part, or None when it is fine."""
    if not pid:
        return "pid is empty"
    if not _PID.fullmatch(pid):
        return f"pid {pid!r} may hold only letters, digits, '_', '-' and '.'"
    return None


def run_id(
    *,
    class_: str,
    tr_type: str,
    pid: str,
    year: int,
    priority: int | str,
    task: str | None = None,
    novelty: str | None = None,
) -> str:
    """The NIST run id of one run, e.g. ``F_M_C_D_GodSpeed.21_1``.

    ``task`` and ``novelty`` are left out when None (years before 2019)."""
    parts = [class_] + [p for p in (task, novelty) if p is not None] + [tr_type, pid]
    return f"{'_'.join(parts)}.{year % 100:02d}_{priority}"


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
