"""Files the commands read and write in the tests: BigFiles, Parquet runs to submit or
evaluate, and checks of what a killed or failed command left on disk (temporaries, runs,
index directories)."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avs.io.runs import write_run
from avs.ties import tie_order

REPO = Path(__file__).resolve().parents[2]
QRELS_2021 = REPO / "tests" / "fixtures" / "trecvid" / "avs.qrels.main.tv21"


# ---------------------------------------------------------------- temporaries


def leftovers(directory: Path) -> list[str]:
    """Temporary files and directories the atomic writers would leave behind."""
    return sorted(p.name for p in directory.rglob(".*") if p.name.endswith((".tmp", ".old")))


def tmp_names(*directories: Path) -> set[str]:
    """Temporary files of the atomic writers directly in ``directories`` (cheap enough
    to poll every millisecond, unlike a recursive glob)."""
    names: set[str] = set()
    for d in directories:
        try:
            names.update(f"{d.name}/{n}" for n in os.listdir(d) if n.endswith(".tmp"))
        except FileNotFoundError:
            continue
    return names


# ---------------------------------------------------------------- feature files


def write_bigfile(path: Path, ids: list[str], dim: int, seed: int) -> None:
    """A BigFile of random float32 rows, one per id."""
    from avs.io.bigfile import BigFileWriter

    rng = np.random.default_rng(seed)
    with BigFileWriter(path, ids, dim) as w:
        w.write(0, rng.normal(size=(len(ids), dim)).astype(np.float32))


# ---------------------------------------------------------------- runs


def make_run(path: Path, topics: Sequence[int], k: int, seed: int = 0, year: int = 2022) -> Path:
    """A Parquet run with ``k`` V3C shots per topic, ranked by the tie rule."""
    rng = np.random.default_rng(seed)
    topic, rank, shot, score = [], [], [], []
    for t in topics:
        videos = rng.choice(9000, size=k, replace=False) + 1
        shots = np.array([f"shot{v:05d}_{i % 9 + 1}" for i, v in enumerate(videos)])
        scores = rng.random(k).astype(np.float32)
        order = tie_order(shots, scores)
        topic += [t] * k
        rank += range(1, k + 1)
        shot += shots[order].tolist()
        score += scores[order].tolist()
    meta = {
        "year": year,
        "elapsed": {str(t): 1.5 for t in topics},
        "simulated": True,
        "run_name": path.stem,
    }
    return write_run(path, np.array(topic), np.array(rank), np.array(shot), np.array(score), meta)


def topics_2022() -> list[int]:
    """The 30 topic numbers of topics/2022.txt."""
    from avs.io.topics import read_topics

    return [t.number for t in read_topics(REPO / "topics" / "2022.txt")]


def write_eval_runs(directory: Path, count: int, k: int = 1000, seed: int = 0) -> list[Path]:
    """``count`` Parquet runs of the 2021 topics (661-680), ``k`` shots each: a random
    half of each ranking from the shots NIST judged for the topic (so infAP is not 0),
    the rest unjudged V3C1-like ids. Seeded; the same call gives the same files."""
    from avs.io.qrels import read_qrels

    judged: dict[int, np.ndarray] = {}
    for q in read_qrels(QRELS_2021):
        judged.setdefault(int(q.topic) - 1000, []).append(q.shot)
    pools = {t: np.array(sorted(set(s))) for t, s in judged.items()}
    rng = np.random.default_rng(seed)
    video, shot_no = rng.integers(1, 7476, 50_000), rng.integers(1, 60, 50_000)
    unjudged = np.unique([f"shot{v:05d}_{s}" for v, s in zip(video, shot_no, strict=True)])
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in range(count):
        topic, shot, score = [], [], []
        for t, pool in sorted(pools.items()):
            hits = rng.choice(pool, size=k // 2, replace=False)
            other = rng.choice(unjudged, size=k - k // 2, replace=False)
            ids = np.unique(np.concatenate([hits, other]))  # a shot at most once per topic
            rng.shuffle(ids)
            scores = rng.random(len(ids)).astype(np.float32)
            order = tie_order(ids, scores)
            topic.append(np.full(len(ids), t))
            shot.append(ids[order])
            score.append(scores[order])
        ranks = np.concatenate([np.arange(1, len(s) + 1) for s in shot])
        meta = {"year": 2021, "simulated": True, "run_name": f"load{r:03d}"}
        path = directory / f"load{r:03d}.parquet"
        write_run(
            path, np.concatenate(topic), ranks, np.concatenate(shot), np.concatenate(score), meta
        )
        paths.append(path)
    return paths


# ---------------------------------------------------------------- comparing outputs

# Run metadata that differs between any two runs of the same job (docs/design.md).
VOLATILE_META = frozenset({"date", "elapsed", "wall_seconds"})


def stable_run(path: Path) -> tuple[list[tuple[int, int, str, float]], dict[str, Any]]:
    """A run's rows, and its metadata without the keys that differ between any two runs."""
    from avs.io.runs import read_run

    run = read_run(path)
    rows = list(
        zip(
            run.topic.tolist(),
            run.rank.tolist(),
            run.shot_id.tolist(),
            run.score.tolist(),
            strict=True,
        )
    )
    return rows, {k: v for k, v in run.meta.items() if k not in VOLATILE_META}


def assert_same_run(got: Path, reference: Path) -> None:
    """Identical rows; metadata identical except for exactly the volatile keys."""
    from avs.io.runs import read_run

    g, r = read_run(got).meta, read_run(reference).meta
    assert g.keys() == r.keys()
    assert {k for k in g if g[k] != r[k]} <= VOLATILE_META
    assert stable_run(got) == stable_run(reference)


# Index manifest keys measured per build, not part of the index itself.
VOLATILE_MANIFEST = frozenset({"throughput", "built"})


def check_index_files(work: Path, ref: Path) -> None:
    """Every shard under a final name is the reference shard; ids and manifest whole."""
    for shard in work.glob("shard-*.npy"):
        assert shard.read_bytes() == (ref / shard.name).read_bytes(), shard.name
    if (work / "ids.txt").exists():
        assert (work / "ids.txt").read_bytes() == (ref / "ids.txt").read_bytes()
    if (work / "manifest.json").exists():
        json.loads((work / "manifest.json").read_text())  # never half written


def assert_same_index(work: Path, ref: Path) -> None:
    """Same files, shards and ids byte for byte, manifests equal but for timings."""
    assert sorted(p.name for p in work.iterdir()) == sorted(p.name for p in ref.iterdir())
    check_index_files(work, ref)
    manifests = [json.loads((d / "manifest.json").read_text()) for d in (work, ref)]
    for m in manifests:
        assert m["complete"] is True
        for key in VOLATILE_MANIFEST:
            m.pop(key)
    assert manifests[0] == manifests[1]
