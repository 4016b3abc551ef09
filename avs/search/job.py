"""The ``avs score`` driver: topics -> one Dask task per index shard -> runs/NAME.parquet.

Flow: encode the topics with the model's text side (in this process), scatter the query
matrix to the workers once, submit :func:`avs.search.score.score_shard` for every shard
(with that shard's slice of the shot-id tie keys), and consume the results with ``as_completed(..., with_results=True)``:
each partial top-k is checkpointed to ``runs/.NAME.partial/shard-XXXXX.npz`` (temporary
name, then ``os.replace``) and folded into the running :func:`merge_topk`. Because the
merge is associative under a total order, completion order, retries after a lost worker
and ``--resume`` all give the same ranking.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError, short
from avs.io.lock import exclusive_lock
from avs.progress import ProgressFn, report
from avs.search.checkpoints import CheckpointStore, partial_dir
from avs.search.cluster import JobLost, dask_client, score_shards, timed_score_shard, warm_up
from avs.search.index_reader import IndexForScoring, open_index
from avs.search.merge import empty_topk, merge_topk

__all__ = [
    "ScoreJob",
    "partial_dir",
    "plan_score",
    "run_score",
    "run_scores",
    "score_shards",
    "timed_score_shard",
]

_RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


@dataclass
class ScoreJob:
    """Everything one ``avs score`` invocation needs, already resolved."""

    topics: Path  # the topic file
    index: Path  # index/NAME directory
    model: Path  # models/NAME directory
    runs_dir: Path  # where NAME.parquet goes
    run_name: str  # file stem of the run
    k: int = 1000  # shots per topic
    device: str = "cpu"  # resolved torch device for text encoding and the workers
    scheduler: str = ""  # "" starts a LocalCluster; else a Dask scheduler address
    resume: bool = False  # continue from runs/.NAME.partial
    overwrite: bool = False  # replace an existing runs/NAME.parquet
    year: int | None = None  # TRECVID year of the topics (metadata)
    collection: str | None = None  # collection name (metadata); default: the index's
    extra_meta: dict[str, Any] = field(default_factory=dict)


def run_path(runs_dir: Path, name: str) -> Path:
    """``runs_dir/NAME.parquet``, refusing names that are empty, hidden or leave the dir."""
    if not _RUN_NAME.fullmatch(name or "") or name.endswith(".partial"):
        raise AvsError(
            f"run name {name!r} is not allowed: use letters, digits, '.', '_', '+', '-', "
            "no path separators (runs are always written to the runs directory)"
        )
    path = (runs_dir / f"{name}.parquet").resolve()
    if path.parent != runs_dir.resolve():
        raise AvsError(f"run name {name!r} escapes the runs directory {runs_dir}")
    return path


def encode_topics(model: Any, texts: list[str], numbers: list[int]) -> np.ndarray:
    """Query matrix (topics, dim) float32, scaled by 1/heads so a dot product is the
    LAFF multi-head similarity; AvsError naming every topic the model cannot represent."""
    import torch

    unknown = model.unknown_texts(texts)
    if unknown:
        listed = "; ".join(f"{numbers[i]} {short(texts[i])}" for i in unknown[:10])
        raise AvsError(
            f"{len(unknown)} topic(s) use only words the model has never seen: {listed}. "
            "Rephrase them or use a model whose text encoders cover them."
        )
    # Precomputed text features (e.g. CLIP text) are keyed by topic number, as in explain.
    keys = [str(n) for n in numbers]
    with torch.inference_mode():
        q = model.encode_text(texts, keys).float().cpu().numpy()
    return np.ascontiguousarray(q / model.heads, dtype=np.float32)


def run_score(
    job: ScoreJob,
    *,
    client: Any = None,
    progress: ProgressFn | None = None,
    crash_after: int | None = None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]] | None = None,
    on_result: Callable[[int], None] | None = None,
) -> Path:
    """Score every topic of ``job.topics`` against the index; return the run's path.

    ``client``: use this Dask client instead of starting one (tests, notebooks).
    ``progress``: called as ``progress("scoring", shots_done, shots_total)``.
    ``crash_after``: raise after that many shards are checkpointed (tests of --resume).
    ``task``: replaces :func:`timed_score_shard` (same signature; tests slow it down).
    ``on_result``: called with each shard number as its result is checkpointed."""
    return run_scores(
        [job], client=client, progress=progress, crash_after=crash_after, task=task,
        on_result=on_result,
    )[0]  # fmt: skip


def run_scores(
    jobs: list[ScoreJob],
    *,
    client: Any = None,
    progress: ProgressFn | None = None,
    crash_after: int | None = None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]] | None = None,
    on_result: Callable[[int], None] | None = None,
) -> list[Path]:
    """Score several topic files (one job each) and return their runs' paths, in order.

    Jobs on the same index and model are scored in one pass: the index is read once and
    each block is multiplied by every file's topics in one GEMM; each run is written
    exactly as a separate :func:`run_score` would write it (timing metadata apart).
    Keyword arguments as in :func:`run_score`."""
    if not jobs:
        raise AvsError("no topic file to score")
    targets = [(j.runs_dir.resolve(), j.run_name) for j in jobs]
    if len(set(targets)) != len(targets):
        dup = sorted({name for where, name in targets if targets.count((where, name)) > 1})
        raise AvsError(f"two topic files would write the same run {dup}: give each its own name")
    for job in jobs:
        if job.k < 1:
            raise AvsError("--k must be at least 1")
    outs = {id(j): run_path(j.runs_dir, j.run_name) for j in jobs}
    groups: dict[tuple, list[ScoreJob]] = {}
    for job in jobs:
        key = (job.index.resolve(), job.model.resolve(), job.k, job.device, job.scheduler)
        groups.setdefault(key, []).append(job)
    for group in groups.values():
        with contextlib.ExitStack() as locks:
            for job in group:
                locks.enter_context(run_lock(job.runs_dir, job.run_name))
            _run_locked(group, [outs[id(j)] for j in group], client, progress, crash_after,
                        task, on_result)  # fmt: skip
    return [outs[id(j)] for j in jobs]


def run_lock(runs_dir: Path, name: str) -> contextlib.AbstractContextManager[None]:
    """Hold ``runs_dir/.NAME.lock`` for the whole job. Two jobs of one run name would
    share (and delete) each other's checkpoints; the second one refuses instead."""
    return exclusive_lock(
        runs_dir / f".{name}.lock",
        f"run {name!r} is being written right now by another `avs score` into "
        f"{runs_dir}; wait for it to finish, or pick another --run-name",
    )


def _run_locked(
    jobs: list[ScoreJob],
    outs: list[Path],
    client: Any,
    progress: ProgressFn | None,
    crash_after: int | None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]] | None,
    on_result: Callable[[int], None] | None,
) -> None:
    """Score one group of jobs (same index, model, k, device) once their run names are
    locked: prepare, score every shard once for all their topics, write each run."""
    for job, out in zip(jobs, outs, strict=True):
        if out.exists() and not job.overwrite:
            raise AvsError(
                f"run {out} already exists; pass --overwrite to replace it or pick --run-name"
            )
        # A job killed inside the Parquet write left its temporary; the lock makes it ours.
        for stale in out.parent.glob(f".{out.name}.*.tmp"):
            stale.unlink(missing_ok=True)
    lead = jobs[0]
    prepared = _prepare(jobs)
    index, topics = prepared.index, prepared.numbers
    widths = [min(lead.k, s["stop"] - s["start"]) for s in index.shards]
    checkpoints = CheckpointStore(partial_dir(lead.runs_dir, lead.run_name), prepared.signature)
    spans = [(s["start"], s["stop"]) for s in index.shards]
    done = checkpoints.start(lead.resume, widths, len(topics), spans)
    acc = empty_topk(len(topics))
    for part, _ in done.values():
        acc = merge_topk(acc, part, lead.k, index.key)
    seconds = {i: s for i, (_, s) in done.items()}
    todo = [i for i in range(len(index.shards)) if i not in done]
    rows_of = [s["stop"] - s["start"] for s in index.shards]
    rows_done = sum(rows_of[i] for i in done)
    t_wall = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            threads: int | None = None
            if todo and client is None:
                client, threads = stack.enter_context(
                    dask_client(lead.scheduler, lead.device, len(todo))
                )
            if todo:
                client.run(warm_up)  # import torch on every worker before the clock starts
            # Reported once the cluster is up, so shots/s measures scoring, not start-up.
            report(progress, "scoring", rows_done, index.manifest["n"])
            if todo:
                parts = score_shards(
                    client,
                    index.shard_tasks(todo),
                    prepared.queries,
                    lead.k,
                    lead.device,
                    tiebreak=index.key,
                    threads=threads,
                    task=task,
                )
                for j, scores, rows, secs in parts:
                    i = todo[j]
                    checkpoints.save(i, (scores, rows), secs)
                    acc = merge_topk(acc, (scores, rows), lead.k, index.key)
                    seconds[i] = secs
                    rows_done += rows_of[i]
                    report(progress, "scoring", rows_done, index.manifest["n"])
                    if on_result is not None:
                        on_result(i)
                    if crash_after is not None and len(seconds) - len(done) >= crash_after:
                        parts.close()  # cancels what is still queued
                        raise RuntimeError(f"crash_after={crash_after}: simulated crash")
    except JobLost as err:
        raise AvsError(
            f"{err} after {len(seconds)} of {len(index.shards)} shard(s); their results are "
            f"kept in {checkpoints.directory}: rerun with --resume (any scheduler, or none) "
            "to finish the rest"
        ) from None
    wall = time.perf_counter() - t_wall
    # Each shard task computes all topics in one GEMM: a topic's share is 1/T of it.
    per_topic = (prepared.encode_seconds + sum(seconds.values())) / max(len(topics), 1)
    for job, out, part in zip(jobs, outs, prepared.parts, strict=True):
        scores, rows = acc[0][part.rows], acc[1][part.rows]
        _write(job, out, prepared, part, (scores, rows), per_topic, wall)
    checkpoints.discard()


@dataclass(frozen=True)
class _Part:
    """One topic file of a group: its topics' rows in the group's query matrix."""

    rows: slice
    numbers: list[int]  # AVS topic numbers, in file order
    topics_sha256: str


@dataclass(frozen=True)
class _Prepared:
    """What scoring needs before the first shard: the checked index and the queries."""

    index: IndexForScoring
    parts: list[_Part]  # one per job, in order
    queries: np.ndarray  # (topics of all parts, dim) float32
    fingerprint: str  # the model's
    encode_seconds: float  # model load + text encoding
    signature: dict[str, Any]  # what partial results must match to be reused

    @property
    def numbers(self) -> list[int]:
        """Topic numbers of every part, in query-matrix order."""
        return [n for part in self.parts for n in part.numbers]


def _prepare(jobs: list[ScoreJob]) -> _Prepared:
    from avs.io.topics import read_topics_sha256
    from avs.model import load_model

    files = [read_topics_sha256(job.topics) for job in jobs]  # FormatError if malformed
    t0 = time.perf_counter()
    # Topics are encoded on the CPU whatever --device says: 30 sentences cost nothing,
    # and the queries (so the rankings) are then the same on every machine.
    lead = jobs[0]
    model = load_model(lead.model, "cpu")
    model.eval()
    index = open_index(lead.index, model.fingerprint, lead.model, int(model.dim))
    parts, blocks, start = [], [], 0
    for topics, sha256 in files:
        numbers = [t.number for t in topics]
        blocks.append(encode_topics(model, [t.text for t in topics], numbers))
        parts.append(_Part(slice(start, start + len(numbers)), numbers, sha256))
        start += len(numbers)
    signature = {
        "run_name": lead.run_name,
        "fingerprint": model.fingerprint,
        "index": str(lead.index.resolve()),
        "n": index.manifest["n"],
        "shards": len(index.shards),
        "k": lead.k,
        "topics_sha256": parts[0].topics_sha256,
    }
    if len(jobs) > 1:  # a group's checkpoints hold every file's topics
        signature["runs"] = [
            [j.run_name, p.topics_sha256] for j, p in zip(jobs, parts, strict=True)
        ]
    queries = np.ascontiguousarray(np.concatenate(blocks), dtype=np.float32)
    return _Prepared(index, parts, queries, model.fingerprint, time.perf_counter() - t0, signature)


def _write(
    job: ScoreJob,
    out: Path,
    prepared: _Prepared,
    part: _Part,
    acc: tuple[np.ndarray, np.ndarray],
    per_topic: float,
    wall: float,
) -> None:
    """One topic file's rows of the merged top-k as runs/NAME.parquet, with its metadata."""
    from avs import __version__
    from avs.io.runs import write_run

    scores, rows = acc
    t, kk = scores.shape
    manifest = prepared.index.manifest
    meta = {
        "run_name": job.run_name,
        "model": str(job.model),
        "model_fingerprint": prepared.fingerprint,
        "index": str(job.index),
        "collection": job.collection or manifest.get("collection"),
        "simulated": bool(manifest.get("simulated", False)),
        "topics_file": str(job.topics),
        "topics_sha256": part.topics_sha256,
        "year": job.year,
        "k": job.k,
        "elapsed": {str(n): round(per_topic, 6) for n in part.numbers},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "avs_version": __version__,
        "device": job.device,
        "shards": len(prepared.index.shards),
        "wall_seconds": round(wall, 3),
        **job.extra_meta,
    }
    ids = np.asarray(prepared.index.ids, dtype=object)
    write_run(
        out,
        np.repeat(np.asarray(part.numbers, dtype=np.int32), kk),
        np.tile(np.arange(1, kk + 1, dtype=np.int32), t),
        ids[rows.reshape(-1)],
        scores.reshape(-1),
        meta,
    )


def plan_score(
    topics: Path,
    *,
    index: Path | None = None,
    model: Path | None = None,
    run_name: str | None = None,
    k: int | None = None,
    scheduler: str | None = None,
    device: str | None = None,
    runs_dir: Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    workspace: Any = None,
) -> ScoreJob:
    """The job ``avs score --topics TOPICS [flags]`` runs: every value not given comes from
    the workspace (avs.toml; the topic file's year picks the collection, model and index),
    then from the built-in defaults. AvsError naming what is missing."""
    from avs.device import resolve_device
    from avs.io.topics import read_topics, topics_year
    from avs.workspace import load_workspace

    read_topics(topics)  # a missing, empty or malformed file is the first thing to report
    ws = workspace if workspace is not None else load_workspace()
    year = topics_year(topics)
    try:
        yc = ws.year_config(year)
    except ValueError as err:  # a year before AVS existed
        raise AvsError(f"--topics {topics}: {err}") from None
    index = index or yc.index
    model = model or yc.model
    where = f"year {year}" if year else "the progress topics"
    problems = [
        f"no {what} for {where} (collection {yc.collection}): pass --{what} or set "
        f"{what} under [collections.{yc.collection}] in avs.toml"
        for what, value in (("index", index), ("model", model))
        if value is None
    ]
    if problems:
        raise AvsError("; ".join(problems))
    return ScoreJob(
        topics=topics,
        index=Path(index),
        model=Path(model),
        runs_dir=runs_dir or ws.runs_dir,
        run_name=run_name or yc.run_name or f"{Path(model).name}-{topics.stem}",
        k=k if k is not None else ws.defaults.k,
        device=resolve_device(device or ws.defaults.device),
        scheduler=scheduler if scheduler is not None else ws.defaults.scheduler,
        resume=resume,
        overwrite=overwrite,
        year=year,
        collection=yc.collection,
    )
