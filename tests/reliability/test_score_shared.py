"""`avs score` on shared clusters and shared run directories (real CLI subprocesses).

- The external `dask scheduler` is SIGKILLed while `avs score --scheduler` runs: the job
  stops with one clear message (no traceback) and `--resume` on a LocalCluster finishes
  it with the same run.
- Two jobs with different run names write into one runs/ at the same time: both succeed.
- One run name twice: refused while the first job runs (it holds the name's lock) and
  after it finished (the run exists), unless --overwrite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.cli import assert_clean_failure, run_avs, start_avs
from tests.support.files import assert_same_run, stable_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reference(search_world, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run `r` scored on a LocalCluster, uninterrupted."""
    runs = tmp_path_factory.mktemp("ref")
    proc = run_avs(search_world.score_args(runs, "r"), runs, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return runs / "r.parquet"


def finish(proc: subprocess.Popen[bytes], timeout: float = 300) -> subprocess.CompletedProcess:
    """Wait for a started avs; its result as run_avs would return it."""
    _, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", err.decode())


def test_scheduler_killed_mid_job_then_resume(
    search_world,
    reference: Path,
    tmp_path: Path,
    cluster,  # tests/support/cluster.py: scheduler + 2 worker processes
    record_property,
) -> None:
    from distributed import Client

    address, _ = cluster
    with Client(address, timeout="30s") as client:
        scheduler_pid = client.run_on_scheduler(os.getpid)
    runs = tmp_path / "runs"
    partial = runs / ".r.partial"
    proc = start_avs([*search_world.score_args(runs, "r"), "--scheduler", address], tmp_path)
    deadline = time.monotonic() + 120
    while not list(partial.glob("shard-*.npz")) and time.monotonic() < deadline:
        time.sleep(0.002)  # the first checkpoint: the job is running on the cluster
    os.kill(scheduler_pid, signal.SIGKILL)
    at_kill = len(list(partial.glob("shard-*.npz")))
    assert 1 <= at_kill < 200, at_kill  # killed mid-job, not before or after it

    result = finish(proc)
    err = assert_clean_failure(result, "Dask cluster dropped the job", "--resume", str(partial))
    assert not (runs / "r.parquet").exists()
    kept = len(list(partial.glob("shard-*.npz")))
    assert kept >= at_kill

    resumed = run_avs([*search_world.score_args(runs, "r"), "--resume"], tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(runs / "r.parquet", reference)
    assert not partial.exists()
    record_property("scheduler_kill", f"at {at_kill}/200 shards, kept {kept}: {err.strip()}")


def test_two_runs_into_one_directory_at_once(search_world, reference: Path, tmp_path: Path):
    runs = tmp_path / "runs"
    procs = {name: start_avs(search_world.score_args(runs, name), tmp_path) for name in "ab"}
    for name, proc in procs.items():
        result = finish(proc)
        assert result.returncode == 0, (name, result.stderr)
    for name in "ab":
        ref_rows, ref_meta = _without_name(reference)
        rows, meta = _without_name(runs / f"{name}.parquet")
        assert rows == ref_rows and meta == ref_meta
    assert sorted(p.name for p in runs.glob("*.parquet")) == ["a.parquet", "b.parquet"]
    assert not list(runs.glob(".*.partial"))


def _without_name(path: Path):
    rows, meta = stable_run(path)
    meta.pop("run_name")
    return rows, meta


def test_same_run_name_twice(search_world, reference: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    args = search_world.score_args(runs, "r")
    first = start_avs(args, tmp_path)
    time.sleep(0.5)  # so the first reaches the name's lock first (it holds it ~8 s)
    while_running = run_avs([*args, "--overwrite"], tmp_path, timeout=300)
    assert finish(first).returncode == 0
    assert_clean_failure(while_running, "being written right now", "--run-name")
    assert_same_run(runs / "r.parquet", reference)

    before = (runs / "r.parquet").read_bytes()
    again = run_avs(args, tmp_path, timeout=300)
    assert_clean_failure(again, "already exists", "--overwrite")
    assert (runs / "r.parquet").read_bytes() == before

    replaced = run_avs([*args, "--overwrite"], tmp_path, timeout=300)
    assert replaced.returncode == 0, replaced.stderr
    assert_same_run(runs / "r.parquet", reference)
