"""Scoring on a real multi-process cluster: `dask scheduler` + two `dask worker` processes
on loopback (the `cluster` fixture: tests/support/cluster.py), compared with a LocalCluster;
and a worker killed in the middle of a job."""

from __future__ import annotations

import numpy as np
import pytest

from avs.io.runs import read_run
from avs.search.job import ScoreJob, run_score
from tests.support.cluster import slow_task
from tests.support.searchkit import reshard

pytestmark = pytest.mark.slow
VOLATILE = {"date", "elapsed", "wall_seconds", "run_name"}


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
