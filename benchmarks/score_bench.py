"""Exact top-k scoring benchmark: avs vs faiss vs numpy on the same random unit vectors.

    python benchmarks/score_bench.py [--shots N] [--dim D] [--topics T] [--k K] [--device cuda]

Builds an index of N random unit vectors (float16 shards, as `avs index` writes them)
and T random unit queries, then times, on the same data:

  ours (in-process)        score_shard over every shard + merge_topk, all cores
  ours (LocalCluster x2)   the same tasks through a 2-worker LocalCluster (1 core each)
  faiss IndexFlatIP        default settings, float32 copy of the same vectors
  faiss BLAS forced        faiss.cvar.distance_compute_blas_threshold = 1
  numpy matmul+argpart     one float32 GEMM (T x N) then argpartition per topic

and the machine's measured float32 GEMM peak. Recall@K of each method is measured
against an exact float64 ranking. The last line is machine-readable:
ratio_vs_faiss=<faiss s / ours s> recall=<ours> gemm_fraction=<achieved / peak>.
--only-ours skips faiss and numpy (which need N x D float32 in memory): the scale check.

--device cuda scores on the GPU (the LocalCluster then has one worker, as `avs score`
starts it) and adds: the same scoring with the index already in GPU memory, the GPU's
measured memory bandwidth (device-to-device copy) and host-to-device copy rate; the last
line then also has bandwidth_fraction=<index bytes / resident seconds / bandwidth>.
faiss is skipped when it is not installed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def build_index(
    root: Path, n: int, dim: int, shard_rows: int, seed: int, dtype: str = "float16"
) -> list[tuple[str, int, int]]:
    """Random unit vectors as shard files of ``dtype``; returns [(path, start, stop)].

    Shard 0 is normalised Gaussian noise. Later shards are shard 0 with its rows
    shuffled, its dimensions permuted and their signs flipped at random: each vector is
    still exactly a uniformly random unit vector, and making one costs a gather instead
    of a Gaussian draw (6 s per 65536 x 4096 shard on the 2-core box)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((min(shard_rows, n), dim), dtype=np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    base = base.astype(dtype)
    shards = []
    for i, start in enumerate(range(0, n, shard_rows)):
        rows = min(shard_rows, n - start)
        if i == 0:
            x = base[:rows]
        else:
            signs = rng.choice(np.array([-1, 1], dtype), size=dim)
            # Fancy indexing on axis 1 returns Fortran order: make rows contiguous again.
            x = np.ascontiguousarray(
                base[rng.permutation(len(base))[:rows]][:, rng.permutation(dim)] * signs
            )
        path = root / f"shard-{i:05d}.npy"
        np.save(path, x)
        shards.append((str(path), start, start + rows))
    return shards


def exact_topk(shards, queries: np.ndarray, k: int) -> np.ndarray:
    """Rows of the exact top-k per query, computed in float64 shard by shard."""
    q = queries.astype(np.float64)
    best_s = np.full((len(q), 0), -np.inf)
    best_r = np.zeros((len(q), 0), np.int64)
    for path, start, _ in shards:
        x = np.load(path, mmap_mode="r")
        new = np.empty((len(q), len(x)))
        for b in range(0, len(x), 8192):  # bounded float64 temporaries
            new[:, b : b + 8192] = q @ x[b : b + 8192].astype(np.float64).T
        s = np.concatenate([best_s, new], 1)
        r = np.concatenate(
            [best_r, np.broadcast_to(np.arange(start, start + len(x)), new.shape)], 1
        )
        keep = np.argpartition(-s, min(k, s.shape[1] - 1), axis=1)[:, :k]
        best_s = np.take_along_axis(s, keep, 1)
        best_r = np.take_along_axis(r, keep, 1)
    return best_r


def recall(rows: np.ndarray, ref: np.ndarray) -> float:
    return float(
        np.mean([len(np.intersect1d(a, b)) / ref.shape[1] for a, b in zip(rows, ref, strict=True)])
    )


def gemm_peak(size: int = 2048, repeats: int = 5) -> float:
    """Best float32 GEMM rate (GFLOP/s) of torch (MKL) and numpy (OpenBLAS) on this machine."""
    import torch

    best = 0.0
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    ta = torch.from_numpy(a)
    for mul in (lambda: ta @ ta, lambda: a @ a):
        mul()
        for _ in range(repeats):
            t0 = time.perf_counter()
            mul()
            best = max(best, 2 * size**3 / (time.perf_counter() - t0) / 1e9)
    return best


def skinny_ceiling(dim: int, topics: int, seconds: float = 1.0) -> float:
    """GFLOP/s of the product our CPU scoring runs, (block x dim) @ (dim x topics) in
    float32 with the block already in L2 cache, one single-threaded GEMM per core on
    every core at once: the rate this shape can reach at best, without reading,
    widening or selecting anything."""
    import torch

    from avs.search.score import block_rows_for

    rows, cols = block_rows_for(dim), -(-topics // 16) * 16  # padded as score.py pads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()

    def run(_: int) -> int:
        torch.set_num_threads(1)
        blk, q, out = torch.randn(rows, dim), torch.randn(cols, dim), torch.empty(rows, cols)
        done, t_end = 0, time.perf_counter() + seconds
        while time.perf_counter() < t_end:
            torch.matmul(blk, q.T, out=out)
            done += 1
        return done

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(run, range(cores)))  # warm-up
        t0 = time.perf_counter()
        calls = sum(pool.map(run, range(cores)))
        wall = time.perf_counter() - t0
    return 2.0 * rows * dim * topics * calls / wall / 1e9


def cuda_seconds(fn, repeats: int = 5) -> float:
    """Best wall time of ``fn`` on the GPU over ``repeats`` synchronised runs, after one
    warm-up run."""
    import torch

    fn()
    best = float("inf")
    for _ in range(repeats):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_peak_cuda(size: int = 8192) -> float:
    """Best float32 GEMM rate (GFLOP/s) on the GPU, TF32 as torch has it (off by default,
    and the first line of the output says so)."""
    import torch

    a = torch.randn(size, size, device="cuda")
    return 2 * size**3 / cuda_seconds(lambda: a @ a) / 1e9


def numpy_topk(queries: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    """The plain baseline: one float32 GEMM (T x N), argpartition, sort the k per topic."""
    s = queries @ x.T
    part = np.argpartition(-s, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(s, part, 1), axis=1)
    return np.take_along_axis(part, order, 1)


def timed(fn, repeat: int):
    """(best seconds, last result) over ``repeat`` runs."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def ours_inprocess(shards, queries, k, device="cpu"):
    from avs.search.merge import empty_topk, merge_topk
    from avs.search.score import score_shard

    acc = empty_topk(len(queries))
    for path, start, _ in shards:
        acc = merge_topk(acc, score_shard(path, queries, k, device, start=start), k)
    return acc[1]


def ours_resident(x, queries, k):
    """Our scoring functions over the whole index already in GPU memory as one matrix:
    the kernels alone, no disk, no host-to-device copy, no per-shard merge."""
    from avs.search.score import score_block_matrix, topk_of_scores

    return topk_of_scores(score_block_matrix(x, queries, "cuda"), k)[1]


def gpu_bandwidths(nbytes: int = 2 << 30) -> tuple[float, float, float]:
    """(device memory GB/s counting bytes read + written, pinned and pageable host-to-device
    GB/s), each the best of 5 copies."""
    import torch

    a = torch.empty(nbytes, dtype=torch.uint8, device="cuda")
    b = torch.empty_like(a)
    d2d = 2 * nbytes / cuda_seconds(lambda: b.copy_(a)) / 1e9
    host = torch.empty(nbytes // 4, dtype=torch.uint8)
    pinned = host.pin_memory()
    h2d_pinned = len(pinned) / cuda_seconds(lambda: a[: len(pinned)].copy_(pinned)) / 1e9
    h2d_pageable = len(host) / cuda_seconds(lambda: a[: len(host)].copy_(host)) / 1e9
    return d2d, h2d_pinned, h2d_pageable


def ours_cluster(client, shards, queries, k, device="cpu"):
    from avs.search.cluster import score_shards
    from avs.search.merge import empty_topk, merge_topk

    acc = empty_topk(len(queries))
    threads = None if device == "cuda" else 1
    for _, scores, rows, _ in score_shards(client, shards, queries, k, device, threads=threads):
        acc = merge_topk(acc, (scores, rows), k)
    return acc[1]


def reset_peak_rss() -> None:
    """Linux: restart this process's peak-RSS counter (VmHWM), so a phase is measured alone."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def peak_rss_mib() -> float:
    """Peak resident memory of this process since the last reset, MiB."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shots", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--topics", type=int, default=30)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--shard-rows", type=int, default=65536)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--only-ours", action="store_true", help="skip faiss and numpy (scale check)")
    ap.add_argument("--no-cluster", action="store_true", help="skip the LocalCluster run")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where we score")
    ap.add_argument(
        "--index-dtype",
        choices=["float16", "float32"],
        default="float16",
        help="shard dtype (`avs index --dtype`; float16 is its default)",
    )
    ap.add_argument(
        "--workdir", type=Path, default=None, help="where shards go (default: a temp dir)"
    )
    args = ap.parse_args()
    import torch

    n, d, t, k = args.shots, args.dim, args.topics, args.k
    device = args.device
    cuda = device == "cuda"
    if cuda and not torch.cuda.is_available():
        raise SystemExit("--device cuda: torch sees no CUDA device")
    flops = 2.0 * t * n * d
    root = Path(tempfile.mkdtemp(prefix="score-bench-", dir=args.workdir))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    )
    if cuda:
        props = torch.cuda.get_device_properties(0)
        print(
            f"gpu: {props.name}, {props.total_memory / 2**30:.0f} GiB, torch {torch.__version__}, "
            f"tf32 matmul {torch.backends.cuda.matmul.allow_tf32}"
        )
    print(
        f"data: {n:,} shots x {d} dims ({args.index_dtype} shards of {args.shard_rows:,}), {t} topics, k={k}"
    )
    try:
        t0 = time.perf_counter()
        shards = build_index(root, n, d, args.shard_rows, seed=0, dtype=args.index_dtype)
        rng = np.random.default_rng(1)
        queries = rng.standard_normal((t, d), dtype=np.float32)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        print(f"built index in {time.perf_counter() - t0:.1f}s; exact float64 reference ...")
        ref = exact_topk(shards, queries, k)
        peak = gemm_peak_cuda() if cuda else gemm_peak()
        rows_of: dict[str, tuple[float, float]] = {}  # method -> (seconds, recall)

        ours_inprocess(shards[:1], queries, k, device)  # warm-up: imports, thread pools
        rss_base = peak_rss_mib()
        reset_peak_rss()
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        sec, rows = timed(lambda: ours_inprocess(shards, queries, k, device), args.repeat)
        rss_inproc = peak_rss_mib()
        name = "ours (in-process" + (", GPU)" if cuda else ")")
        rows_of[name] = (sec, recall(rows, ref))
        ours_s, ours_recall = rows_of[name]
        gpu_note = resident_s = bandwidth = ""
        if cuda:
            gpu_mib = torch.cuda.max_memory_allocated() / 2**20
            from avs.search.score import _split_query_scores

            x = torch.cat([torch.from_numpy(np.load(p)).cuda() for p, _, _ in shards])
            split = _split_query_scores(x[:8], torch.from_numpy(queries).cuda(), 8)
            print(
                f"float16 GEMM with split queries: {'used' if split is not None else 'unavailable'}"
            )
            ours_resident(x, queries, k)
            resident_s, rows = timed(lambda: ours_resident(x, queries, k), args.repeat)
            rows_of["ours (index resident on GPU)"] = (resident_s, recall(rows, ref))
            del x
            bandwidth, h2d_pinned, h2d_pageable = gpu_bandwidths()
            gpu_note = (
                f"\nGPU memory bandwidth (device copy, read+write) {bandwidth:,.0f} GB/s; "
                f"host->device {h2d_pinned:.1f} GB/s pinned, {h2d_pageable:.1f} GB/s pageable; "
                f"peak GPU memory while scoring in-process {gpu_mib:,.0f} MiB"
            )
        cluster_note = ""
        if not args.no_cluster:
            from distributed import Client, LocalCluster

            workers = 1 if cuda else 2
            with (
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    dashboard_address=None,
                    silence_logs=40,
                ) as cluster,
                Client(cluster) as client,
            ):
                # warm-up: workers import torch (and start CUDA)
                ours_cluster(client, shards[:2], queries, k, device)
                client.run(reset_peak_rss)
                sec, rows = timed(
                    lambda: ours_cluster(client, shards, queries, k, device), args.repeat
                )
                rows_of[f"ours (LocalCluster x{workers})"] = (sec, recall(rows, ref))
                peaks = sorted(round(v) for v in client.run(peak_rss_mib).values())
                cluster_note = f"worker peak RSS MiB (while scoring): {peaks}"

        faiss_s = None
        try:
            import faiss
        except ImportError:
            faiss = None
            print("faiss not installed: its rows are skipped")
        if not args.only_ours and faiss is not None:
            x = np.empty((n, d), np.float32)
            for path, start, _ in shards:
                blk = np.load(path)
                x[start : start + len(blk)] = blk
            index = faiss.IndexFlatIP(d)
            index.add(x)
            del x
            xb = faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d)  # view, no copy
            default_thr = faiss.cvar.distance_compute_blas_threshold
            sec, (_, rows) = timed(lambda: index.search(queries, k), args.repeat)
            rows_of["faiss IndexFlatIP (default)"] = (sec, recall(rows, ref))
            faiss_s = sec
            faiss.cvar.distance_compute_blas_threshold = 1
            sec, (_, rows) = timed(lambda: index.search(queries, k), args.repeat)
            rows_of["faiss IndexFlatIP (BLAS forced)"] = (sec, recall(rows, ref))
            faiss.cvar.distance_compute_blas_threshold = default_thr
            sec, rows = timed(lambda: numpy_topk(queries, xb, k), args.repeat)
            rows_of["numpy matmul + argpartition"] = (sec, recall(rows, ref))
            del index, xb
        elif not args.only_ours:  # no faiss: numpy on its own float32 copy
            x = np.concatenate([np.load(path) for path, _, _ in shards]).astype(np.float32)
            sec, rows = timed(lambda: numpy_topk(queries, x, k), args.repeat)
            rows_of["numpy matmul + argpartition"] = (sec, recall(rows, ref))
            del x

        print(
            f"\n{'method':34s} {'seconds':>9s} {'shots/s':>12s} {'GFLOP/s':>9s} {'recall@' + str(k):>12s}"
        )
        for name, (sec, rc) in rows_of.items():
            print(f"{name:34s} {sec:9.3f} {n / sec:12,.0f} {flops / sec / 1e9:9.1f} {rc:12.5f}")
        peak_name = "float32 GEMM peak (GPU, no TF32)" if cuda else "float32 GEMM peak (measured)"
        print(f"{peak_name:34s} {'':9s} {'':12s} {peak:9.1f}")
        width = np.dtype(args.index_dtype).itemsize
        shard_mib = args.shard_rows * d * width / 2**20
        print(
            f"shard {shard_mib:.0f} MiB, index {n * d * width / 2**20:.0f} MiB; peak RSS MiB while "
            f"scoring in-process: {rss_inproc:.0f} (before: {rss_base:.0f}); {cluster_note}"
            f"{gpu_note}"
        )
        for name in rows_of:
            if name.startswith("ours (LocalCluster"):
                slow = rows_of[name][0] / ours_s - 1
                print(f"{name[6:-1]} vs in-process: {slow:+.1%}")
        if faiss_s is not None:
            print(
                f"faiss BLAS-forced / ours: {rows_of['faiss IndexFlatIP (BLAS forced)'][0] / ours_s:.2f}x"
            )
        if not cuda:
            ceiling = skinny_ceiling(d, t)
            print(
                f"same-shape ceiling ({t} topics x {d}-d from L2, all cores): {ceiling:.1f} GFLOP/s; "
                f"ours reaches {flops / ours_s / 1e9 / ceiling:.3f} of it"
            )
        print(json.dumps({"shots": n, "dim": d, "topics": t, "k": k}))
        ratio = f"{faiss_s / ours_s:.2f}" if faiss_s else "nan"
        last = f"ratio_vs_faiss={ratio} recall={ours_recall:.5f} gemm_fraction={flops / ours_s / 1e9 / peak:.3f}"
        if cuda:
            last += f" bandwidth_fraction={n * d * width / resident_s / 1e9 / bandwidth:.3f}"
        print(last)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
