"""SIGKILL during `avs train`, at seeded points; `--resume` must give the same model.

The reference is an uninterrupted training. Then the same command is started again and
killed after a delay drawn from a seeded generator over [0.2 T, 0.95 T] (T = the
reference's duration), or as soon as the nth temporary file appears in the model
directory (a kill inside a checkpoint write). After every kill nothing under a final
name is partial: config.json parses and matches the weights (load_model checks the
fingerprint), or the directory holds no finished model yet. Rerunning with `--resume`
then gives a model with the reference's fingerprint (sha256 of config and weights).
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest

from avs.model import load_model
from avs.synth import make_collection
from tests.support.cli import kill_at, run_avs

pytestmark = pytest.mark.slow

SEED = 20261128
POINTS = 4
TRAIN = [
    "--video-features",
    "clip,motion,scene",
    "--text-features",
    "bow",
    "--fusion",
    "laff",
    "--preset",
    "demo",
    "--heads",
    "2",
    "--dim",
    "64",
    "--epochs",
    "4",
    "--batch-size",
    "32",
    "--threads",
    "1",
    "--seed",
    "3",
    "--quiet",
]


def finished_fingerprint(model_dir: Path) -> str | None:
    """The fingerprint of the finished model in ``model_dir``, None if there is none yet.
    Fails the test if a file under a final name is partial or inconsistent."""
    config = model_dir / "config.json"
    if not config.exists():
        return None
    json.loads(config.read_text())  # a half-written config would not parse
    model = load_model(model_dir, "cpu")  # checks weights against the fingerprint
    return model.fingerprint


@pytest.fixture(scope="module")
def collection(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("train-kill") / "coll"
    return make_collection(out, [repo / "topics" / "2022.txt"], shots=2000, train_videos=300)


def test_kill_during_train_then_resume(collection: Path, tmp_path: Path) -> None:
    ref_dir = tmp_path / "reference"
    start = time.perf_counter()
    proc = run_avs(["train", collection, *TRAIN, "--out", ref_dir], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    duration = time.perf_counter() - start
    reference = finished_fingerprint(ref_dir)
    assert reference is not None

    rng = random.Random(SEED)
    interrupted = 0
    for point in range(POINTS):
        work = tmp_path / f"killed-{point}"
        # Alternate: a timed kill anywhere, and a kill while a checkpoint file is open.
        running, _ = kill_at(
            ["train", collection, *TRAIN, "--out", work],
            tmp_path,
            seconds=rng.uniform(0.2, 0.95) * duration,
            nth_tmp=0 if point % 2 == 0 else 1 + point // 2,
            watch=[work, work / "train-state"],
        )
        interrupted += running
        finished_fingerprint(work)  # nothing under a final name is partial
        proc = run_avs(["train", collection, *TRAIN, "--out", work, "--resume"], cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert finished_fingerprint(work) == reference, f"kill point {point}"
    assert interrupted >= POINTS // 2, "most kills must land while training runs"
