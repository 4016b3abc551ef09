"""Score one index shard against all topics: the Dask task of ``avs score``.

A module-level function so that tests (and a single process) call it without a cluster.
It returns only ``(scores, rows)`` shaped ``(topics, k)``; the shard itself never leaves
the worker, so a worker's memory is bounded by the shard size, not by the collection.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from avs.errors import AvsError
from avs.io.textfile import check_regular
from avs.search.merge import TopK, sort_topk

# Bytes of the float32 block each GEMM call reads: small enough that the block widened
# from float16 is still in L2 (2 MiB per core on the dev box) when the GEMM reads it;
# 2 MiB measured best of 0.5-8 MiB at 1024-d, single thread.
BLOCK_BYTES = 2 << 20
# On a GPU a block is one kernel launch per step: large blocks keep launches few, and
# 256 MiB of float32 is small beside any CUDA card's memory.
GPU_BLOCK_BYTES = 256 << 20


def block_rows_for(dim: int) -> int:
    """Rows per GEMM block for vectors of ``dim`` float32 values."""
    # At 4096-d fewer than ~512 rows per call made MKL slower again (measured).
    return max(512, BLOCK_BYTES // (4 * dim))


def load_shard(shard_path: str | Path) -> np.ndarray:
    """Read a shard file ((rows, dim) float16 or float32 ``.npy``), or raise AvsError."""
    path = Path(shard_path)
    if not path.is_file():
        raise AvsError(f"index shard missing: {path} (re-run `avs index` to rebuild it)")
    check_regular(path, "index shard")  # np.load would block on a FIFO
    try:
        # Memory-mapped: blocks are widened straight from the page cache, no extra copy.
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError) as err:
        raise AvsError(f"index shard unreadable: {path}: {err}") from None
    if arr.ndim != 2 or arr.dtype not in (np.float16, np.float32):
        raise AvsError(
            f"index shard {path}: expected a 2-d float16/float32 array, got {arr.dtype} {arr.shape}"
        )
    if not arr.flags.c_contiguous:
        # A Fortran-order .npy (written by other tools) made every block a strided
        # gather: 7x slower (measured). One shard-sized copy fixes the layout.
        arr = np.ascontiguousarray(arr)
    return arr


def _map(fn: Callable[[list], None], items: list, workers: int) -> None:
    """Run ``fn`` over ``workers`` interleaved slices of ``items`` on threads (torch and
    numpy release the GIL in the heavy calls)."""
    if workers <= 1 or len(items) <= 1:
        fn(items)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, [items[j::workers] for j in range(workers)]))


def score_block_matrix(
    vectors: np.ndarray,
    queries: np.ndarray,
    device: str = "cpu",
    block_rows: int | None = None,
    workers: int = 1,
):
    """All scores ``queries @ vectors.T`` as a float32 torch tensor (topics, rows) on ``device``.

    ``vectors`` is a numpy array (a memory-mapped shard) or a torch tensor (already on
    the device, say). On CPU, float16 vectors are widened block by block into a
    per-thread float32 buffer, so every product is an exact float32 GEMM (no
    half-precision accumulation), and ``workers`` threads take whole blocks, each block
    single-threaded: no barrier per GEMM, which keeps the speed when the machine is busy
    (2 MKL threads on a loaded 2-core box converted float16 5x slower than one,
    measured). On a GPU, float16 vectors are multiplied as stored with float32
    accumulation (:func:`_split_query_scores`); no TF32 either way."""
    import torch

    dev = torch.device(device)
    q = torch.as_tensor(np.ascontiguousarray(queries, dtype=np.float32), device=dev)
    with warnings.catch_warnings():
        # A read-only memmap: torch warns that writes would be undefined; we never write.
        warnings.simplefilter("ignore", UserWarning)
        x = vectors if isinstance(vectors, torch.Tensor) else torch.from_numpy(vectors)
        x = x.to(dev)
    n, dim = x.shape
    if q.shape[1] != dim:
        raise AvsError(f"queries have dim {q.shape[1]} but the index has dim {dim}")
    if block_rows is None:
        block_rows = block_rows_for(dim) if dev.type == "cpu" else GPU_BLOCK_BYTES // (4 * dim)
    if dev.type != "cpu" and x.dtype == torch.float16:
        split = _split_query_scores(x, q, block_rows)
        if split is not None:
            return split
    topics = q.shape[0]
    if dev.type == "cpu" and topics % 16:
        # Zero queries up to a multiple of 16: the AVX-512 sgemm kernels then run full
        # tiles (measured, 1 thread, 1024-d: 30 topics 88 GFLOP/s, padded to 32: 118).
        q = torch.cat([q, q.new_zeros((16 - topics % 16, dim))])
    # (rows, topics): block @ queries.T writes contiguous rows of it, and MKL runs this
    # orientation ~2x faster than queries @ block.T for 30 topics (measured, 1 thread).
    out = torch.empty((n, q.shape[0]), dtype=torch.float32, device=dev)
    qt = q.T
    starts = list(range(0, n, block_rows))

    def run(my_starts: list[int]) -> None:
        if dev.type == "cpu":
            # OpenMP's thread count is per calling thread: a pool thread would otherwise
            # start a team of all cores for every block, oversubscribing the machine.
            torch.set_num_threads(1)
        with torch.inference_mode():  # thread-local: pool threads need their own
            buf = None
            for s in my_starts:
                blk = x[s : s + block_rows]
                if blk.dtype != torch.float32:
                    if buf is None:
                        buf = torch.empty((block_rows, dim), dtype=torch.float32, device=dev)
                    buf[: blk.shape[0]].copy_(blk)
                    blk = buf[: blk.shape[0]]
                torch.matmul(blk, qt, out=out[s : s + blk.shape[0]])

    if dev.type != "cpu":
        run(starts)
        return out.T.contiguous()[:topics]
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _map(run, starts, workers)
    finally:
        torch.set_num_threads(previous)
    # (topics, rows): each topic's scores contiguous for the selection.
    return out.T[:topics].contiguous()


def _split_query_scores(x, q, block_rows: int):
    """(topics, rows) float32 scores of float16 ``x`` on a GPU with float32 accuracy, or
    None where torch lacks ``mm(..., out_dtype=float32)`` for float16.

    The queries, scaled by a power of two, are split into two float16 parts (hi + lo
    hold 22 of their 24 bits); each float16 x float16 product is exact in float32 and the
    GEMM accumulates in float32. So the index is read once at its own width instead of
    being widened to float32 first (which triples the memory traffic)."""
    import torch

    topics = q.shape[0]
    top = float(q.abs().max())
    if top == 0.0:
        return torch.zeros((topics, x.shape[0]), dtype=torch.float32, device=x.device)
    # Largest |q * scale| is 2^14 or less: inside float16's range. lo is subnormal only
    # for components ~2^-10 of the largest or smaller, whose lost bits are below float32's
    # rounding of the sum anyway.
    scale = 2.0 ** (14 - math.ceil(math.log2(top)))
    qs = q * scale
    hi = qs.half()
    lo = (qs - hi.float()).half()
    q2 = torch.cat([hi, lo]).T.contiguous()  # (dim, 2 * topics)
    out = torch.empty((x.shape[0], topics), dtype=torch.float32, device=x.device)
    try:
        for s in range(0, x.shape[0], block_rows):
            part = torch.mm(x[s : s + block_rows], q2, out_dtype=torch.float32)
            torch.add(part[:, :topics], part[:, topics:], out=out[s : s + block_rows])
    except (TypeError, RuntimeError, NotImplementedError):
        return None
    out /= scale
    return out.T.contiguous()


def topk_of_scores(
    scores, k: int, start: int = 0, key: np.ndarray | None = None, workers: int = 1
) -> TopK:
    """The ``k`` best columns per row of a (topics, rows) torch score matrix, in tie-rule
    order, as numpy ``(scores float32, rows int64)`` with rows shifted by ``start``.

    Selection ignores ties, so it also finds the (k+1)-th score: where that equals the
    k-th, the topic is redone exactly over every row scoring at least that much."""
    t, n = scores.shape
    kk = min(k, n)
    if kk == 0:
        return np.empty((t, 0), np.float32), np.empty((t, 0), np.int64)
    if kk == n:
        s = scores.cpu().numpy()
        return sort_topk(s, np.broadcast_to(np.arange(start, start + n), s.shape), kk, key)
    if scores.device.type == "cpu":
        # numpy's introselect is 3-4x faster than torch.topk for k ~ 1000 (measured).
        s = scores.numpy()
        idx = np.empty((t, kk), np.int64)
        next_s = np.empty(t, np.float32)

        def select(topics: list[int]) -> None:
            for i in topics:
                part = np.argpartition(s[i], n - kk - 1)
                idx[i] = part[n - kk :]
                next_s[i] = s[i, part[n - kk - 1]]

        _map(select, list(range(t)), workers)
        top_s = np.take_along_axis(s, idx, 1)
    else:
        import torch

        vals, idx_t = torch.topk(scores, kk + 1, dim=1, largest=True, sorted=True)
        vals_np = vals.cpu().numpy()
        idx = idx_t[:, :kk].cpu().numpy()
        top_s, next_s = vals_np[:, :kk].copy(), vals_np[:, kk]
        s = None
    top_r = idx.astype(np.int64) + start
    for topic in np.flatnonzero(top_s.min(axis=1) == next_s):
        row = s[topic] if s is not None else scores[topic].cpu().numpy()
        cand = np.flatnonzero(row >= next_s[topic])
        cs, cr = sort_topk(row[cand][None, :], cand[None, :] + start, kk, key)
        top_s[topic], top_r[topic] = cs[0], cr[0]
    # Rows within equal scores must follow the tie rule even away from the k-th place.
    return sort_topk(top_s, top_r, kk, key)


def score_shard(
    shard_path: str | Path,
    queries: np.ndarray,
    k: int,
    device: str = "cpu",
    *,
    start: int = 0,
    tiebreak: np.ndarray | None = None,
    threads: int | None = None,
) -> TopK:
    """Exact top-``k`` rows of one shard for every query.

    Args:
        shard_path: a ``shard-XXXXX.npy`` of the index, (rows, dim) float16 or float32.
        queries: (topics, dim) float32 query embeddings, already multiplied by
            ``1/heads`` so that a plain dot product is the LAFF similarity.
        k: how many rows to keep per topic (fewer if the shard is smaller).
        device: torch device to compute on ("cpu", "cuda", "cuda:1").
        start: global row number of the shard's first row (from the manifest).
        tiebreak: the tie keys of this shard's rows (``tie_key(ids)[start:stop]``, see
            :func:`avs.search.merge.tie_key`), so equal scores are ordered by shot id
            descending; without it, by row descending. Shard-sized, like everything
            a task holds.
        threads: CPU threads for this call (a worker's share of the cores); default:
            torch's thread count.

    Returns:
        ``(scores, rows)``: float32 and int64 arrays shaped (topics, min(k, rows)),
        sorted by the tie rule; ``rows`` are global row numbers.
    """
    import torch

    workers = threads or torch.get_num_threads()
    vectors = load_shard(shard_path)
    with torch.inference_mode():
        scores = score_block_matrix(vectors, queries, device, workers=workers)
        if tiebreak is not None and len(tiebreak) != scores.shape[1]:
            raise ValueError(f"tiebreak has {len(tiebreak)} keys for {scores.shape[1]} rows")
        top_s, top_r = topk_of_scores(scores, k, 0, tiebreak, workers=workers)
    if not np.isfinite(top_s).all():
        # NaN sorts above every score: one NaN row would take rank 1 of every topic.
        raise AvsError(
            f"index shard {shard_path}: NaN/Inf scores (a damaged shard or NaN rows); "
            "rebuild it with `avs index`"
        )
    return top_s, top_r + start
