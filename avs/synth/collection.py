"""Write a simulated collection directory (docs/design.md, "Collection directory").

The search collection is generated and written block by block (``world.GEN_BLOCK``
rows), so memory stays bounded whatever the number of shots; only the relevant shots
and a bounded number of near misses per topic are kept for the judgements.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from queue import SimpleQueue

import numpy as np

from avs import __version__
from avs.errors import AvsError
from avs.io.atomic import format_bytes, free_bytes, write_text_atomic
from avs.io.captions import Caption, write_captions, write_id_list
from avs.io.features import FeatureStoreWriter
from avs.io.qrels import write_qrels
from avs.io.records import Topic
from avs.io.topics import read_topics, topics_year
from avs.synth.captions import captions_for
from avs.synth.extractors import (
    DEFAULT_EXTRACTORS,
    ExtractorSet,
    ExtractorSpec,
    single_threaded_libraries,
)
from avs.synth.judgements import Judgements, judge, pool_depth
from avs.synth.world import (
    GEN_BLOCK,
    S_CAPTION,
    ShotBlock,
    ShotIds,
    World,
    build_world,
    n_blocks,
    rng_for,
    shot_block,
    train_block,
)

__all__ = ["estimate_bytes", "make_collection", "synthesize"]

WORKERS = 2  # threads generating blocks (the machine this was tuned on has 2 cores)
AHEAD = 8  # blocks generated ahead of the writer (~55 MB each with the default extractors)

# progress(label, done, total): called as rows are written
Progress = Callable[[str, int, int], None]


def estimate_bytes(
    shots: int, train_videos: int, specs: Sequence[ExtractorSpec] = DEFAULT_EXTRACTORS
) -> int:
    """Disk space the collection will take (float16 features dominate)."""
    per_row = sum(2 * s.dim * (1 + s.frames) for s in specs) + 8 * sum(1 for s in specs if s.frames)
    return (shots + train_videos) * (per_row + 16) + train_videos * 400 + (1 << 20)


def _year_label(path: Path) -> str:
    year = topics_year(path)
    return str(year) if year is not None else path.stem


def synthesize(
    out: str | Path,
    topic_files: Sequence[str | Path],
    shots: int,
    seed: int,
    difficulty: float = 1.0,
    train_videos: int = 4000,
    captions_per_video: int = 5,
    overwrite: bool = False,
    progress: Progress | None = None,
    specs: Sequence[ExtractorSpec] = DEFAULT_EXTRACTORS,
) -> Path:
    """Generate a simulated collection in directory ``out`` and return its path.

    ``topic_files``: real topic files; the year of each comes from its name
    (topics/2022.txt -> "2022"). Raises :class:`AvsError` for bad parameters, an
    existing non-empty ``out`` (unless ``overwrite``) or too little free disk space."""
    out = Path(out)
    problems = []
    if shots < 200:
        problems.append(f"--shots must be at least 200, got {shots}")
    if train_videos < 20:
        problems.append(f"--train-videos must be at least 20, got {train_videos}")
    if not 0.25 <= difficulty <= 4:
        problems.append(f"--difficulty must be between 0.25 and 4, got {difficulty}")
    if captions_per_video < 1:
        problems.append(f"captions per video must be at least 1, got {captions_per_video}")
    if not topic_files:
        problems.append("no topics given: pass at least one --topics file")
    if problems:
        raise AvsError("; ".join(problems))
    topic_sets: dict[str, list[Topic]] = {}
    sources: dict[str, Path] = {}
    for f in map(Path, topic_files):
        label = _year_label(f)
        if label in topic_sets:
            raise AvsError(f"{f}: year {label} given twice (also {sources[label]})")
        topic_sets[label] = read_topics(f)
        sources[label] = f
    replace = out.exists() and (not out.is_dir() or any(out.iterdir()))
    if replace and not overwrite:
        raise AvsError(f"{out}: exists and is not empty; choose a new directory or --force")
    if replace and not (out / "collection.json").is_file():
        raise AvsError(f"{out}: not a collection directory; refusing to overwrite it")
    need = estimate_bytes(shots, train_videos, specs)
    free = free_bytes(out)
    if replace:
        free += sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    if need > free * 0.95:
        need_text, free_text = format_bytes(need, decimal=True), format_bytes(free, decimal=True)
        raise AvsError(
            f"{out}: needs about {need_text} but only {free_text} is free; "
            "use fewer --shots or another directory"
        )
    if replace:
        shutil.rmtree(out)
    try:
        with single_threaded_libraries():
            return _synthesize(
                out,
                sources,
                topic_sets,
                shots,
                seed,
                difficulty,
                train_videos,
                captions_per_video,
                progress,
                specs,
            )
    except BaseException:
        # no half-made collection: every file is atomic, and so is the directory
        shutil.rmtree(out, ignore_errors=True)
        raise


def _synthesize(
    out: Path,
    sources: dict[str, Path],
    topic_sets: dict[str, list[Topic]],
    shots: int,
    seed: int,
    difficulty: float,
    train_videos: int,
    captions_per_video: int,
    progress: Progress | None,
    specs: Sequence[ExtractorSpec],
) -> Path:
    world = build_world(topic_sets, shots, seed, difficulty)
    out.mkdir(parents=True, exist_ok=True)
    report = _locked(progress or (lambda label, done, total: None))
    bank_rows = min(GEN_BLOCK, max(shots, train_videos))
    pool = ThreadPoolExecutor(max_workers=WORKERS)
    # the noise banks are drawn in a worker while this thread prepares shots.h5
    made = pool.submit(ExtractorSet, world, tuple(specs), block_rows=bank_rows)

    def training() -> None:
        folder = out / "train"
        _write_training(world, made.result(), folder, train_videos, captions_per_video, report)

    def judging(relevant: dict, near: dict) -> dict[str, Judgements]:
        judged = {}
        for label in sources:
            idx = [i for i, t in enumerate(world.topics) if t.year == label]
            judged[label] = judge(world, idx, relevant, near)
        return judged

    try:
        # training videos are made beside the shots, judgements while shots.h5 is closed
        judged, trained = _write_shots(
            world, made, specs, out / "shots.h5", report, pool, training, judging
        )
        judgements, relevant = judged.result()
        trained.result()
    finally:
        # on an error, wait for running jobs: nothing may write into `out` after it is removed
        pool.shutdown(wait=True, cancel_futures=True)
    extractors = made.result()

    years: dict[str, dict[str, object]] = {}
    counts: dict[str, dict[str, int]] = {}
    for label, src in sources.items():
        idx = [i for i, t in enumerate(world.topics) if t.year == label]
        j = judgements[label]
        write_qrels(out / "qrels" / f"{label}.qrels", j.qrels)
        text = "".join(f"{tid} 0 {sid} 1\n" for tid, sid in j.truth)
        write_text_atomic(out / "truth" / f"{label}.qrels", text)
        (out / "topics").mkdir(exist_ok=True)
        shutil.copyfile(src, out / "topics" / f"{label}.txt")
        years[label] = {
            "topics": f"topics/{label}.txt",
            "source_topics": str(src),
            "qrels": f"qrels/{label}.qrels",
            "truth": f"truth/{label}.qrels",
        }
        counts[label] = {str(world.topics[i].number): int(len(relevant.get(i, ()))) for i in idx}
    meta = {
        "format": "avs-collection",
        "name": out.name,
        "simulated": True,
        "note": "SIMULATED collection written by `avs synth`; its qrels and truth files "
        "are simulated too (qrels cannot carry a comment line).",
        "seed": seed,
        "shots": shots,
        "videos": world.n_videos,
        "extractors": extractors.dims,
        "frame_features": extractors.frames_per_shot,
        "years": years,
        "difficulty": difficulty,
        "train_videos": train_videos,
        "captions_per_video": captions_per_video,
        "relevant_range": list(world.count_range),
        "relevant": counts,
        "concepts": {
            t.year + "/" + str(t.number): [world.concepts[c] for c in t.concepts]
            for t in world.topics
        },
        "pool_depth": pool_depth(shots),
        "generator": f"avs {__version__}",
    }
    # written last: its presence marks a complete collection
    write_text_atomic(out / "collection.json", json.dumps(meta, indent=2) + "\n")
    return out


def _write_shots(
    world: World,
    made: Future[ExtractorSet],
    specs: Sequence[ExtractorSpec],
    path: Path,
    report: Progress,
    pool: ThreadPoolExecutor,
    training: Callable[[], None],
    judging: Callable[[dict, dict], dict[str, Judgements]],
) -> tuple[Future[tuple[dict[str, Judgements], dict[int, np.ndarray]]], Future[None]]:
    """Stream the search collection. ``training`` is submitted to ``pool`` after the
    first blocks, ``judging(relevant, near)`` (rows per topic) once all are written.
    Returns the futures of (judgements, relevant rows per topic) and of ``training``."""
    keep_near = near_misses_kept(world)
    rel_parts: list[np.ndarray] = []
    near_parts: list[np.ndarray] = []
    attrs = {"simulated": True, "collection": path.parent.name, "seed": world.seed}
    total = n_blocks(world.shots)

    # Output buffers are reused: AHEAD blocks wait or are being made while this
    # thread writes one, so AHEAD + 1 sets are made, one by each of the first blocks.
    free: SimpleQueue[dict] = SimpleQueue()

    def make(b: int) -> tuple[ShotBlock, dict, dict, dict]:
        block = shot_block(world, b, keep_near=keep_near)
        extractors = made.result()
        if b < min(AHEAD, total) + 1:  # the first use of each set
            free.put(extractors.new_output())
        out = free.get()
        return (block, *extractors.compute(block, 0, b, out=out), out)

    def judge_all() -> tuple[dict[str, Judgements], dict[int, np.ndarray]]:
        relevant = rows_by_topic(rel_parts)
        return judging(relevant, rows_by_topic(near_parts)), relevant

    # Whole blocks are generated in parallel, each in one worker thread (numpy, torch
    # and h5py release the GIL for the bulk work), while this thread writes them in
    # order. Every block has its own random streams, so the result does not depend on
    # the scheduling. At most AHEAD blocks wait in memory.
    pending = deque(pool.submit(make, b) for b in range(min(AHEAD, total)))
    # the training videos are made early too: at the end only the judging is left
    trained = pool.submit(training)
    dims = {s.name: s.dim for s in specs}
    frame_dims = {s.name: s.dim for s in specs if s.frames}
    per_shot = {s.name: s.frames for s in specs if s.frames}
    with FeatureStoreWriter(path, ShotIds(world), dims, frames=frame_dims, attrs=attrs) as writer:
        for b in range(total):
            block, feats, frames, out = pending.popleft().result()
            if b + AHEAD < total:
                pending.append(pool.submit(make, b + AHEAD))
            for name, arr in feats.items():
                writer.write(name, block.start, arr)
            for name, arr in frames.items():
                counts = np.full(block.n, per_shot[name], dtype=np.int64)
                writer.write_frames(name, block.start, arr, counts)
            free.put(out)
            rel_parts.append(block.relevant)
            near_parts.append(block.near)
            report("shots", block.start + block.n, world.shots)
        judged = pool.submit(judge_all)
    return judged, trained


def _locked(report: Progress) -> Progress:
    """``report`` callable from several threads (training runs beside the shots)."""
    lock = threading.Lock()

    def locked(label: str, done: int, total: int) -> None:
        with lock:
            report(label, done, total)

    return locked


def near_misses_kept(world: World) -> int:
    """Near misses kept per topic and block as pooling candidates (4x the pool depth over
    the whole collection)."""
    return max(1, -(-4 * pool_depth(world.shots) // n_blocks(world.shots)))


def rows_by_topic(parts: list[np.ndarray]) -> dict[int, np.ndarray]:
    """(row, topic) pairs from every block -> sorted rows per topic index."""
    pairs = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
    out: dict[int, np.ndarray] = {}
    order = np.lexsort((pairs[:, 0], pairs[:, 1]))
    pairs = pairs[order]
    topics, first = np.unique(pairs[:, 1], return_index=True)
    for t, rows in zip(topics.tolist(), np.split(pairs[:, 0], first[1:]), strict=True):
        out[t] = rows
    return out


def _write_training(
    world: World,
    extractors: ExtractorSet,
    folder: Path,
    videos: int,
    per_video: int,
    report: Progress,
) -> None:
    """Training videos (MSR-VTT-like): features, captions and split lists."""
    ids = [f"video{i}" for i in range(videos)]
    captions: list[Caption] = []
    attrs = {"simulated": True, "collection": folder.parent.name, "seed": world.seed}
    with FeatureStoreWriter(
        folder / "features.h5", ids, extractors.dims, frames=extractors.frame_dims, attrs=attrs
    ) as writer:
        for b in range(n_blocks(videos)):
            block = train_block(world, b, videos)
            feats, frs = extractors.compute(block, 1, b)
            for name, arr in feats.items():
                writer.write(name, block.start, arr)
            for name, arr in frs.items():
                counts = np.full(block.n, extractors.frames_per_shot[name], dtype=np.int64)
                writer.write_frames(name, block.start, arr, counts)
            rng = rng_for(world.seed, S_CAPTION, b)
            for i, row in enumerate(block.concepts):
                names = [world.concepts[c] for c in row if c < world.n_concepts]
                vid = ids[block.start + i]
                for k, text in enumerate(captions_for(names, per_video, rng)):
                    captions.append(Caption(f"{vid}#{k}", vid, text))
            report("training videos", block.start + block.n, videos)
    write_captions(folder / "captions.txt", captions)
    order = rng_for(world.seed, S_CAPTION, 10**6).permutation(videos)
    n_test = max(1, videos * 2 // 11)
    n_val = max(1, videos // 11)
    test = sorted(order[:n_test].tolist())
    val = sorted(order[n_test : n_test + n_val].tolist())
    train = sorted(order[n_test + n_val :].tolist())
    write_id_list(folder / "train.txt", (ids[i] for i in train))
    write_id_list(folder / "val.txt", (ids[i] for i in val))
    write_id_list(folder / "test.txt", (ids[i] for i in test))


def make_collection(
    out: str | Path,
    topic_files: Sequence[str | Path],
    shots: int = 3000,
    seed: int = 0,
    difficulty: float = 1.0,
    train_videos: int = 300,
    captions_per_video: int = 5,
) -> Path:
    """A small simulated collection for tests (3,000 shots, 300 training videos by
    default: a few seconds). Same files as ``avs synth``; returns ``out``."""
    return synthesize(
        out,
        topic_files,
        shots=shots,
        seed=seed,
        difficulty=difficulty,
        train_videos=train_videos,
        captions_per_video=captions_per_video,
    )
