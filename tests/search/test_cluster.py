"""Scoring on a real multi-process cluster: `dask scheduler` + two `dask worker` processes
on loopback, compared with a LocalCluster; and a worker killed in the middle of a job."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from searchkit import reshard

from avs.io.runs import read_run
from avs.search.cluster import timed_score_shard
from avs.search.job import ScoreJob, run_score

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
VOLATILE = {"date", "elapsed", "wall_seconds", "run_name"}


def slow_task(*args, **kwargs):
    """timed_score_shard, slowed down so that a job is still running when a worker dies."""
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
    # Workers import this test module (slow_task) and searchkit by name.
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
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


def _job(world, tmp_path, index, name, **kw) -> ScoreJob:
    return ScoreJob(
        topics=world.topics,
        index=index,
        model=world.model,
        runs_dir=tmp_path / "runs",
        run_name=name,
        k=40,
        year=2022,
        **kw,
    )


def _same(a, b) -> None:
    for col in ("topic", "rank", "shot_id", "score"):
        np.testing.assert_array_equal(getattr(a, col), getattr(b, col))
    strip = lambda m: {k: v for k, v in m.items() if k not in VOLATILE}  # noqa: E731
    assert strip(a.meta) == strip(b.meta)


def test_scheduler_and_workers_equal_local_cluster(world, tmp_path, cluster, dask_client):
    address, _ = cluster
    local = run_score(
        _job(world, tmp_path, world.index, "local"), client=dask_client, progress=False
    )
    remote = run_score(
        _job(world, tmp_path, world.index, "remote", scheduler=address), progress=False
    )
    _same(read_run(local), read_run(remote))


def test_worker_killed_mid_job_changes_nothing(world, tmp_path, cluster, dask_client):
    address, workers = cluster
    index = reshard(world.index, tmp_path / "idx24", 24)
    expect = run_score(_job(world, tmp_path, index, "expect"), client=dask_client, progress=False)
    killed = []

    def kill_one(shard: int) -> None:
        if not killed:
            workers[0].kill()  # SIGKILL: no goodbye to the scheduler
            killed.append(shard)

    got = run_score(
        _job(world, tmp_path, index, "killed", scheduler=address),
        progress=False,
        task=slow_task,
        on_result=kill_one,
    )
    assert killed and workers[0].wait(10) is not None
    _same(read_run(expect), read_run(got))
