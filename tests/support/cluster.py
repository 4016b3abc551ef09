"""pytest plugin (registered in tests/conftest.py): a real multi-process Dask cluster,
`dask scheduler` + two `dask worker` processes on loopback, for the search and
reliability tests; and :func:`slow_task`, a shard task slow enough that a job is still
running when something is killed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]


def slow_task(*args, **kwargs):
    """timed_score_shard, slowed down so that a job is still running when a worker dies."""
    from avs.search.cluster import timed_score_shard

    time.sleep(0.15)
    return timed_score_shard(*args, **kwargs)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster(tmp_path):
    """Scheduler and two workers as separate processes; yields (address, worker procs)."""
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    # Workers import this module (slow_task) by name: tests.support.cluster.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    procs = [
        subprocess.Popen(
            [
                BIN / "dask",
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-dashboard",
            ],
            **quiet,
        )
    ]
    workers = [
        subprocess.Popen(
            [
                BIN / "dask",
                "worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{i}",
                "--local-directory",
                str(tmp_path / f"w{i}"),
            ],
            **quiet,
        )  # fmt: skip
        for i in range(2)
    ]
    procs += workers
    try:
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
