"""A full disk during `avs features convert` and `avs submit`.

Two ways to fill it: a real 2-4 MiB tmpfs (needs root; skipped otherwise) and a
file-size limit (RLIMIT_FSIZE with SIGXFSZ ignored, so the crossing write fails with
EFBIG; runs anywhere). Each case checks: non-zero exit with one clear error and no
traceback, the previous file under the final name unchanged, no temporary left.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from avs.io.features import FeatureStoreWriter
from tests.support.cli import REPO, TEAM_ARGS, assert_clean_failure, fsize_limit, run_avs
from tests.support.files import leftovers, make_run, topics_2022

N, DIM = 20_000, 64  # 5 MiB of float32 per extractor


def make_store(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    ids = [f"shot{i // 100 + 1:05d}_{i % 100 + 1}" for i in range(N)]
    with FeatureStoreWriter(path, ids, {"clip": DIM}, "float32") as w:
        w.write("clip", 0, rng.standard_normal((N, DIM)).astype(np.float32))
    return path


def digest(path: Path) -> str:
    """Hash of a file, or of every file under a directory (names and bytes)."""
    h = hashlib.sha256()
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(path.parent)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def ballast(directory: Path, leave: int) -> None:
    """Fill ``directory``'s file system until only about ``leave`` bytes are free."""
    free = shutil.disk_usage(directory).free
    if free > leave:
        with open(directory / "ballast", "wb") as fh:
            fh.write(b"\0" * (free - leave))


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two stores with the same shape and different values: the old and the new."""
    root = tmp_path_factory.mktemp("stores")
    return make_store(root / "old.h5", 1), make_store(root / "new.h5", 2)


# ---------------------------------------------------------------- features convert


@pytest.mark.parametrize("dst_name", ["out.h5", "out_bigfile"])
def test_convert_refuses_early_when_the_disk_is_too_small(
    small_fs, stores: tuple[Path, Path], dst_name: str
) -> None:
    """The free-space check: a 5 MiB store is not even started on a 2 MiB disk."""
    mnt = small_fs("2m")
    proc = run_avs(["features", "convert", stores[1], mnt / dst_name], cwd=mnt)
    assert_clean_failure(proc, "needs about", "MiB free")
    assert sorted(os.listdir(mnt)) == []


@pytest.mark.parametrize("dst_name", ["out.h5", "out_bigfile"])
def test_convert_disk_fills_mid_write_on_tmpfs(
    small_fs, stores: tuple[Path, Path], dst_name: str
) -> None:
    """The estimate fits but the file system fills during the write (HDF5 headers,
    id.txt blocks): the previous output survives, nothing half-written stays."""
    old, new = stores
    mnt = small_fs("12m")
    dst = mnt / dst_name
    assert run_avs(["features", "convert", old, dst], cwd=mnt).returncode == 0
    before = digest(dst)
    data_bytes = N * DIM * 4 + N * 13  # convert's own estimate for this store
    ballast(mnt, data_bytes + 4096)
    proc = run_avs(["features", "convert", "--force", new, dst], cwd=mnt)
    assert_clean_failure(proc, str(dst), "No space left on device")
    assert digest(dst) == before
    assert leftovers(mnt) == []


@pytest.mark.parametrize("dst_name", ["out.h5", "out_bigfile"])
def test_convert_hits_file_size_limit(
    tmp_path: Path, stores: tuple[Path, Path], dst_name: str
) -> None:
    old, new = stores
    dst = tmp_path / dst_name
    assert run_avs(["features", "convert", old, dst], cwd=tmp_path).returncode == 0
    before = digest(dst)
    proc = run_avs(
        ["features", "convert", "--force", new, dst], cwd=tmp_path, preexec=fsize_limit(1 << 20)
    )
    assert_clean_failure(proc, str(dst), "File too large", "ulimit")
    assert digest(dst) == before
    assert leftovers(tmp_path) == []


# ---------------------------------------------------------------- submit


@pytest.fixture(scope="module")
def big_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two 2022 runs of 1000 shots per topic (~1.6 MB of XML each)."""
    root = tmp_path_factory.mktemp("runs")
    topics = topics_2022()
    return (
        make_run(root / "a.parquet", topics, k=1000, seed=1),
        make_run(root / "b.parquet", topics, k=1000, seed=2),
    )


def _submit(run: Path, out: Path, **kw: object) -> object:
    args = [run, *TEAM_ARGS, "--priority", "1", "--desc", "d", "--out", out]
    return run_avs(
        ["submit", *args, "--topics", REPO / "topics" / "2022.txt"], cwd=out.parent, **kw
    )


def test_submit_on_full_tmpfs_keeps_previous_file(small_fs, big_runs: tuple[Path, Path]) -> None:
    mnt = small_fs("2m")
    out = mnt / "sub.xml"
    first = _submit(big_runs[0], out)
    assert first.returncode == 0, first.stderr
    before = digest(out)
    proc = _submit(big_runs[1], out)  # 1.6 MB more does not fit in the 0.4 MB left
    assert_clean_failure(proc, str(out), "No space left on device")
    assert digest(out) == before
    assert leftovers(mnt) == [] and sorted(os.listdir(mnt)) == ["sub.xml"]


def test_submit_hits_file_size_limit(tmp_path: Path, big_runs: tuple[Path, Path]) -> None:
    out = tmp_path / "sub.xml"
    assert _submit(big_runs[0], out).returncode == 0
    before = digest(out)
    proc = _submit(big_runs[1], out, preexec=fsize_limit(100_000))
    assert_clean_failure(proc, str(out), "File too large")
    assert digest(out) == before
    assert leftovers(tmp_path) == []
