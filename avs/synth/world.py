"""The simulated world: concepts, topics, videos, and which concepts each shot shows.

Everything is derived from one seed. Per-block random streams come from
``SeedSequence([seed, stream, block])`` so any block can be regenerated alone and the
result does not depend on how the driver groups blocks.

Ground truth is by construction: a shot is relevant to a topic when it shows all of
the topic's concepts. Relevant shots are *planted* (runs of shots inside host videos)
so that each topic's count lands in :attr:`World.count_range` at any collection size;
background shots that would match a topic by chance lose one of its concepts (they
become near misses), so the counts stay what was planned.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from avs.errors import AvsError
from avs.io.records import Topic
from avs.synth import vocab
from avs.synth.planting import plan_planting

MAX_CONCEPTS = 6  # slots per shot; unused slots hold the pad concept (index C)
GEN_BLOCK = 8192  # rows per generation block (fixed: part of the determinism contract)
EMBED_DIM = 64  # concept embedding dimension (also the matmul depth: keep it small)
STYLE_DIM = 16  # per-video visual style
V3C_SHOTS = 1_500_000  # the scale at which count_range is "tens to a few thousand"
MEAN_SHOTS_PER_VIDEO = 145
ZIPF_S = 0.8
THEME = 3  # concepts a video keeps returning to

# stream codes for SeedSequence
S_WORLD, S_SHOTS, S_PLANT, S_TRAIN, S_NOISE, S_EXTRACT, S_JUDGE, S_CAPTION = range(8)


def rng_for(seed: int, stream: int, block: int = 0) -> np.random.Generator:
    """The random generator of one (stream, block) pair of a seed."""
    return np.random.default_rng(np.random.SeedSequence([seed, stream, block]))


@dataclass(frozen=True)
class SynthTopic:
    """A real topic and the concepts the simulation gives it."""

    year: str  # "2022", or the topic file's stem when it names no year
    number: int  # AVS number, e.g. 701
    text: str
    concepts: tuple[int, ...]  # concept indices


@dataclass
class ShotBlock:
    """Rows ``start:stop`` of the collection (or of the training videos)."""

    start: int
    concepts: np.ndarray  # (B, MAX_CONCEPTS) int32, pad = n_concepts
    video: np.ndarray  # (B,) int32 video index
    events: np.ndarray  # (B, n_events) bool: dark, shaky, close-up, blur
    style: np.ndarray  # (B, STYLE_DIM) float32 visual style (shared within a video)
    relevant: np.ndarray | None = None  # (k, 2) int64: (row, topic index) pairs
    near: np.ndarray | None = None  # (k, 2) int64 near misses kept for pooling

    @property
    def n(self) -> int:
        """Rows in the block."""
        return len(self.concepts)


EVENTS = ("dark", "shaky", "closeup", "blur")
EVENT_RATES = (0.30, 0.25, 0.25, 0.15)


@dataclass
class World:
    """Concepts, topics, video layout and planting plan of one simulated collection."""

    seed: int
    shots: int
    difficulty: float
    concepts: list[str]
    kinds: np.ndarray  # (C,) int8 index into vocab.KINDS
    popularity: np.ndarray  # (C,) float64 background weights (Zipf-like)
    embeddings: np.ndarray  # (C + 1, EMBED_DIM) float32, last row = pad = 0
    topics: list[SynthTopic]
    video_starts: np.ndarray  # (V + 1,) int64 first row of each video
    video_scene: np.ndarray  # (V,) int32 main scene concept
    video_theme: np.ndarray  # (V, THEME) int32
    video_style: np.ndarray  # (V, STYLE_DIM) float32
    count_range: tuple[int, int]
    targets: np.ndarray  # (T,) planned relevant shots per topic
    plant_rows: np.ndarray  # (P,) int64 sorted rows of planted shots
    plant_topic: np.ndarray  # (P,) int32 topic index
    plant_drop: np.ndarray  # (P,) int32 -1 = relevant, else the concept a near miss lacks
    incidence: np.ndarray = field(repr=False, default=None)  # (C + 1, T) uint8
    topic_size: np.ndarray = field(repr=False, default=None)  # (T,) int

    @property
    def n_concepts(self) -> int:
        return len(self.concepts)

    @property
    def n_videos(self) -> int:
        return len(self.video_starts) - 1

    def kind_ids(self, kind: str) -> np.ndarray:
        """Indices of the concepts of one kind."""
        return np.flatnonzero(self.kinds == vocab.KINDS.index(kind))

    def shot_ids(self, rows: np.ndarray | None = None) -> list[str]:
        """V3C-style ids ``shot<video:05d>_<n>`` of the given rows (default: all)."""
        rows = np.arange(self.shots) if rows is None else np.asarray(rows, dtype=np.int64)
        vid = np.searchsorted(self.video_starts, rows, side="right") - 1
        num = rows - self.video_starts[vid] + 1
        return [f"shot{v + 1:05d}_{n}" for v, n in zip(vid.tolist(), num.tolist(), strict=True)]

    def iter_shot_ids(self) -> Iterator[str]:
        """All shot ids in row order, generated lazily (no list of N strings)."""
        for v, length in enumerate(np.diff(self.video_starts).tolist(), start=1):
            head = f"shot{v:05d}_"
            for n in range(1, length + 1):
                yield head + str(n)


class ShotIds(Sequence[str]):
    """The shot ids of a world as a lazy sequence (iteration is the fast path)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def __len__(self) -> int:
        return self.world.shots

    def __getitem__(self, i):  # noqa: ANN001, ANN204 - Sequence protocol
        if isinstance(i, slice):
            return self.world.shot_ids(np.arange(self.world.shots)[i])
        if not -self.world.shots <= i < self.world.shots:
            raise IndexError(i)
        return self.world.shot_ids([i % self.world.shots])[0]

    def __iter__(self) -> Iterator[str]:
        return self.world.iter_shot_ids()


def count_range(shots: int) -> tuple[int, int]:
    """Relevant shots per topic: tens to a few thousand at V3C scale, scaled down
    (but never below a handful) for smaller collections."""
    scale = shots / V3C_SHOTS
    lo = max(3, round(25 * scale))
    hi = max(10 * lo, round(3000 * scale))
    return lo, min(hi, max(lo + 1, shots // 20))


def build_world(
    topic_sets: dict[str, list[Topic]], shots: int, seed: int, difficulty: float = 1.0
) -> World:
    """Build the world for ``shots`` collection shots and the topics of each year."""
    if shots < 200:
        raise AvsError(f"--shots must be at least 200, got {shots}")
    if not topic_sets or not any(topic_sets.values()):
        raise AvsError("no topics given: pass at least one --topics file")
    rng = rng_for(seed, S_WORLD)

    # Concepts: topic concepts first (most frequent first: they are the popular ones),
    # then the generic vocabulary.
    per_topic = [
        (year, t, vocab.topic_concepts(t.text)) for year, ts in topic_sets.items() for t in ts
    ]
    freq: dict[str, int] = {}
    for _, _, cs in per_topic:
        for c in cs:
            freq[c] = freq.get(c, 0) + 1
    names = sorted(freq, key=lambda c: (-freq[c], c))
    kinds = {c: vocab.kind_of(c) for c in names}
    for kind, words in vocab.GENERIC.items():
        for w in words:
            if w not in kinds:
                names.append(w)
                kinds[w] = kind
    index = {c: i for i, c in enumerate(names)}
    kind_arr = np.array([vocab.KINDS.index(kinds[c]) for c in names], dtype=np.int8)
    C = len(names)
    # Zipf over a lightly shuffled frequency order: popular topic words stay popular.
    order = np.argsort(np.arange(C) + rng.normal(0, C / 10, C), kind="stable")
    rank = np.empty(C, dtype=np.int64)
    rank[order] = np.arange(C)
    popularity = 1.0 / (rank + 1.0) ** ZIPF_S

    emb = rng.standard_normal((C + 1, EMBED_DIM)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    emb[C] = 0.0

    topics: list[SynthTopic] = []
    for year, t, cs in per_topic:
        if not cs:
            raise AvsError(f"topic {t.number} ({t.text!r}) has no content words to simulate")
        topics.append(SynthTopic(year, t.number, t.text, tuple(index[c] for c in cs)))
    T = len(topics)
    incidence = np.zeros((C + 1, T), dtype=np.uint8)
    for j, t in enumerate(topics):
        incidence[list(t.concepts), j] = 1
    topic_size = incidence.sum(0).astype(np.int64)

    # Videos: lognormal lengths around 145 shots, the last one cut to fit.
    lengths = rng.lognormal(np.log(MEAN_SHOTS_PER_VIDEO) - 0.18, 0.6, shots // 20 + 10)
    lengths = np.clip(lengths.astype(np.int64), 5, 1000)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    V = int(np.searchsorted(starts, shots, side="left"))
    starts = starts[: V + 1].copy()
    starts[V] = shots
    scenes = np.flatnonzero(kind_arr == vocab.KINDS.index("scene"))
    others = np.flatnonzero(kind_arr != vocab.KINDS.index("scene"))
    video_scene = rng.choice(scenes, V, p=_norm(popularity[scenes])).astype(np.int32)
    video_theme = rng.choice(others, (V, THEME), p=_norm(popularity[others])).astype(np.int32)
    video_style = rng.standard_normal((V, STYLE_DIM)).astype(np.float32)

    lo, hi = count_range(shots)
    world = World(
        seed=seed,
        shots=shots,
        difficulty=difficulty,
        concepts=names,
        kinds=kind_arr,
        popularity=popularity,
        embeddings=emb,
        topics=topics,
        video_starts=starts,
        video_scene=video_scene,
        video_theme=video_theme,
        video_style=video_style,
        count_range=(lo, hi),
        targets=np.zeros(T, dtype=np.int64),
        plant_rows=np.zeros(0, dtype=np.int64),
        plant_topic=np.zeros(0, dtype=np.int32),
        plant_drop=np.zeros(0, dtype=np.int32),
        incidence=incidence,
        topic_size=topic_size,
    )
    plan_planting(world, rng_for(seed, S_PLANT))
    return world


def _norm(w: np.ndarray) -> np.ndarray:
    return w / w.sum()


def _fill(
    world: World, rng: np.random.Generator, video: np.ndarray, with_theme: float = 0.5
) -> np.ndarray:
    """Background concepts: a scene (mostly the video's own) plus 1-5 others drawn from
    the video's theme or the Zipf popularity. Returns (B, MAX_CONCEPTS) int32."""
    B, C = len(video), world.n_concepts
    scene_ids = world.kind_ids("scene")
    other_ids = np.flatnonzero(world.kinds != vocab.KINDS.index("scene"))
    n = rng.integers(2, MAX_CONCEPTS + 1, B)
    out = np.full((B, MAX_CONCEPTS), C, dtype=np.int32)
    own = rng.random(B) < 0.8
    out[:, 0] = np.where(
        own,
        world.video_scene[video],
        rng.choice(scene_ids, B, p=_norm(world.popularity[scene_ids])),
    )
    draws = rng.choice(other_ids, (B, MAX_CONCEPTS - 1), p=_norm(world.popularity[other_ids]))
    theme = world.video_theme[video][np.arange(B)[:, None], rng.integers(0, THEME, (B, 5))]
    rest = np.where(rng.random((B, MAX_CONCEPTS - 1)) < with_theme, theme, draws)
    slots = np.arange(1, MAX_CONCEPTS)[None, :]
    out[:, 1:] = np.where(slots < n[:, None], rest, C)
    return _dedup(out, C)


def _dedup(rows: np.ndarray, pad: int) -> np.ndarray:
    """Replace repeated concepts within a row by the pad (rows stay sorted)."""
    rows = np.sort(rows, axis=1)
    dup = np.zeros_like(rows, dtype=bool)
    dup[:, 1:] = rows[:, 1:] == rows[:, :-1]
    rows[dup] = pad
    return np.sort(rows, axis=1)


def match_counts(world: World, concepts: np.ndarray) -> np.ndarray:
    """(B, T) number of each topic's concepts that each row shows."""
    counts = np.zeros((len(concepts), len(world.topics)), dtype=np.uint8)
    for j in range(concepts.shape[1]):
        counts += world.incidence[concepts[:, j]]
    return counts


def shot_block(world: World, block: int, keep_near: int = 0) -> ShotBlock:
    """Generate generation block ``block`` (rows ``block*GEN_BLOCK`` onwards).

    ``keep_near``: keep at most this many near misses per topic (shots showing all
    but one of its concepts) for pooling."""
    rng = rng_for(world.seed, S_SHOTS, block)
    start = block * GEN_BLOCK
    stop = min(world.shots, start + GEN_BLOCK)
    rows = np.arange(start, stop)
    video = (np.searchsorted(world.video_starts, rows, side="right") - 1).astype(np.int32)
    concepts = _fill(world, rng, video)
    C = world.n_concepts

    # planted rows of this block
    lo_i, hi_i = np.searchsorted(world.plant_rows, [start, stop])
    planted_for = np.full(len(rows), -1, dtype=np.int64)
    for k in range(lo_i, hi_i):
        i = int(world.plant_rows[k] - start)
        t = world.topics[world.plant_topic[k]]
        drop = int(world.plant_drop[k])
        mine = [c for c in t.concepts if c != drop]
        keep = [c for c in concepts[i] if c != C and c not in t.concepts]
        extra = int(rng.integers(0, 3))
        row = (mine + keep[:extra])[:MAX_CONCEPTS]
        concepts[i] = C
        concepts[i, : len(row)] = row
        if drop < 0:
            planted_for[i] = world.plant_topic[k]
    concepts = np.sort(concepts, axis=1)

    # Reject chance matches: a row may match only the topic it was planted for (and
    # topics whose concepts are a subset of that one's, which it cannot avoid). Only
    # rows that still had a bad match can have one in the next round: the others are
    # not checked again.
    counts = match_counts(world, concepts)
    check = np.arange(len(rows))
    for _ in range(8):
        bad_r, bad_t = np.nonzero(counts[check] == world.topic_size[None, :])
        bad_r = check[bad_r]
        ok = planted_for[bad_r] == bad_t
        bad_r, bad_t = bad_r[~ok], bad_t[~ok]
        if not len(bad_r):
            break
        done_rows: set[int] = set()
        for r, tj in zip(bad_r.tolist(), bad_t.tolist(), strict=True):
            if r in done_rows:
                continue
            own = world.topics[planted_for[r]].concepts if planted_for[r] >= 0 else ()
            removable = [c for c in world.topics[tj].concepts if c not in own]
            if not removable:
                continue  # subset of the planted topic: honestly relevant
            c = removable[int(rng.integers(len(removable)))]
            concepts[r][concepts[r] == c] = C
            done_rows.add(r)
        if done_rows:
            touched = np.fromiter(sorted(done_rows), dtype=np.int64, count=len(done_rows))
            concepts[touched] = np.sort(concepts[touched], axis=1)
            counts[touched] = match_counts(world, concepts[touched])
        check = np.unique(bad_r)

    match = counts == world.topic_size[None, :]
    rr, tt = np.nonzero(match)
    relevant = np.stack([rr + start, tt], axis=1).astype(np.int64)
    near = None
    if keep_near:
        nr, nt = np.nonzero((counts == world.topic_size[None, :] - 1) & (world.topic_size > 1))
        perm = rng.permutation(len(nr))
        nr, nt = nr[perm], nt[perm]
        order = np.argsort(nt, kind="stable")
        nr, nt = nr[order], nt[order]
        first = np.searchsorted(nt, nt, side="left")
        keep = (np.arange(len(nt)) - first) < keep_near
        near = np.stack([nr[keep] + start, nt[keep]], axis=1).astype(np.int64)
    events = rng.random((len(rows), len(EVENTS))) < np.minimum(
        0.6, np.array(EVENT_RATES) * world.difficulty
    )
    style = world.video_style[video]
    return ShotBlock(start, concepts, video, events, style, relevant, near)


def n_blocks(rows: int) -> int:
    """Number of generation blocks covering ``rows`` rows."""
    return (rows + GEN_BLOCK - 1) // GEN_BLOCK


def train_block(world: World, block: int, videos: int) -> ShotBlock:
    """Generation block ``block`` of the training videos (one row per video).

    Training content is flatter than the search collection's (square-root popularity)
    and a third of the videos show a random subset of some topic's concepts, so that
    every topic word is seen in training, mostly in combinations."""
    rng = rng_for(world.seed, S_TRAIN, block)
    start = block * GEN_BLOCK
    stop = min(videos, start + GEN_BLOCK)
    B, C = stop - start, world.n_concepts
    pop = np.sqrt(world.popularity)
    n = rng.integers(2, MAX_CONCEPTS + 1, B)
    concepts = rng.choice(C, (B, MAX_CONCEPTS), p=_norm(pop)).astype(np.int32)
    concepts[np.arange(MAX_CONCEPTS)[None, :] >= n[:, None]] = C
    topical = np.flatnonzero(rng.random(B) < 0.35)
    picks = rng.integers(0, len(world.topics), len(topical))
    for i, tj in zip(topical.tolist(), picks.tolist(), strict=True):
        tc = list(world.topics[tj].concepts)
        k = int(rng.integers(1, len(tc) + 1))
        chosen = [tc[x] for x in rng.permutation(len(tc))[:k]]
        concepts[i, : len(chosen)] = chosen
    concepts = _dedup(concepts, C)
    video = np.arange(start, stop, dtype=np.int32)  # each training video its own style
    events = rng.random((B, len(EVENTS))) < np.minimum(
        0.6, np.array(EVENT_RATES) * world.difficulty
    )
    style = rng.standard_normal((B, STYLE_DIM)).astype(np.float32)
    return ShotBlock(start, concepts, video, events, style)
