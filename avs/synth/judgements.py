"""NIST-style judgements of a simulated collection (docs/xinfap.md).

For each topic, several simulated systems of different quality rank a candidate set
(all relevant shots, near misses that lack one concept, and random shots standing in
for the rest of the collection) by a noisy oracle score. The pool is the union of
their top ``depth`` shots; a pooled shot's stratum is set by its best rank over the
systems. Strata 1 and 2 are judged fully, stratum 3 at a per-topic rate (20-60 %, as
in 2021); pooled shots not sampled get rel -1. The full ground truth is written too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avs.io.records import Qrel, qrels_topic
from avs.synth.world import S_JUDGE, World, rng_for

# signal-to-noise of the simulated systems, best first
SYSTEM_QUALITY = (3.0, 2.2, 1.6, 1.1, 0.7, 0.4)
NEAR_SCORE = 0.6  # a near miss looks 60 % as relevant as a relevant shot
STRATA = ((0.1, 1.0), (0.3, 1.0), (1.0, None))  # (upper rank / depth, sampling rate)
DEEP_RATE = (0.2, 0.6)


@dataclass(frozen=True)
class Judgements:
    """Sampled qrels and full truth for the topics of one year."""

    qrels: list[Qrel]  # NIST 5-field records
    truth: list[tuple[str, str]]  # (qrels topic id, shot id) of every relevant shot


def pool_depth(shots: int) -> int:
    """Pool depth per system: NIST's 1000 at V3C scale, less for small collections."""
    return int(np.clip(shots // 100, 30, 1000))


@dataclass(frozen=True)
class PooledSystems:
    """What the simulated systems of one topic rank: candidate rows and each system's score."""

    candidates: np.ndarray  # rows: relevant shots, near misses, random others
    scores: np.ndarray  # (len(SYSTEM_QUALITY), len(candidates)), best system first


def pooled_systems(
    world: World, rng: np.random.Generator, relevant: np.ndarray, near: np.ndarray
) -> PooledSystems:
    """The systems NIST-style pooling draws from, for one topic (``rng`` is the topic's
    judging stream: this draws from it first, as :func:`judge` does; benchmarks call it to
    rebuild the pooled systems' rankings)."""
    depth = pool_depth(world.shots)
    nm = np.setdiff1d(near, relevant)
    others = rng.integers(0, world.shots, min(world.shots, 3 * depth))
    others = np.setdiff1d(np.setdiff1d(np.unique(others), relevant), nm)
    cand = np.concatenate([relevant, nm, others])
    level = np.concatenate(
        [np.ones(len(relevant)), np.full(len(nm), NEAR_SCORE), np.zeros(len(others))]
    )
    scores = np.stack([q * level + rng.standard_normal(len(cand)) for q in SYSTEM_QUALITY])
    return PooledSystems(cand, scores)


def judge(
    world: World,
    topic_indices: list[int],
    relevant: dict[int, np.ndarray],
    near: dict[int, np.ndarray],
) -> Judgements:
    """Pool, stratify and sample judgements for the given topics.

    ``relevant[t]`` / ``near[t]``: sorted rows of topic ``t``'s relevant shots and of
    (some of) its near misses."""
    depth = pool_depth(world.shots)
    qrels: list[Qrel] = []
    truth: list[tuple[str, str]] = []
    for t in topic_indices:
        topic = world.topics[t]
        tid = qrels_topic(topic.number)
        rng = rng_for(world.seed, S_JUDGE, t)
        rel = relevant.get(t, np.zeros(0, dtype=np.int64))
        systems = pooled_systems(world, rng, rel, near.get(t, np.zeros(0, dtype=np.int64)))
        cand = systems.candidates
        best = np.full(len(cand), np.iinfo(np.int64).max, dtype=np.int64)
        for score in systems.scores:
            top = np.argsort(-score, kind="stable")[:depth]
            best[top] = np.minimum(best[top], np.arange(1, len(top) + 1))
        pooled = np.flatnonzero(best <= depth)
        is_rel = np.isin(cand[pooled], rel)
        ranks = best[pooled]
        ids = world.shot_ids(cand[pooled])
        lower = 0
        for s, (frac, rate) in enumerate(STRATA, start=1):
            upper = max(1, round(frac * depth))
            members = np.flatnonzero((ranks > lower) & (ranks <= upper))
            lower = upper
            if not len(members):
                continue
            r = rate if rate is not None else rng.uniform(*DEEP_RATE)
            k = max(1, round(r * len(members)))
            judged = np.zeros(len(members), dtype=bool)
            judged[rng.permutation(len(members))[:k]] = True
            for m, j in zip(members.tolist(), judged.tolist(), strict=True):
                value = int(is_rel[m]) if j else -1
                qrels.append(Qrel(tid, ids[m], str(s), value))
        truth.extend((tid, sid) for sid in world.shot_ids(rel))
    qrels.sort(key=lambda q: (int(q.topic), q.shot))
    return Judgements(qrels, truth)
