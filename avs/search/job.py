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
import json
import os
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError
from avs.io.atomic import atomic_open, write_text_atomic
from avs.search.cluster import JobLost, dask_client, score_shards, timed_score_shard, warm_up
from avs.search.index import read_manifest
from avs.search.merge import TopK, empty_topk, merge_topk, tie_key

__all__ = ["ScoreJob", "run_score", "score_shards", "timed_score_shard"]

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


def partial_dir(runs_dir: Path, name: str) -> Path:
    """Where per-shard partial results of run ``name`` are kept until it finishes."""
    return runs_dir / f".{name}.partial"


def _read_ids(index: Path, n: int) -> list[str]:
    try:
        ids = (index / "ids.txt").read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        raise AvsError(f"index {index}: ids.txt missing; rebuild it with `avs index`") from None
    if ids and ids[-1] == "":
        ids.pop()
    if len(ids) != n:
        raise AvsError(f"index {index}: ids.txt has {len(ids)} ids, the manifest says {n}")
    return ids


def check_index(index: Path, fingerprint: str, model: Path) -> dict[str, Any]:
    """The index manifest, after checking it is complete, from ``model`` and has its shards."""
    manifest = read_manifest(index)
    if manifest.get("fingerprint") != fingerprint:
        raise AvsError(
            f"index {index} was made by another model: its fingerprint is "
            f"{manifest.get('fingerprint')}, model {model} has {fingerprint}. "
            f"Rebuild it: avs index COLLECTION --model {model} --out {index}"
        )
    if not manifest.get("complete", True):
        raise AvsError(f"index {index} is incomplete; finish it by re-running `avs index`")
    missing = [s["file"] for s in manifest["shards"] if not (index / s["file"]).is_file()]
    if missing:
        raise AvsError(
            f"index {index}: {len(missing)} shard(s) missing ({', '.join(missing[:5])}); "
            "re-run `avs index` to rebuild them"
        )
    return manifest


def encode_topics(model: Any, texts: list[str], numbers: list[int]) -> np.ndarray:
    """Query matrix (topics, dim) float32, scaled by 1/heads so a dot product is the
    LAFF multi-head similarity; AvsError naming every topic the model cannot represent."""
    import torch

    unknown = model.unknown_texts(texts)
    if unknown:
        listed = "; ".join(f"{numbers[i]} {texts[i]!r}" for i in unknown[:10])
        raise AvsError(
            f"{len(unknown)} topic(s) use only words the model has never seen: {listed}. "
            "Rephrase them or use a model whose text encoders cover them."
        )
    with torch.inference_mode():
        q = model.encode_text(texts).float().cpu().numpy()
    return np.ascontiguousarray(q / model.heads, dtype=np.float32)


def _save_partial(path: Path, part: TopK, seconds: float) -> None:
    with atomic_open(path, "wb") as fh:
        np.savez(fh, scores=part[0], rows=part[1], seconds=np.float64(seconds))


def _load_partial(path: Path) -> tuple[TopK, float] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            return (z["scores"], z["rows"]), float(z["seconds"])
    except (OSError, ValueError, KeyError):
        return None  # unreadable checkpoint: score that shard again


class _Progress:
    """A rich progress bar over shots scored, with shots/s (or nothing when disabled)."""

    def __init__(self, enabled: bool, total: int, done: int) -> None:
        self.bar = None
        self.t0 = time.perf_counter()
        self.base = done
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("scoring"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} shots"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=False,
            )
            self.task = self.bar.add_task("score", total=total, completed=done, rate="")
            self.bar.start()

    def advance(self, done: int) -> None:
        if self.bar is not None:
            wall = time.perf_counter() - self.t0
            rate = f"{(done - self.base) / wall:,.0f} shots/s" if wall > 0 else ""
            self.bar.update(self.task, completed=done, rate=rate)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def run_score(
    job: ScoreJob,
    *,
    client: Any = None,
    progress: bool = True,
    crash_after: int | None = None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]] | None = None,
    on_result: Callable[[int], None] | None = None,
) -> Path:
    """Score every topic of ``job.topics`` against the index; return the run's path.

    ``client``: use this Dask client instead of starting one (tests, notebooks).
    ``crash_after``: raise after that many shards are checkpointed (tests of --resume).
    ``task``: replaces :func:`timed_score_shard` (same signature; tests slow it down).
    ``on_result``: called with each shard number as its result is checkpointed."""
    if job.k < 1:
        raise AvsError("--k must be at least 1")
    out = run_path(job.runs_dir, job.run_name)
    with run_lock(job.runs_dir, job.run_name):
        return _run_locked(job, out, client, progress, crash_after, task, on_result)


@contextlib.contextmanager
def run_lock(runs_dir: Path, name: str) -> Iterator[None]:
    """Hold ``runs_dir/.NAME.lock`` for the whole job. Two jobs of one run name would
    share (and delete) each other's checkpoints; the second one refuses instead. The
    lock file stays: removing it would race with a third job taking it."""
    import fcntl

    runs_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(runs_dir / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AvsError(
            f"run {name!r} is being written right now by another `avs score` into "
            f"{runs_dir}; wait for it to finish, or pick another --run-name"
        ) from None
    try:
        yield
    finally:
        os.close(fd)  # releases the lock (a killed process releases it too)


def _run_locked(
    job: ScoreJob,
    out: Path,
    client: Any,
    progress: bool,
    crash_after: int | None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]] | None,
    on_result: Callable[[int], None] | None,
) -> Path:
    """:func:`run_score` once the run name is locked."""
    from avs import __version__
    from avs.io.runs import write_run
    from avs.io.topics import read_topics, topics_sha256
    from avs.model import load_model

    if out.exists() and not job.overwrite:
        raise AvsError(
            f"run {out} already exists; pass --overwrite to replace it or pick --run-name"
        )
    # A job killed inside the Parquet write left its temporary; the lock makes it ours.
    for stale in out.parent.glob(f".{out.name}.*.tmp"):
        stale.unlink(missing_ok=True)
    topics = read_topics(job.topics)  # FormatError for an empty or malformed file
    numbers = [t.number for t in topics]
    t_enc = time.perf_counter()
    # Topics are encoded on the CPU whatever --device says: 30 sentences cost nothing,
    # and the queries (so the rankings) are then the same on every machine.
    model = load_model(job.model, "cpu")
    model.eval()
    manifest = check_index(job.index, model.fingerprint, job.model)
    queries = encode_topics(model, [t.text for t in topics], numbers)
    t_enc = time.perf_counter() - t_enc
    if queries.shape[1] != manifest["dim"]:
        raise AvsError(f"model dim {queries.shape[1]} != index dim {manifest['dim']}")
    ids = _read_ids(job.index, manifest["n"])
    key = tie_key(ids)
    shards = manifest["shards"]

    # Checkpoints: refuse to mix partial results of a different job.
    part_dir = partial_dir(job.runs_dir, job.run_name)
    signature = {
        "run_name": job.run_name,
        "fingerprint": model.fingerprint,
        "index": str(job.index.resolve()),
        "n": manifest["n"],
        "shards": len(shards),
        "k": job.k,
        "topics_sha256": topics_sha256(job.topics),
    }
    done: dict[int, tuple[TopK, float]] = {}
    if job.resume and (part_dir / "job.json").is_file():
        try:
            old = json.loads((part_dir / "job.json").read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            old = {}
        if old != signature:
            diff = sorted(k for k in signature if old.get(k) != signature[k])
            raise AvsError(
                f"--resume: partial results in {part_dir} belong to a different job "
                f"({', '.join(diff)} differ); run without --resume to start over"
            )
        for i in range(len(shards)):
            loaded = _load_partial(part_dir / f"shard-{i:05d}.npz")
            width = min(job.k, shards[i]["stop"] - shards[i]["start"])
            if loaded is not None and loaded[0][0].shape == (len(topics), width):
                done[i] = loaded
    else:
        shutil.rmtree(part_dir, ignore_errors=True)
    part_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(part_dir / "job.json", json.dumps(signature, indent=2))

    acc = empty_topk(len(topics))
    for part, _ in done.values():
        acc = merge_topk(acc, part, job.k, key)
    todo = [i for i in range(len(shards)) if i not in done]
    rows_of = {i: shards[i]["stop"] - shards[i]["start"] for i in range(len(shards))}
    rows_done = sum(rows_of[i] for i in done)
    seconds = {i: s for i, (_, s) in done.items()}
    bar = _Progress(False, 0, 0)
    t_wall = time.perf_counter()
    try:
        with contextlib.ExitStack() as stack:
            threads: int | None = None
            if todo and client is None:
                client, threads = stack.enter_context(
                    dask_client(job.scheduler, job.device, len(todo))
                )
            if todo:
                client.run(warm_up)  # import torch on every worker before the clock starts
            # Started once the cluster is up, so shots/s measures scoring, not start-up.
            bar = _Progress(progress, manifest["n"], rows_done)
            if todo:
                parts = score_shards(
                    client,
                    # Absolute paths: workers of an external cluster have their own cwd.
                    [
                        (
                            str(job.index.resolve() / shards[i]["file"]),
                            shards[i]["start"],
                            shards[i]["stop"],
                        )
                        for i in todo
                    ],
                    queries,
                    job.k,
                    job.device,
                    tiebreak=key,
                    threads=threads,
                    task=task,
                )
                for j, scores, rows, secs in parts:
                    i = todo[j]
                    _save_partial(part_dir / f"shard-{i:05d}.npz", (scores, rows), secs)
                    acc = merge_topk(acc, (scores, rows), job.k, key)
                    seconds[i] = secs
                    rows_done += rows_of[i]
                    bar.advance(rows_done)
                    if on_result is not None:
                        on_result(i)
                    if crash_after is not None and len(seconds) - len(done) >= crash_after:
                        parts.close()  # cancels what is still queued
                        raise RuntimeError(f"crash_after={crash_after}: simulated crash")
    except JobLost as err:
        kept = len(seconds)
        raise AvsError(
            f"{err} after {kept} of {len(shards)} shard(s); their results are kept in "
            f"{part_dir}: rerun with --resume (any scheduler, or none) to finish the rest"
        ) from None
    finally:
        bar.close()
    wall = time.perf_counter() - t_wall

    scores, rows = acc
    t, kk = scores.shape
    # Each shard task computes all topics in one GEMM: a topic's share is 1/T of it.
    per_topic = (t_enc + sum(seconds.values())) / max(t, 1)
    meta = {
        "run_name": job.run_name,
        "model": str(job.model),
        "model_fingerprint": model.fingerprint,
        "index": str(job.index),
        "collection": job.collection or manifest.get("collection"),
        "simulated": bool(manifest.get("simulated", False)),
        "topics_file": str(job.topics),
        "topics_sha256": signature["topics_sha256"],
        "year": job.year,
        "k": job.k,
        "elapsed": {str(n): round(per_topic, 6) for n in numbers},
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "avs_version": __version__,
        "device": job.device,
        "shards": len(shards),
        "wall_seconds": round(wall, 3),
        **job.extra_meta,
    }
    ids_arr = np.asarray(ids, dtype=object)
    write_run(
        out,
        np.repeat(np.asarray(numbers, dtype=np.int32), kk),
        np.tile(np.arange(1, kk + 1, dtype=np.int32), t),
        ids_arr[rows.reshape(-1)],
        scores.reshape(-1),
        meta,
    )
    shutil.rmtree(part_dir, ignore_errors=True)
    return out
