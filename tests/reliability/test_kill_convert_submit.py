"""SIGKILL during `avs features convert` and `avs submit`, at seeded points.

Each command is first run to the end (its duration T and its output are the
reference), then started again and killed with SIGKILL after a delay drawn from a
seeded generator over [0.3 T, 1.05 T]. After every kill the final name holds nothing
or a complete output identical to the reference; rerunning then gives the reference
byte for byte. The test also checks that some kills really landed mid-write (a
temporary file was left behind), so it cannot pass by killing only before or after.
"""

from __future__ import annotations

import hashlib
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from avs.io.features import FeatureStoreWriter
from tests.support.cli import REPO, TEAM_ARGS, kill_at, timed_avs
from tests.support.files import leftovers, make_run, topics_2022

pytestmark = pytest.mark.slow

SEED = 20261127
POINTS = 6  # kills per scenario
N, DIM = 64_000, 256  # 62.5 MiB of float32


def digest(path: Path) -> str | None:
    """Hash of a file or of a directory tree (names and bytes); None if absent."""
    if not path.exists():
        return None
    h = hashlib.sha256()
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    for f in files:
        if f.is_file():
            h.update(str(f.relative_to(path)).encode() if path.is_dir() else b"")
            h.update(f.read_bytes())
    return h.hexdigest()


def kill_schedule(args: list[str | Path], final: Path, cwd: Path, reference: str, t: float):
    """Kill at seeded points; check the final name after each. Returns
    (kills that interrupted, kills that left a temporary file = mid-write)."""
    rng = random.Random(f"{SEED}-{final.name}")
    interrupted = mid_write = 0
    for _ in range(POINTS):
        before = set(leftovers(cwd))
        running, _ = kill_at(args, cwd, seconds=rng.uniform(0.3, 1.05) * t)
        interrupted += running
        mid_write += bool(set(leftovers(cwd)) - before)
        assert digest(final) in (None, reference), "partial or different file under the final name"
    # On a quiet machine start-up is most of T and every timed kill can land before the
    # writer opens its temporary: then aim one kill at the moment it appears.
    for _ in range(4 if not mid_write else 0):
        # a finished copy under the final name would make convert refuse before writing
        if final.is_dir():
            shutil.rmtree(final)
        elif final.exists():
            final.unlink()
        running, in_write = kill_at(args, cwd, seconds=3 * t, nth_tmp=1, watch=[cwd])
        interrupted += running
        mid_write += in_write
        assert digest(final) in (None, reference), "partial or different file under the final name"
        if in_write:
            break
    return interrupted, mid_write


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "shots.h5"
    ids = [f"shot{i // 100 + 1:05d}_{i % 100 + 1}" for i in range(N)]
    rng = np.random.default_rng(0)
    with FeatureStoreWriter(path, ids, {"clip": DIM}, "float32") as w:
        for start in range(0, N, 8000):
            w.write("clip", start, rng.standard_normal((8000, DIM)).astype(np.float32))
    return path


@pytest.mark.parametrize("dst_name", ["out.h5", "out_bigfile"])
def test_kill_during_features_convert(
    tmp_path: Path, source: Path, dst_name: str, record_property
) -> None:
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    work = tmp_path / "work"
    work.mkdir()
    args = ["features", "convert", source, dst_name]
    t = timed_avs(args, ref_dir)
    reference = digest(ref_dir / dst_name)
    # The first run reads a cold cache; kills are timed against a warm run's duration.
    warm_dir = tmp_path / "warm"
    warm_dir.mkdir()
    t = min(t, timed_avs(args, warm_dir))
    interrupted, mid_write = kill_schedule(args, work / dst_name, work, reference, t)
    assert interrupted >= POINTS // 2 and mid_write >= 1, (interrupted, mid_write)
    # rerun: to the end this time (--force: an earlier point may have finished)
    timed_avs([*args, "--force"], work)
    assert digest(work / dst_name) == reference
    # figures for docs/reliability.md (pytest --junitxml shows them)
    record_property("kills", f"T={t:.2f}s interrupted={interrupted}/{POINTS} mid_write={mid_write}")


def test_kill_during_submit(tmp_path: Path, record_property) -> None:
    topics = topics_2022()
    runs = [make_run(tmp_path / f"r{i}.parquet", topics, k=1000, seed=i) for i in range(2)]
    work = tmp_path / "work"
    work.mkdir()
    ref_dir = tmp_path / "ref"
    ref_dir.mkdir()
    args = [*runs, *TEAM_ARGS, "--priority", "1", "--desc", "kill test", "--out", "sub.xml"]
    args = ["submit", *args, "--topics", REPO / "topics" / "2022.txt"]
    t = timed_avs(args, ref_dir)
    reference = digest(ref_dir / "sub.xml")
    interrupted, mid_write = kill_schedule(args, work / "sub.xml", work, reference, t)
    assert interrupted >= POINTS // 2, interrupted
    timed_avs(args, work)
    assert digest(work / "sub.xml") == reference
    record_property("kills", f"T={t:.2f}s interrupted={interrupted}/{POINTS} mid_write={mid_write}")
