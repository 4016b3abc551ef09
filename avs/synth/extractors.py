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

Speed (a V3C-size collection must stream at disk speed; synth needs torch): the
input row of a shot (concept sum, style, failure flag) is one weighted
``embedding_bag`` over a per-block table, the linear part one small bfloat16 matmul
(AMX / AVX512-BF16 where the CPU has them) to D, then noise, tanh and the float16
cast, all in cache-sized row chunks with torch ops (which release the GIL: the
collection writer computes whole blocks in parallel threads). The noise is the sum of
two slices of precomputed uniform-noise banks at random offsets (drawing fresh
normals would cost more than everything else together); the first is added by the
matmul in bfloat16, the second in float32, which dithers the bfloat16 rounding away.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from avs.errors import AvsError
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
        torch = _require_torch()
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
        # input = [concept sum (EMBED_DIM), style (STYLE_DIM), failure flag (1), zero pad]
        w = np.zeros((INPUT_DIM, D), dtype=np.float32)
        # unit-norm concept embeddings -> each detected concept adds N(0, gain^2) per dim
        w[:EMBED_DIM] = rng.standard_normal((EMBED_DIM, D)) * spec.gain
        w[EMBED_DIM:FLAG] = rng.standard_normal((STYLE_DIM, D)) * (spec.style / np.sqrt(STYLE_DIM))
        w[FLAG] = rng.standard_normal(D) * spec.shift
        self.weights = w
        # bfloat16 operands, float32 accumulation: the rounding (~0.4 % of the linear
        # part) is far below the noise, and the matmul runs several times faster
        # (AMX / AVX512-BF16 where the CPU has them).
        self._weights = torch.from_numpy(w).to(torch.bfloat16)
        # Noise banks: uniform noise of the same variance (4x cheaper to draw than
        # normals; the sum of two banks is already bell-shaped). Sizes differ, so the
        # pairing of rows changes from block to block. The first bank is added by the
        # matmul itself in bfloat16 (half the memory traffic); the second one is added
        # in float32 afterwards, so the bfloat16 rounding is dithered away and the
        # features stay continuous.
        half_width = np.sqrt(3.0) * spec.sigma * d / np.sqrt(2.0)
        rows = bank_rows * max(1, spec.frames)
        self.step = chunk_rows(spec)
        self._local = threading.local()
        self.banks = []  # (bank, its length before the wrap-around copy)
        for size, dtype in ((rows, torch.bfloat16), (rows // 2 + 13, torch.float32)):
            bank = rng.random((size, D), dtype=np.float32)
            bank -= 0.5
            bank *= 2 * half_width
            # followed by its own first rows, so that the rows of any chunk starting
            # anywhere in the bank are one contiguous slice (one fixed-shape matmul)
            bank = np.resize(bank, (size + self.step, D))
            self.banks.append((torch.from_numpy(bank).to(dtype), size))

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

    def bags(
        self, block: ShotBlock, rng: np.random.Generator, det: np.ndarray, base: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """What goes into each shot's input row: (indices, weights), both (B, slots + 4),
        into the block's input table (:meth:`ExtractorSet.table`). ``det``: detections
        (B, slots); ``base``: the block's shared indices (concepts, style row, flag
        row). A failing extractor reports 1-2 wrong concepts of its own kind and
        raises its failure flag."""
        B, S = det.shape
        failed = self.failed(block)
        idx = base.copy()
        weights = np.zeros((B, S + 4), dtype=np.float32)
        weights[:, :S] = det
        weights[:, S + 2] = 1.0  # style
        weights[:, S + 3] = failed  # failure signature
        if len(self.wrong):
            fr = np.flatnonzero(failed)
            idx[fr, S] = self.wrong[rng.integers(0, len(self.wrong), len(fr))]
            idx[fr, S + 1] = self.wrong[rng.integers(0, len(self.wrong), len(fr))]
            weights[fr, S] = 1.0
            weights[fr, S + 1] = rng.random(len(fr)) < 0.5
        return idx, weights

    def compute(
        self,
        block: ShotBlock,
        rng: np.random.Generator,
        x,  # noqa: ANN001 - a torch tensor
        out: tuple[np.ndarray, np.ndarray | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Features from the matmul input ``x`` (B*F, INPUT_DIM) bfloat16, F = frames or 1.

        Returns (shot features (B, D) float16, frame features (B*F, D) float16 or None),
        written into ``out`` (arrays of at least that many rows) when given."""
        torch = _require_torch()
        spec = self.spec
        B, D = block.n, spec.dim
        F = max(1, spec.frames)
        offsets = [int(rng.integers(0, size)) for _, size in self.banks]
        out = out or new_output(spec, B)
        shot, frames = out[0][:B], (out[1][: B * F] if spec.frames else out[0][:B])
        frames_t, shot_t = torch.from_numpy(frames), torch.from_numpy(shot)
        # Row chunks small enough to stay in cache: the passes below are memory-bound.
        step = self.step
        lin, pre, mean = self._scratch()
        (bank1, size1), (bank2, size2) = self.banks
        for r0 in range(0, B * F, step):
            r1 = min(B * F, r0 + step)
            n = r1 - r0
            p = pre[:n]
            o1, o2 = (offsets[0] + r0) % size1, (offsets[1] + r0) % size2
            torch.addmm(bank1[o1 : o1 + n], x[r0:r1], self._weights, out=lin[:n])
            p.copy_(lin[:n])
            p.add_(bank2[o2 : o2 + n])
            p.tanh_()
            frames_t[r0:r1].copy_(p)
            if spec.frames:
                m = mean[: n // F]
                torch.mean(p.view(-1, F, D), dim=1, out=m)
                shot_t[r0 // F : r1 // F].copy_(m)
        return shot, (frames if spec.frames else None)

    def _scratch(self) -> tuple:
        """This thread's chunk buffers (bfloat16 matmul output, float32 values, frame
        means), reused from call to call."""
        torch = _require_torch()
        bufs = getattr(self._local, "bufs", None)
        if bufs is None:
            D, F = self.spec.dim, max(1, self.spec.frames)
            bufs = self._local.bufs = (
                torch.empty((self.step, D), dtype=torch.bfloat16),
                torch.empty((self.step, D), dtype=torch.float32),
                torch.empty((self.step // F, D), dtype=torch.float32),
            )
        return bufs


def new_output(spec: ExtractorSpec, rows: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Float16 buffers for ``rows`` shots of one extractor: (shot features, frame
    features or None)."""
    shot = np.empty((rows, spec.dim), dtype=np.float16)
    frames = np.empty((rows * spec.frames, spec.dim), dtype=np.float16) if spec.frames else None
    return shot, frames


INPUT_DIM = 96  # EMBED_DIM + STYLE_DIM + 1 flag, zero-padded: a multiple of 32 is fastest
FLAG = EMBED_DIM + STYLE_DIM  # column of the failure flag
CHUNK_VALUES = 1 << 19  # float32 values per chunk (2 MiB: about one L2 cache)


def chunk_rows(spec: ExtractorSpec) -> int:
    """Rows per chunk of an extractor's computation (whole shots of frames)."""
    F = max(1, spec.frames)
    return max(F, (CHUNK_VALUES // spec.dim) // F * F)


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


def _require_torch():  # noqa: ANN202 - returns the torch module
    torch = _torch()
    if torch is None:
        raise AvsError("avs synth needs torch (pip install torch)")
    return torch


class ExtractorSet:
    """All extractors of a world; computes every feature of a block."""

    def __init__(
        self,
        world: World,
        specs: tuple[ExtractorSpec, ...] = DEFAULT_EXTRACTORS,
        block_rows: int = GEN_BLOCK,
    ) -> None:
        self.world = world
        self.specs = specs
        self.extractors = [Extractor(s, world, i, block_rows) for i, s in enumerate(specs)]
        torch = _require_torch()
        rows = np.zeros((world.n_concepts + 1, INPUT_DIM), dtype=np.float32)
        rows[:, :EMBED_DIM] = world.embeddings  # the pad concept's row is zero
        self._concept_rows = torch.from_numpy(rows).to(torch.bfloat16)
        self._action = np.append(world.kinds == vocab.KINDS.index("action"), False)

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
        """(B, FRAMES, slots) bool: True where a concept is visible in a frame. Actions
        are visible in a random contiguous span of 2-8 frames, everything else always."""
        B, S = block.concepts.shape
        length = rng.integers(2, FRAMES + 1, (B, S), dtype=np.uint8)
        first = (rng.random((B, S), dtype=np.float32) * (FRAMES + 1 - length)).astype(np.uint8)
        f = np.arange(FRAMES, dtype=np.uint8)[None, :, None]
        visible = (f - first[:, None, :]) < length[:, None, :]  # wraps below `first`
        visible |= ~self._action[block.concepts][:, None, :]
        return visible

    def table(self, block: ShotBlock) -> tuple:
        """The block's input table (C + 1 + B + 1, INPUT_DIM) bfloat16 and the shared
        bag indices (B, slots + 4): concept embeddings (pad concept = zero row, also the
        unused wrong-concept slots), then one row per shot holding its style, then the
        failure flag row. The matmul input of a shot is a weighted sum of table rows."""
        torch = _require_torch()
        B, S = block.concepts.shape
        C1 = len(self._concept_rows)
        table = torch.zeros((C1 + B + 1, INPUT_DIM), dtype=torch.bfloat16)
        table[:C1] = self._concept_rows
        table[C1 : C1 + B, EMBED_DIM:FLAG] = torch.from_numpy(block.style)
        table[C1 + B, FLAG] = 1.0
        base = np.empty((B, S + 4), dtype=np.int32)
        base[:, :S] = block.concepts
        base[:, S : S + 2] = C1 - 1  # the pad concept: wrong concepts of failing extractors
        base[:, S + 2] = np.arange(C1, C1 + B)
        base[:, S + 3] = C1 + B
        return table, base

    def compute(
        self,
        block: ShotBlock,
        stream: int,
        block_index: int,
        out: dict[str, tuple[np.ndarray, np.ndarray | None]] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Features of one block: ({name: (B, D) float16}, {name: (B*F, D) float16}), in
        the calling thread (the collection writer computes whole blocks in parallel).

        ``out``: buffers to write into (:meth:`new_output`); the arrays returned are
        views of them."""
        torch = _require_torch()
        bag = torch.nn.functional.embedding_bag
        rng = rng_for(self.world.seed, S_EXTRACT * 1000 + stream, block_index)
        visible = self.visibility(block, rng)
        subs = [np.random.default_rng(s) for s in rng.integers(2**63, size=len(self.extractors))]
        table, base = self.table(block)
        B, S = block.concepts.shape
        inputs = []
        for ex, sub in zip(self.extractors, subs, strict=True):
            det = ex.detections(block, sub)  # (B, slots)
            idx, w = ex.bags(block, sub, det, base)
            F = ex.spec.frames
            if F:  # per frame: concepts as visible in that frame, the rest in every frame
                wf = np.empty((B, F, S + 4), dtype=np.float32)
                np.multiply(det[:, None, :], visible, out=wf[:, :, :S])
                wf[:, :, S:] = w[:, None, S:]
                idx, w = np.repeat(idx, F, axis=0), wf.reshape(B * F, S + 4)
            w = torch.from_numpy(w).to(torch.bfloat16)
            inputs.append(bag(torch.from_numpy(idx), table, per_sample_weights=w, mode="sum"))
        outs = [out[ex.spec.name] if out else None for ex in self.extractors]
        results = [
            ex.compute(block, sub, x, o)
            for ex, sub, x, o in zip(self.extractors, subs, inputs, outs, strict=True)
        ]
        feats: dict[str, np.ndarray] = {}
        frames: dict[str, np.ndarray] = {}
        for ex, (shot, fr) in zip(self.extractors, results, strict=True):
            feats[ex.spec.name] = shot
            if fr is not None:
                frames[ex.spec.name] = fr
        return feats, frames

    def new_output(self, rows: int = GEN_BLOCK) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
        """Output buffers for :meth:`compute` of blocks of up to ``rows`` rows."""
        return {s.name: new_output(s, rows) for s in self.specs}
