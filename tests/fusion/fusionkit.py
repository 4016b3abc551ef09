"""Shared by the fusion tests: fixture paths and the real `avs` in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "trecvid"


def run_avs(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real `avs` command in a subprocess (no workspace file unless cwd has one)."""
    env = {k: v for k, v in os.environ.items() if k != "AVS_WORKSPACE"}
    return subprocess.run(
        [sys.executable, "-m", "avs", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )
