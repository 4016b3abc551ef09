"""Helpers for the search tests: a tiny real world: feature store, model, index, topic file.

Row order differs from shot-id order on purpose, and some shots share features exactly,
so the tie rule (score desc, shot id desc) is exercised rather than assumed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

N_SHOTS = 503  # odd, so shards are uneven
TOPIC_LINES = [
    "701 a person walking a dog on a beach",
    "702 a red car at night",
    "703 someone running in a kitchen",
    "704 a dog and a car",
]
WORDS = ["person", "walking", "dog", "beach", "red", "car", "night", "running", "kitchen"]


@dataclass(frozen=True)
class World:
    root: Path
    features: Path
    model: Path
    index: Path
    topics: Path
    ids: list[str]


def shot_ids(n: int, rng: np.random.Generator) -> list[str]:
    ids = [f"shot{1 + i // 7:05d}_{1 + i % 7}" for i in range(n)]
    rng.shuffle(ids)  # row order != string order
    return ids


def make_model(path: Path, seed: int = 0) -> str:
    """A tiny LAFF model (2 video features, bag of words, 4 heads x 8) saved to ``path``."""
    from avs.model import AvsModel, LaffConfig, save_model
    from avs.text.bow import BowEncoder

    torch.manual_seed(seed)
    config = LaffConfig(
        video_features=["clip", "x3d"],
        video_dims=[16, 24],
        text_features=["bow"],
        text_dims=[len(WORDS)],
        fusion="laff",
        heads=4,
        dim=32,
        dropout=0.0,
    )
    model = AvsModel(config, [BowEncoder("bow", 1, WORDS)])
    return save_model(model, path)


def make_features(path: Path, n: int = N_SHOTS, seed: int = 0) -> list[str]:
    from avs.io.features import FeatureStoreWriter

    rng = np.random.default_rng(seed)
    ids = shot_ids(n, rng)
    clip = rng.standard_normal((n, 16)).astype(np.float32)
    x3d = rng.standard_normal((n, 24)).astype(np.float32)
    for dup in range(10, 16):  # exact duplicates of row 3: equal scores everywhere
        clip[dup], x3d[dup] = clip[3], x3d[3]
    with FeatureStoreWriter(
        path, ids, {"clip": 16, "x3d": 24}, dtype="float32", attrs={"simulated": True}
    ) as w:
        w.write("clip", 0, clip)
        w.write("x3d", 0, x3d)
    return ids


def reshard(src: Path, dst: Path, parts: int) -> Path:
    """Copy index ``src`` to ``dst`` split into ``parts`` shards of the same vectors."""
    manifest = json.loads((src / "manifest.json").read_text())
    vecs = np.concatenate([np.load(src / s["file"]) for s in manifest["shards"]])
    dst.mkdir(parents=True)
    bounds = np.linspace(0, len(vecs), parts + 1).astype(int)
    shards = []
    for i in range(parts):
        name = f"shard-{i:05d}.npy"
        np.save(dst / name, vecs[bounds[i] : bounds[i + 1]])
        shards.append({"file": name, "start": int(bounds[i]), "stop": int(bounds[i + 1])})
    manifest["shards"] = shards
    (dst / "manifest.json").write_text(json.dumps(manifest))
    (dst / "ids.txt").write_text((src / "ids.txt").read_text())
    return dst


def reference(index: Path, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute force in float64: (shot ids, scores) per topic, sorted by the tie rule."""
    manifest = json.loads((index / "manifest.json").read_text())
    vecs = np.concatenate([np.load(index / s["file"]) for s in manifest["shards"]])
    ids = np.array((index / "ids.txt").read_text().split("\n")[:-1])
    scores = queries.astype(np.float64) @ vecs.astype(np.float64).T
    _, id_rank = np.unique(ids, return_inverse=True)
    out_ids, out_scores = [], []
    for row in scores:
        order = np.lexsort((-id_rank, -row))[:k]
        out_ids.append(ids[order])
        out_scores.append(row[order])
    return np.array(out_ids), np.array(out_scores)


def topic_queries(world: World) -> np.ndarray:
    """The scaled float32 query matrix the job uses."""
    from avs.io.topics import read_topics
    from avs.model import load_model
    from avs.search.job import encode_topics

    model = load_model(world.model, "cpu")
    topics = read_topics(world.topics)
    return encode_topics(model, [t.text for t in topics], [t.number for t in topics])


def score_job(world: World, tmp_path: Path, **kw: object):
    """A ScoreJob of ``world``'s topics (k=50) into ``tmp_path/runs/tiny.parquet``;
    ``kw`` overrides any field."""
    from avs.search.job import ScoreJob

    args = {
        "topics": world.topics,
        "index": world.index,
        "model": world.model,
        "runs_dir": tmp_path / "runs",
        "run_name": "tiny",
        "k": 50,
        "year": 2022,
        "collection": "V3C2",
    }
    args.update(kw)
    return ScoreJob(**args)
