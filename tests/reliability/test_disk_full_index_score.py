"""A full disk during `avs index` (shards) and `avs score` (the run's Parquet).

- `avs index` onto a 1 MiB tmpfs: refused before anything is written, with the estimate.
- `avs index` under a 400 kB file-size limit (ids.txt fits, 640 kB shards do not): one
  clear error, no temporary file, no shard under a final name, the manifest still says
  incomplete; the same command without the limit then finishes the index, identical to
  one built in a single go.
- `avs score --overwrite` under a 20 kB file-size limit (shard checkpoints fit, the
  Parquet does not): one clear error, the previous run byte-identical, nothing
  half-written; `--resume` then finishes from the checkpoints with the right run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.cli import assert_clean_failure, fsize_limit, run_avs
from tests.support.files import assert_same_index, assert_same_run, leftovers

pytestmark = pytest.mark.slow


def test_index_refuses_early_when_the_disk_is_too_small(small_fs, search_world) -> None:
    """20,000 x 32 float16 = 1.2 MiB of shards plus 0.2 MiB of ids on a 1 MiB disk."""
    mnt = small_fs("1m")
    out = mnt / "idx"
    proc = run_avs(search_world.index_args(out, 100), mnt, timeout=300)
    assert_clean_failure(proc, str(out), "needs about 1.", "MiB free")
    assert not out.exists() or os.listdir(out) == []


def test_index_hits_file_size_limit_then_resumes(tmp_path: Path, search_world) -> None:
    ref, out = tmp_path / "ref", tmp_path / "idx"
    assert run_avs(search_world.index_args(ref, 10_000), tmp_path, timeout=300).returncode == 0
    proc = run_avs(
        search_world.index_args(out, 10_000), tmp_path, preexec=fsize_limit(400_000), timeout=300
    )
    assert_clean_failure(proc, "shard-0000", "File too large")
    assert leftovers(out) == []
    assert sorted(os.listdir(out)) == ["ids.txt", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    assert run_avs(search_world.index_args(out, 10_000), tmp_path, timeout=300).returncode == 0
    assert_same_index(out, ref)


def test_score_parquet_hits_file_size_limit(tmp_path: Path, search_world) -> None:
    ref, runs = tmp_path / "ref", tmp_path / "runs"
    assert run_avs(search_world.score_args(ref, k=1000), tmp_path, timeout=300).returncode == 0
    assert run_avs(search_world.score_args(runs, k=100), tmp_path, timeout=300).returncode == 0
    before = (runs / "r.parquet").read_bytes()

    bigger = [*search_world.score_args(runs, k=1000), "--overwrite"]
    proc = run_avs(bigger, tmp_path, preexec=fsize_limit(20_000), timeout=300)
    assert_clean_failure(proc, str(runs / "r.parquet"), "File too large")
    assert (runs / "r.parquet").read_bytes() == before
    assert leftovers(runs) == []
    assert len(list((runs / ".r.partial").glob("shard-*.npz"))) == 200  # all scored, kept

    resumed = run_avs([*bigger, "--resume"], tmp_path, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(runs / "r.parquet", ref / "r.parquet")
