"""Sanity of the simulated collection (`avs synth`, avs/synth/)."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from avs.cli import main
from avs.errors import AvsError
from avs.io.captions import read_captions, read_id_list
from avs.io.features import FeatureStore
from avs.io.features import writer as feature_writer
from avs.io.qrels import read_qrels
from avs.io.topics import read_topics
from avs.synth import collection as collection_mod
from avs.synth import vocab
from avs.synth import world as world_mod
from avs.synth.collection import make_collection
from avs.synth.extractors import ExtractorSet, single_threaded_libraries

ROOT = Path(__file__).resolve().parents[2]
TOPICS = [ROOT / "topics" / "2022.txt", ROOT / "topics" / "2021.txt"]


# --- fixtures -------------------------------------------------------------------


@pytest.fixture(scope="module")
def coll(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_collection(tmp_path_factory.mktemp("synth") / "tiny", TOPICS, seed=5)


def _meta(path: Path) -> dict:
    return json.loads((path / "collection.json").read_text())


def _truth(path: Path, year: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for q in read_qrels(path / "truth" / f"{year}.qrels"):
        out[q.topic].add(q.shot)
    return out


def _ap(ranking: list[str], relevant: set[str]) -> float:
    """Plain (non-interpolated) average precision of a full ranking."""
    hits, total = 0, 0.0
    for k, shot in enumerate(ranking, start=1):
        if shot in relevant:
            hits += 1
            total += hits / k
    return total / len(relevant) if relevant else 0.0


# --- layout and labels ----------------------------------------------------------


def test_collection_layout_and_simulated_flags(coll: Path) -> None:
    meta = _meta(coll)
    assert meta["format"] == "avs-collection" and meta["simulated"] is True
    assert set(meta["years"]) == {"2022", "2021"}
    for year, files in meta["years"].items():
        for key in ("topics", "qrels", "truth"):
            assert (coll / files[key]).is_file(), (year, key)
    assert len(meta["extractors"]) >= 4 and len(set(meta["extractors"].values())) >= 4
    assert meta["frame_features"] == {"motion": 8}
    with FeatureStore(coll / "shots.h5") as fs:
        assert fs.simulated and fs.n == meta["shots"] == 3000
        assert fs.dims == meta["extractors"]
        assert all(re.fullmatch(r"shot\d{5}_[1-9]\d*", i) for i in fs.ids)
        videos = {i[4:9] for i in fs.ids}
        assert len(videos) == meta["videos"]
        assert 60 <= fs.n / len(videos) <= 300  # about 145 shots per video
        values, offsets = fs.read_frames("motion", 0, 50)
        assert np.all(np.diff(offsets) == 8)
        shot = fs.read("motion", 0, 50)
        mean = values.reshape(50, 8, -1).mean(axis=1)
        assert np.abs(mean - shot).max() < 2e-3  # shot feature = mean of its frames
    with FeatureStore(coll / "train" / "features.h5") as fs:
        assert fs.simulated and fs.n == 300 and fs.ids[0] == "video0"
    with h5py.File(coll / "shots.h5") as f:
        assert bool(f.attrs["simulated"]) is True


def test_training_captions_and_splits(coll: Path) -> None:
    caps = read_captions(coll / "train" / "captions.txt")
    assert len(caps) == 300 * 5
    splits = [read_id_list(coll / "train" / f"{s}.txt") for s in ("train", "val", "test")]
    assert sum(map(len, splits)) == 300 and not set(splits[0]) & set(splits[2])
    # captions speak the topics' language: most topic concepts occur in some caption
    words = " ".join(c.text for c in caps)
    concepts = {c for cs in _meta(coll)["concepts"].values() for c in cs}
    seen = sum(1 for c in concepts if c in words)
    assert seen / len(concepts) > 0.6


# --- judgements -----------------------------------------------------------------


def test_qrels_are_nist_style_with_sampled_strata(coll: Path) -> None:
    for year in ("2022", "2021"):
        qrels = read_qrels(coll / "qrels" / f"{year}.qrels")
        line = (coll / "qrels" / f"{year}.qrels").read_text().splitlines()[0]
        assert len(line.split()) == 5
        strata = defaultdict(list)
        for q in qrels:
            strata[q.stratum].append(q.rel)
        assert {"1", "2", "3"} <= set(strata)
        assert -1 not in strata["1"] and -1 not in strata["2"]  # judged fully
        assert -1 in strata["3"] and 0 in strata["3"]  # sampled
        truth = _truth(coll, year)
        topics = {f"1{t.number}" for t in read_topics(coll / "topics" / f"{year}.txt")}
        assert {q.topic for q in qrels} == topics == set(truth)
        for q in qrels:
            if q.rel >= 0:
                assert (q.shot in truth[q.topic]) == (q.rel == 1)


def test_relevant_counts_within_range(coll: Path) -> None:
    meta = _meta(coll)
    lo, hi = meta["relevant_range"]
    for year in meta["years"]:
        truth = _truth(coll, year)
        counts = {t: len(s) for t, s in truth.items()}
        assert all(lo <= c <= hi for c in counts.values()), counts
        assert {f"1{k}": v for k, v in meta["relevant"][year].items()} == counts


@pytest.mark.slow
def test_relevant_counts_at_v3c_scale() -> None:
    """Tens to a few thousand relevant shots per topic at 1.5M shots (no features)."""
    topics = {"2022": read_topics(TOPICS[0])}
    world = world_mod.build_world(topics, 1_500_000, seed=1)
    lo, hi = world.count_range
    assert 10 <= lo <= 50 and 1000 <= hi <= 5000
    counts = np.zeros(len(world.topics), dtype=np.int64)
    for b in range(world_mod.n_blocks(world.shots)):
        block = world_mod.shot_block(world, b)
        np.add.at(counts, block.relevant[:, 1], 1)
    assert counts.min() >= lo and counts.max() <= hi, counts


def test_oracle_ranking_scores_one_and_random_near_zero(coll: Path) -> None:
    with FeatureStore(coll / "shots.h5") as fs:
        ids = fs.ids
    rng = np.random.default_rng(0)
    random_aps = []
    for year in ("2022", "2021"):
        for _topic, rel in _truth(coll, year).items():
            assert rel <= set(ids)
            if len(rel) <= 1000:
                oracle = sorted(rel) + [i for i in ids if i not in rel]
                assert _ap(oracle, rel) == pytest.approx(1.0)
            random_aps.append(_ap(list(rng.permutation(ids)), rel))
    assert np.mean(random_aps) < 0.03


# --- determinism ----------------------------------------------------------------


def test_same_seed_same_collection(coll: Path, tmp_path: Path) -> None:
    again = make_collection(tmp_path / "again", TOPICS, seed=5)
    for rel in ("shots.h5", "train/features.h5"):
        with h5py.File(coll / rel) as a, h5py.File(again / rel) as b:
            assert np.array_equal(a["ids"][()], b["ids"][()])
            for name in a["features"]:
                assert np.array_equal(a["features"][name][()], b["features"][name][()]), name
            for name in a["frames"]:
                assert np.array_equal(
                    a["frames"][name]["values"][()], b["frames"][name]["values"][()]
                )
    for rel in ("qrels/2022.qrels", "truth/2021.qrels", "train/captions.txt", "train/test.txt"):
        assert (coll / rel).read_bytes() == (again / rel).read_bytes(), rel
    other = make_collection(tmp_path / "other", TOPICS[:1], seed=6)
    with h5py.File(coll / "shots.h5") as a, h5py.File(other / "shots.h5") as b:
        assert not np.array_equal(a["features"]["clip"][:100], b["features"]["clip"][:100])


def test_collection_does_not_depend_on_scheduling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Blocks are made in parallel threads (reusing output buffers) and written in
    order: one worker without lookahead writes the same files as the default, also
    when the writer drops everything it wrote from the page cache at once (HDF5 then
    reads partial chunks back from the disk)."""
    kw = {"shots": 20_000, "seed": 7, "train_videos": 40}  # 3 blocks, the last one short
    default = make_collection(tmp_path / "default", TOPICS[:1], **kw)
    monkeypatch.setattr(collection_mod, "WORKERS", 1)
    monkeypatch.setattr(collection_mod, "AHEAD", 1)
    monkeypatch.setattr(feature_writer, "CACHE_LAG", 0)
    monkeypatch.setattr(feature_writer, "CACHE_STEP", 1)
    serial = make_collection(tmp_path / "serial", TOPICS[:1], **kw)
    with h5py.File(default / "shots.h5") as a, h5py.File(serial / "shots.h5") as b:
        for name in a["features"]:
            assert np.array_equal(a["features"][name][()], b["features"][name][()]), name
        for name in a["frames"]:
            for part in ("values", "offsets"):
                assert np.array_equal(a["frames"][name][part][()], b["frames"][name][part][()])
    for rel in ("qrels/2022.qrels", "truth/2022.qrels", "train/captions.txt"):
        assert (default / rel).read_bytes() == (serial / rel).read_bytes(), rel


def test_half_cast_is_the_same_with_or_without_torch() -> None:
    """The extractors' float16 cast (torch's copy_) must not change a single bit against
    numpy's round to nearest even (determinism)."""
    x = np.random.default_rng(1).standard_normal(100_003).astype(np.float32)
    x[:6] = [0.0, -0.0, 1e-8, 6e-5, 65504.0, 2.5e-3]
    fast = np.empty(x.shape, np.float16)
    torch.from_numpy(fast).copy_(torch.from_numpy(x))
    plain = x.astype(np.float16)
    assert np.array_equal(fast.view(np.uint16), plain.view(np.uint16))


# --- usefulness of the features ---------------------------------------------------


@pytest.mark.slow
def test_linear_probe_needs_all_extractors() -> None:
    """Ridge probe predicting each shot's concepts: every single extractor is clearly
    worse than all of them together (so fusion matters)."""
    topics = {"2022": read_topics(TOPICS[0])}
    world = world_mod.build_world(topics, 20_000, seed=2)
    limit = single_threaded_libraries()
    limit.__enter__()
    extractors = ExtractorSet(world)
    feats: dict[str, list[np.ndarray]] = defaultdict(list)
    labels = []
    try:
        for b in (0, 1):
            block = world_mod.shot_block(world, b)
            f, _ = extractors.compute(block, 0, b)
            for name, arr in f.items():
                feats[name].append(arr.astype(np.float32))
            y = np.zeros((block.n, world.n_concepts + 1), dtype=np.float32)
            np.put_along_axis(y, block.concepts, 1.0, axis=1)
            labels.append(y[:, :-1])
    finally:
        limit.__exit__(None, None, None)
    y = np.concatenate(labels)
    n = len(y)
    train, test = slice(0, n // 2), slice(n // 2, n)
    cols = np.flatnonzero(y[test].sum(0) >= 10)
    # one Gram matrix of all features; a single extractor's is a diagonal block of it
    x = np.hstack([np.concatenate(v) for v in feats.values()] + [np.ones((n, 1), np.float32)])
    gram = x[train].T @ x[train]
    rhs = x[train].T @ y[train]
    bounds = np.cumsum([0] + [v[0].shape[1] for v in feats.values()])

    def probe(keep: np.ndarray) -> float:
        keep = np.append(keep, x.shape[1] - 1)  # and the bias column
        g = gram[np.ix_(keep, keep)] + 10.0 * np.eye(len(keep), dtype=np.float32)
        pred = x[test][:, keep] @ np.linalg.solve(g, rhs[keep])
        aps = []
        for c in cols:
            order = np.argsort(-pred[:, c], kind="stable")
            hit = y[test][order, c]
            prec = np.cumsum(hit) / np.arange(1, len(hit) + 1)
            aps.append(prec[hit > 0].mean())
        return float(np.mean(aps))

    single = {name: probe(np.arange(bounds[i], bounds[i + 1])) for i, name in enumerate(feats)}
    together = probe(np.arange(bounds[-1]))
    assert together > max(single.values()) + 0.1, (single, together)
    assert min(single.values()) < 0.1  # a near-useless weak extractor is among them


# --- vocabulary -------------------------------------------------------------------


def test_topic_concepts_from_real_topics() -> None:
    assert vocab.topic_concepts("a white dog") == ["white", "dog"]
    assert vocab.topic_concepts("A construction site") == ["construction site"]
    assert vocab.topic_concepts("a bow tie") == ["bow tie"]
    assert "outdoors" in vocab.topic_concepts("a person smoking a cigarette outdoors")
    for path in sorted((ROOT / "topics").glob("*.txt")):
        for t in read_topics(path):
            cs = vocab.topic_concepts(t.text)
            assert 1 <= len(cs) <= vocab.MAX_TOPIC_CONCEPTS, (path, t)


# --- errors -----------------------------------------------------------------------


def test_refuses_too_little_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    class Usage:
        free = 10_000_000

    monkeypatch.setattr(collection_mod.shutil, "disk_usage", lambda p: Usage())
    with pytest.raises(AvsError, match="GB"):
        make_collection(tmp_path / "c", TOPICS, shots=100_000)
    assert not (tmp_path / "c").exists()


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(main, ["synth", str(tmp_path / "x"), "--topics", "nope.txt"])
    assert res.exit_code != 0 and "Traceback" not in res.output and "nope.txt" in res.output
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    res = runner.invoke(
        main, ["synth", str(tmp_path / "full"), "--topics", str(TOPICS[0]), "--shots", "500"]
    )
    assert res.exit_code != 0 and "not empty" in res.output
    res = runner.invoke(
        main, ["synth", str(tmp_path / "y"), "--topics", str(TOPICS[0]), "--shots", "5"]
    )
    assert res.exit_code != 0 and "--shots" in res.output


def test_cli_writes_collection(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        main,
        [
            "synth",
            str(tmp_path / "c"),
            "--topics",
            str(TOPICS[0]),
            "--shots",
            "1000",
            "--train-videos",
            "50",
            "--quiet",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "1000 shots" in res.output and "2022: 30 topics" in res.output
    assert _meta(tmp_path / "c")["simulated"] is True


def test_failure_leaves_no_partial_collection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(collection_mod, "judge", broken)
    with pytest.raises(KeyboardInterrupt):
        make_collection(tmp_path / "c", TOPICS[:1], shots=500, train_videos=20)
    assert not (tmp_path / "c").exists()


def test_force_replaces_a_collection(tmp_path: Path) -> None:
    first = make_collection(tmp_path / "c", TOPICS[:1], shots=500, train_videos=20, seed=1)
    with pytest.raises(AvsError, match="not empty"):
        make_collection(first, TOPICS[:1], shots=500, train_videos=20, seed=2)
    collection_mod.synthesize(first, TOPICS[:1], shots=600, seed=2, train_videos=20, overwrite=True)
    assert _meta(first)["shots"] == 600
