"""``avs index``: embed every shot of a collection with a model's video side.

Layout (docs/design.md, "Index directory")::

    index/NAME/manifest.json    format, version, fingerprint, model, collection, n, dim,
                                heads, dtype, simulated, shards [{file, start, stop}],
                                complete, throughput
    index/NAME/ids.txt          shot ids, one per line, row order
    index/NAME/shard-00000.npy  (rows, dim) float16 (default) or float32

Each shard is one Dask task (:func:`embed_shard`) that reads its own row range from the
feature store and writes its file under a temporary name, then renames it: a killed run
never leaves a half shard that looks finished. Re-running skips shards already written
for the same model fingerprint and row plan.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError, short
from avs.io.atomic import atomic_open, check_free_space, write_text_atomic
from avs.io.collection import shots_store
from avs.io.lock import exclusive_lock
from avs.io.textfile import check_regular, read_json
from avs.progress import ProgressFn, report
from avs.search.cluster import JobLost

FORMAT = "avs-index"
VERSION = 1
MANIFEST = "manifest.json"
DTYPES = ("float16", "float32")
LABEL = "embedding shots"  # the progress label
ENCODE_ROWS = 1024  # rows per encode_video call inside a task (bounds activations)

_MODELS: dict[tuple[str, str, str], Any] = {}  # per-process cache: a worker loads a model once


def shard_name(i: int) -> str:
    """File name of shard ``i``."""
    return f"shard-{i:05d}.npy"


def features_path(collection: str | Path) -> Path:
    """The feature store of a collection directory (``shots.h5``), or the path itself."""
    return shots_store(collection)


def _model(model_dir: str, device: str):
    """The model, loaded once per process and fingerprint (a long-lived worker must not
    reuse a stale model after the directory is retrained in place)."""
    from avs.model import load_model
    from avs.model.io import read_model_config

    fp = str(read_model_config(model_dir).get("fingerprint"))
    key = (str(Path(model_dir).resolve()), fp, device)
    if key not in _MODELS:
        _MODELS.clear()  # one model at a time is all a worker needs
        _MODELS[key] = load_model(model_dir, device)
    return _MODELS[key]


def embed_shard(
    features: str,
    model_dir: str,
    start: int,
    stop: int,
    out_file: str,
    dtype: str = "float16",
    device: str = "cpu",
    threads: int | None = None,
    allow_nan: bool = False,
) -> dict[str, float]:
    """Embed rows ``[start, stop)`` and write them to ``out_file`` (atomically).

    A row whose embedding is not finite (NaN/Inf features) is an AvsError naming its shot:
    scored, it would take rank 1 of every topic. With ``allow_nan`` such rows are written
    as zeros instead (they score 0 for every topic) and counted in ``"nonfinite"``.

    Returns ``{"rows", "seconds", "nonfinite"}`` (seconds spent in the model, not in I/O)."""
    import torch

    from avs.io.features import open_features

    if threads:
        torch.set_num_threads(threads)
    model = _model(model_dir, device)
    out = np.empty((stop - start, model.dim), dtype=dtype)
    busy, nonfinite = 0.0, 0
    with open_features(features) as store, torch.inference_mode():
        for s in range(start, stop, ENCODE_ROWS):
            e = min(stop, s + ENCODE_ROWS)
            feats = {
                name: torch.from_numpy(store.read(name, s, e)).to(device)
                for name in model.video_features
            }
            frames = None
            if model.frame_features:
                frames = {}
                for name in model.frame_features:
                    values, offsets = store.read_frames(name, s, e)
                    offsets = np.asarray(offsets, dtype=np.int64)
                    frames[name] = (
                        torch.from_numpy(np.asarray(values, dtype=np.float32)).to(device),
                        torch.from_numpy(offsets - offsets[0]).to(device),
                    )
            t0 = time.perf_counter()
            emb = model.encode_video(feats, frames)
            busy += time.perf_counter() - t0
            block = out[s - start : e - start]
            block[:] = emb.float().cpu().numpy().astype(dtype)
            bad = np.flatnonzero(~np.isfinite(block).all(axis=1))
            if len(bad) and not allow_nan:
                shot = short(str(store.ids[s + int(bad[0])]))
                raise AvsError(
                    f"{features}: shot {shot} (row {s + int(bad[0])}) has NaN/Inf features "
                    f"({len(bad)} such row(s) in rows {s}-{e - 1}); fix the features, or pass "
                    "--allow-nan to index such shots as zero vectors"
                )
            block[bad] = 0
            nonfinite += len(bad)
    with atomic_open(out_file, "wb") as fh:
        np.save(_PlainWriter(fh), out, allow_pickle=False)
    return {"rows": float(stop - start), "seconds": busy, "nonfinite": float(nonfinite)}


class _PlainWriter:
    """Only ``write`` of a file. Given a real file, np.save writes with ndarray.tofile,
    whose short write on a full disk raises "N requested and M written" with no errno;
    through ``write`` the ENOSPC/EFBIG arrives intact and reads as "disk full"."""

    def __init__(self, fh: Any) -> None:
        self.write = fh.write


def read_manifest(index_dir: str | Path) -> dict[str, Any]:
    """The manifest of an index directory, or AvsError saying what is wrong."""
    path = Path(index_dir) / MANIFEST
    if not path.exists() and not path.is_symlink():
        raise AvsError(f"no index at {index_dir} ({MANIFEST} missing); build it with `avs index`")
    manifest = read_json(path, "index manifest")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise AvsError(f"{path}: not an avs index manifest (format != {FORMAT!r})")
    return manifest


def _plan(n: int, shard_rows: int) -> list[dict[str, Any]]:
    return [
        {"file": shard_name(i), "start": s, "stop": min(n, s + shard_rows)}
        for i, s in enumerate(range(0, n, shard_rows))
    ]


def _shard_ok(path: Path, rows: int, dim: int, dtype: str) -> bool:
    try:
        check_regular(path, "index shard")  # np.load would block on a FIFO
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (AvsError, OSError, ValueError, EOFError):
        return False
    return arr.shape == (rows, dim) and arr.dtype == np.dtype(dtype)


def build_index(
    collection: str | Path,
    model_dir: str | Path,
    out: str | Path,
    *,
    shard_rows: int = 65536,
    dtype: str = "float16",
    device: str = "cpu",
    client: Any = None,
    threads: int | None = None,
    progress: ProgressFn | None = None,
    allow_nan: bool = False,
) -> dict[str, Any]:
    """Embed a collection's shots into ``out`` and return the written manifest.

    Args:
        collection: a collection directory (uses its ``shots.h5``) or a feature store.
        model_dir: the trained model (``models/NAME``).
        out: index directory to create or resume.
        shard_rows: rows per shard file (and per Dask task).
        dtype: "float16" (default, half the disk and memory) or "float32".
        device: torch device for the model ("cpu" or "cuda").
        client: a ``distributed.Client``; None embeds in this process, shard by shard.
        threads: torch threads per task (a worker's share of the cores).
        progress: called as ``progress("embedding shots", rows_done, rows_total)``.
        allow_nan: index shots with NaN/Inf embeddings as zero vectors instead of
            refusing (see :func:`embed_shard`).
    """
    out = Path(out)
    with _index_lock(out):
        return _build_locked(
            collection, model_dir, out, shard_rows, dtype, device, client, threads, progress,
            allow_nan,
        )  # fmt: skip


def _index_lock(out: Path) -> contextlib.AbstractContextManager[None]:
    """The lock of index directory ``out`` (one `avs index` writes it at a time)."""
    busy = (
        f"index {out} is being written right now by another `avs index`; wait for it to "
        "finish, or pick another --out"
    )
    return exclusive_lock(index_lock_path(out), busy)


def index_lock_path(out: Path) -> Path:
    """The lock file of index directory ``out``: beside it, so the directory holds only
    the index (and a refused build leaves nothing in it)."""
    return out.parent / f".{out.name}.avs-index.lock"


def _build_locked(
    collection: str | Path,
    model_dir: str | Path,
    out: Path,
    shard_rows: int,
    dtype: str,
    device: str,
    client: Any,
    threads: int | None,
    progress: ProgressFn | None,
    allow_nan: bool,
) -> dict[str, Any]:
    """:func:`build_index` once ``out`` is locked."""
    from avs.io.features import open_features

    if dtype not in DTYPES:
        raise AvsError(f"--dtype must be one of {', '.join(DTYPES)}, not {dtype!r}")
    if shard_rows < 1:
        raise AvsError("--shard-rows must be at least 1")
    feats = features_path(collection)
    model = _model(str(model_dir), "cpu")
    with open_features(feats) as store:
        ids = list(store.ids)
        names = set(store.names)
        simulated = bool(getattr(store, "simulated", False))
        has_frames = {n: store.has_frames(n) for n in model.frame_features}
        dims = dict(getattr(store, "dims", {}))
    missing = [n for n in model.video_features if n not in names]
    missing += [n for n, ok in has_frames.items() if not ok]
    if missing:
        raise AvsError(
            f"{feats} lacks feature(s) the model {model_dir} needs: {', '.join(missing)}"
        )
    out.mkdir(parents=True, exist_ok=True)
    n = len(ids)
    shards = _plan(n, shard_rows)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "fingerprint": model.fingerprint,
        "model": str(model_dir),
        "collection": str(collection),
        "n": n,
        "dim": int(model.dim),
        "heads": int(model.heads),
        "dtype": dtype,
        "simulated": simulated,
        "shards": shards,
        "complete": False,
    }
    # Resume only what was written for the same model and the same row plan.
    reusable = False
    if (out / MANIFEST).is_file():
        try:
            old = read_manifest(out)
        except AvsError:
            old = {}
        keys = ("fingerprint", "n", "dim", "dtype", "shards")
        reusable = all(old.get(k) == manifest[k] for k in keys)
    todo = [
        s
        for s in shards
        if not (reusable and _shard_ok(out / s["file"], s["stop"] - s["start"], model.dim, dtype))
    ]
    stale = [] if reusable else list(out.glob("shard-*.npy"))
    # Refuse before deleting or writing anything: a full disk found after an hour of
    # embedding costs the hour. Stale shards of another model are freed first.
    ids_text = "".join(f"{i}\n" for i in ids)
    itemsize = np.dtype(dtype).itemsize
    needed = sum((s["stop"] - s["start"]) * model.dim * itemsize + 128 for s in todo)
    needed += len(ids_text.encode()) - sum(p.stat().st_size for p in stale)
    check_free_space(out, needed)
    for path in stale:
        path.unlink()
    _sweep_temporaries(out)  # shards, ids.txt, manifest of a run killed mid-write
    write_text_atomic(out / "ids.txt", ids_text)
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
    done_rows = n - sum(s["stop"] - s["start"] for s in todo)
    # Absolute paths: workers of an external cluster have their own working directory.
    args = [
        (
            str(feats.resolve()),
            str(Path(model_dir).resolve()),
            s["start"],
            s["stop"],
            str(out.resolve() / s["file"]),
            dtype,
            device,
            threads,
            allow_nan,
        )
        for s in todo
    ]
    t0 = time.perf_counter()
    busy, nonfinite = 0.0, 0
    report(progress, LABEL, done_rows, n)
    if client is None:
        results = (embed_shard(*a) for a in args)
    else:
        from avs.search.cluster import completed

        futures = [client.submit(embed_shard, *a, pure=False) for a in args]
        results = (r for _, r in completed(futures))
    try:
        for r in results:
            busy += r["seconds"]
            nonfinite += int(r.get("nonfinite", 0))
            done_rows += int(r["rows"])
            report(progress, LABEL, done_rows, n)
    except JobLost as err:
        raise AvsError(
            f"{err}: {done_rows:,} of {n:,} shots are embedded and their shards kept in "
            f"{out}; run the same `avs index` again to finish the rest"
        ) from None
    wall = time.perf_counter() - t0
    embedded = sum(s["stop"] - s["start"] for s in todo)
    # FLOPs of the per-feature transforms (Linear D_i -> dim), the bulk of the video side;
    # benchmarks/ compare that rate with the machine's GEMM peak.
    passing = set(getattr(getattr(model, "config", None), "pass_through", []) or [])
    in_dims = sum(dims.get(name, 0) for name in model.video_features if name not in passing)
    throughput: dict[str, Any] = {
        "shots": embedded,
        "reused_shots": n - embedded,
        "wall_seconds": round(wall, 3),
        "shots_per_s": round(embedded / wall, 1) if wall > 0 and embedded else None,
    }
    if allow_nan:  # documented: NaN/Inf shots were indexed as zero vectors
        manifest["nonfinite_zeroed"] = nonfinite
    if in_dims and busy > 0 and embedded:
        # busy is summed over tasks: flops / busy is one task's rate.
        rate = 2 * embedded * in_dims * model.dim / busy / 1e9
        throughput["transform_gflops_per_task"] = float(f"{rate:.3g}")  # a tiny model: 0.004
    manifest["complete"] = True
    manifest["throughput"] = throughput
    manifest["built"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    write_text_atomic(out / MANIFEST, json.dumps(manifest, indent=2))
    return manifest


def run_index(
    collection: str | Path,
    model_dir: str | Path,
    out: str | Path,
    *,
    shard_rows: int = 65536,
    dtype: str = "float16",
    device: str = "cpu",
    scheduler: str = "",
    progress: ProgressFn | None = None,
    allow_nan: bool = False,
) -> dict[str, Any]:
    """:func:`build_index` on a Dask cluster: ``scheduler`` "" starts a LocalCluster sized to
    the machine and the shard count, else the address of a running scheduler. Returns the
    written manifest."""
    from avs.io.features import open_features
    from avs.search.cluster import dask_client

    feats = features_path(collection)  # fail before starting a cluster
    if shard_rows < 1:
        raise AvsError("--shard-rows must be at least 1")
    with open_features(feats) as store:
        shards = -(-store.n // shard_rows)
    out = Path(out)
    # Locked before the cluster starts: a second build is refused at once.
    with _index_lock(out):
        try:
            with dask_client(scheduler, device, max(1, shards)) as (client, threads):
                return _build_locked(
                    collection, model_dir, out, shard_rows, dtype, device, client, threads,
                    progress, allow_nan,
                )  # fmt: skip
        except BaseException:
            # A SIGTERM to the process group kills LocalCluster workers inside a shard's
            # write; the cluster is closed by now, so their temporaries can go at once.
            _sweep_temporaries(out)
            raise


def _sweep_temporaries(out: Path) -> None:
    """Remove writers' temporaries (``.NAME.xxxx.tmp``) from an index directory; only
    while holding its lock."""
    if out.is_dir():
        for path in out.glob(".*.tmp"):
            path.unlink(missing_ok=True)
