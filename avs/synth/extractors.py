"""Simulated video feature extractors.

Each extractor is a fixed random nonlinear map of the concepts it detects
(docs/simulation.md):

    feature = tanh(gain * W * sum(embeddings of detected concepts)
                   + video style + shift * failed + sigma * noise)

It detects each concept with a probability that depends on the concept's kind
(a CLIP-like extractor sees objects and scenes, a motion one actions, ...). A
degradation event of the shot (dark, shaky, close-up, blur) makes the extractor that
suffers from it fail *confidently and visibly*: it misses most true concepts, reports
1-2 wrong concepts of its own kind and adds a fixed signature shift. Weak extractors
see everything badly through heavy noise. One extractor ("attr") is the only one that
sees attributes (colours, counts) well: new information for fusion to use.

The motion extractor also has frame-level features: each action is visible in a
contiguous span of the shot's 8 frames only, and the shot feature is the mean of the
frame features.

Speed (a V3C-size collection must stream at disk speed): the linear part is one
small matmul from an 81-d input (concept sum, style, failure flag) to D, done in
cache-sized row chunks; the noise is the sum of two wrapped slices of precomputed
uniform-noise banks at random offsets (drawing fresh normals would cost more than
everything else together); the float16 cast uses torch when it is installed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from avs.synth import vocab
from avs.synth.world import (
    EMBED_DIM,
    EVENTS,
    GEN_BLOCK,
    S_EXTRACT,
    S_NOISE,
    STYLE_DIM,
    ShotBlock,
    World,
    rng_for,
)

FRAMES = 8


@dataclass(frozen=True)
class ExtractorSpec:
    """One simulated extractor."""

    name: str
    dim: int
    see: dict[str, float]  # kind -> detection probability
    gain: float = 1.0
    sigma: float = 1.0  # noise standard deviation
    style: float = 0.6  # strength of the per-video style
    event: str | None = None  # degradation event that breaks it (world.EVENTS)
    shift: float = 0.75  # size of its visible failure signature
    frames: int = 0  # frame-level features per shot (0: none)


# Dimensions are kept modest so that a V3C-size collection (1.5M shots) streams at
# disk speed: 3,264 float16 values = 6.5 KB per shot, about 10 GB in all.
DEFAULT_EXTRACTORS: tuple[ExtractorSpec, ...] = (
    ExtractorSpec(
        "clip",
        512,
        {"object": 0.85, "scene": 0.8, "attribute": 0.35, "action": 0.2},
        event="dark",
    ),
    ExtractorSpec(
        "motion",
        128,
        {"action": 0.85, "object": 0.25},
        event="shaky",
        frames=FRAMES,
    ),
    ExtractorSpec("scene", 256, {"scene": 0.9, "object": 0.2, "attribute": 0.1}, event="closeup"),
    ExtractorSpec(
        "attr", 384, {"attribute": 0.85, "object": 0.35, "action": 0.1}, gain=0.8, event="blur"
    ),
    ExtractorSpec(
        "weak",
        768,
        dict.fromkeys(vocab.KINDS, 0.5),
        gain=0.3,
        sigma=1.5,
    ),
    ExtractorSpec(
        "noisy",
        192,
        dict.fromkeys(vocab.KINDS, 0.4),
        gain=0.3,
        sigma=1.5,
    ),
)


class Extractor:
    """A spec made concrete for one world: weights, detection table, noise banks."""

    def __init__(self, spec: ExtractorSpec, world: World, index: int, bank_rows: int) -> None:
        self.spec = spec
        self.world = world
        self.index = index
        rng = rng_for(world.seed, S_NOISE, index)
        d = world.difficulty
        # detection probability per concept (pad concept last: never detected)
        see = np.array([spec.see.get(k, 0.0) for k in vocab.KINDS]) ** d
        self.detect = np.append(see[world.kinds], 0.0).astype(np.float32)
        wrong_kind = {"dark": "object", "shaky": "action", "closeup": "scene", "blur": "attribute"}
        self.wrong = world.kind_ids(wrong_kind[spec.event]) if spec.event else np.zeros(0, int)
        self.event = EVENTS.index(spec.event) if spec.event else -1
        D = spec.dim
        # input = [concept sum (EMBED_DIM), style (STYLE_DIM), failure flag (1)]
        w = np.empty((EMBED_DIM + STYLE_DIM + 1, D), dtype=np.float32)
        # unit-norm concept embeddings -> each detected concept adds N(0, gain^2) per dim
        w[:EMBED_DIM] = rng.standard_normal((EMBED_DIM, D)) * spec.gain
        w[EMBED_DIM:-1] = rng.standard_normal((STYLE_DIM, D)) * (spec.style / np.sqrt(STYLE_DIM))
        w[-1] = rng.standard_normal(D) * spec.shift
        self.weights = w
        # Noise banks: uniform noise of the same variance (4x cheaper to draw than
        # normals; the sum of two banks is already bell-shaped). Sizes differ, so the
        # pairing of rows changes from block to block.
        half_width = np.sqrt(3.0) * spec.sigma * d / np.sqrt(2.0)
        rows = bank_rows * max(1, spec.frames)
        self.banks = []
        for size in (rows, rows // 2 + 13):
            bank = rng.random((size, D), dtype=np.float32)
            bank -= 0.5
            bank *= 2 * half_width
            self.banks.append(bank)

    def detections(self, block: ShotBlock, rng: np.random.Generator) -> np.ndarray:
        """(B, slots) float32: 1 where this extractor detects the concept in the slot."""
        failed = self.failed(block)
        p = self.detect[block.concepts] * np.where(failed, 0.3, 1.0)[:, None]
        return (rng.random(block.concepts.shape, dtype=np.float32) < p).astype(np.float32)

    def failed(self, block: ShotBlock) -> np.ndarray:
        """(B,) bool: shots whose degradation event breaks this extractor."""
        if self.event < 0:
            return np.zeros(block.n, dtype=bool)
        return block.events[:, self.event]

    def compute(
        self, block: ShotBlock, rng: np.random.Generator, concept_sum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Features from the summed embeddings of the detected concepts
        (``concept_sum``: (B, F, EMBED_DIM), F = frames or 1).

        Returns (shot features (B, D) float16, frame features (B*F, D) float16 or None)."""
        spec = self.spec
        B, D = block.n, spec.dim
        F = max(1, spec.frames)
        failed = self.failed(block)
        concepts = concept_sum.reshape(B, F, EMBED_DIM)  # ours to modify
        if len(self.wrong):
            # a failing extractor reports 1-2 wrong concepts of its own kind
            fr = np.flatnonzero(failed)
            emb = self.world.embeddings
            w1 = self.wrong[rng.integers(0, len(self.wrong), len(fr))]
            w2 = self.wrong[rng.integers(0, len(self.wrong), len(fr))]
            two = (rng.random(len(fr)) < 0.5).astype(np.float32)
            concepts[fr] += (emb[w1] + two[:, None] * emb[w2])[:, None, :]
        concepts = concepts.reshape(B * F, EMBED_DIM)
        # the per-shot part (style, failure signature) is the same in every frame
        shot_in = np.empty((B, STYLE_DIM + 1), dtype=np.float32)
        shot_in[:, :-1] = block.style
        shot_in[:, -1] = failed
        if F == 1:  # one matmul does all
            inputs, weights, bias = np.hstack([concepts, shot_in]), self.weights, None
        else:  # frames: add the per-shot part after the matmul, once per shot
            inputs, weights = concepts, self.weights[:EMBED_DIM]
            bias = shot_in @ self.weights[EMBED_DIM:]  # (B, D)
        offsets = [int(rng.integers(0, len(bank))) for bank in self.banks]
        frames = np.empty((B * F, D), dtype=np.float16)
        shot = np.empty((B, D), dtype=np.float16) if spec.frames else frames
        # Row chunks small enough to stay in cache: the passes below are memory-bound.
        step = max(F, (CHUNK_VALUES // D) // F * F)
        pre = np.empty((step, D), dtype=np.float32)
        for r0 in range(0, B * F, step):
            r1 = min(B * F, r0 + step)
            p = pre[: r1 - r0]
            np.matmul(inputs[r0:r1], weights, out=p)
            if bias is not None:
                p.reshape(-1, F, D)[...] += bias[r0 // F : r1 // F, None, :]
            for bank, off in zip(self.banks, offsets, strict=True):
                _add_wrapped(p, bank, (off + r0) % len(bank))
            np.tanh(p, out=p)
            cast_into(frames[r0:r1], p)
            if spec.frames:
                cast_into(shot[r0 // F : r1 // F], p.reshape(-1, F, D).mean(axis=1))
        return shot, (frames if spec.frames else None)


CHUNK_VALUES = 1 << 20  # float32 values per chunk (4 MiB)


def cast_into(out: np.ndarray, values: np.ndarray, fast: bool = True) -> None:
    """``out[...] = values`` from float32 to float16, round to nearest even: the bits
    are the same either way.

    numpy's cast runs at ~0.2-0.3 G values/s here, about half of all the synthesis
    work; torch's vectorised one is ~10x faster, so it is used when torch is installed
    (avs depends on it, but synth does not require it). ``fast=False``: numpy only."""
    torch = _torch() if fast else None
    if torch is not None and out.flags.c_contiguous:
        torch.from_numpy(out).copy_(torch.from_numpy(np.ascontiguousarray(values)))
    else:
        np.copyto(out, values, casting="same_kind")


_TORCH: list = []


def _torch():  # noqa: ANN202 - returns the torch module or None
    if not _TORCH:
        try:
            import torch
        except ImportError:
            torch = None
        _TORCH.append(torch)
    return _TORCH[0]


@contextlib.contextmanager
def single_threaded_libraries() -> Iterator[None]:
    """One thread each for BLAS and torch while synthesising, restored afterwards: our
    own threads already use the cores, and library threads spinning on a shared
    2-core machine cost several times the CPU of the work itself."""
    torch = _torch()
    before = torch.get_num_threads() if torch is not None else 0
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional; `avs synth` also sets OPENBLAS_NUM_THREADS
        limits = contextlib.nullcontext()
    else:
        limits = threadpool_limits(limits=1, user_api="blas")
    try:
        if torch is not None:
            torch.set_num_threads(1)
        with limits:
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def _add_wrapped(out: np.ndarray, bank: np.ndarray, offset: int) -> None:
    """``out += bank[offset:]`` continued from the start of ``bank`` as often as needed."""
    pos, n = 0, len(out)
    while pos < n:
        take = min(n - pos, len(bank) - offset)
        out[pos : pos + take] += bank[offset : offset + take]
        pos += take
        offset = 0


class ExtractorSet:
    """All extractors of a world; computes every feature of a block."""

    def __init__(
        self,
        world: World,
        specs: tuple[ExtractorSpec, ...] = DEFAULT_EXTRACTORS,
        block_rows: int = GEN_BLOCK,
        threads: int = 2,
    ) -> None:
        self.world = world
        self.specs = specs
        self.extractors = [Extractor(s, world, i, block_rows) for i, s in enumerate(specs)]
        self._pool = ThreadPoolExecutor(max_workers=threads)

    @property
    def dims(self) -> dict[str, int]:
        """Extractor name -> feature dimension."""
        return {s.name: s.dim for s in self.specs}

    @property
    def frames_per_shot(self) -> dict[str, int]:
        """Frame-level extractors: name -> frames per shot."""
        return {s.name: s.frames for s in self.specs if s.frames}

    @property
    def frame_dims(self) -> dict[str, int]:
        """Frame-level extractors: name -> dimension of a frame feature."""
        return {s.name: s.dim for s in self.specs if s.frames}

    def visibility(self, block: ShotBlock, rng: np.random.Generator) -> np.ndarray:
        """(B, slots, FRAMES) float32: 1 where a concept is visible in a frame. Actions
        are visible in a random contiguous span of 2-8 frames, everything else always."""
        B, S = block.concepts.shape
        length = rng.integers(2, FRAMES + 1, (B, S))
        first = (rng.random((B, S)) * (FRAMES - length + 1)).astype(np.int64)
        f = np.arange(FRAMES)[None, None, :]
        span = (f >= first[..., None]) & (f < (first + length)[..., None])
        kinds = np.append(self.world.kinds, -1)[block.concepts]
        action = (kinds == vocab.KINDS.index("action"))[..., None]
        return np.where(action, span, True).astype(np.float32)

    def compute(
        self, block: ShotBlock, stream: int, block_index: int
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Features of one block: ({name: (B, D) float16}, {name: (B*F, D) float16})."""
        rng = rng_for(self.world.seed, S_EXTRACT * 1000 + stream, block_index)
        visible = self.visibility(block, rng)
        subs = [np.random.default_rng(s) for s in rng.integers(2**63, size=len(self.extractors))]
        emb = self.world.embeddings[block.concepts]  # (B, slots, EMBED)
        sums = []
        for ex, sub in zip(self.extractors, subs, strict=True):
            det = ex.detections(block, sub)  # (B, slots)
            if ex.spec.frames:
                w = np.ascontiguousarray((det[:, :, None] * visible).transpose(0, 2, 1))
            else:
                w = det[:, None, :]
            sums.append(np.matmul(w, emb))  # (B, F, EMBED)
        # numpy releases the GIL in matmul, tanh and casts: two threads use both cores
        results = list(
            self._pool.map(
                lambda args: args[0].compute(block, args[1], args[2]),
                zip(self.extractors, subs, sums, strict=True),
            )
        )
        feats: dict[str, np.ndarray] = {}
        frames: dict[str, np.ndarray] = {}
        for ex, (shot, fr) in zip(self.extractors, results, strict=True):
            feats[ex.spec.name] = shot
            if fr is not None:
                frames[ex.spec.name] = fr
        return feats, frames

    def close(self) -> None:
        """Stop the worker threads."""
        self._pool.shutdown()
