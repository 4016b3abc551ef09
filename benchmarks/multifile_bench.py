"""Every topic file of a collection in one pass (issue #14): four V3C1 topic files
(2019: 30 topics, 2020: 20, 2021: 20, progress: 20) scored against one index in one pass
(`avs score --topics ... --topics ...`, one GEMM per block for all 90 topics) vs one file
(30 topics) vs four separate passes, side by side in one process.

    .venv/bin/python benchmarks/multifile_bench.py [--shots 524288] [--dim 1024]

The index is random float16 shards written under benchmarks/.cache/ (what `avs index`
writes); the work timed is `avs.search.score.score_shard` over every shard, as the score
tasks run it, on all cores. Last line: ratio_four_files_vs_one=<t(90 topics) / t(30)>
ratio_separate_vs_one_pass=<t(4 separate) / t(one pass)> (target: the first <= 1.5).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from avs.search.score import score_shard

HERE = Path(__file__).resolve().parent
SHARD_ROWS = 65536
FILES = {"2019": 30, "2020": 20, "2021": 20, "progress": 20}


def make_shards(root: Path, shots: int, dim: int) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i, start in enumerate(range(0, shots, SHARD_ROWS)):
        path = root / f"shard-{i:05d}.npy"
        rows = min(SHARD_ROWS, shots - start)
        if not path.is_file():
            x = rng.standard_normal((rows, dim), dtype=np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            np.save(path, x.astype(np.float16))
        paths.append(path)
    return paths


def one_pass(paths: list[Path], queries: np.ndarray, k: int) -> float:
    t0 = time.perf_counter()
    for p in paths:
        score_shard(p, queries, k, threads=os.cpu_count())
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shots", type=int, default=8 * SHARD_ROWS)
    ap.add_argument("--dim", type=int, default=1024)
    ap.add_argument("--k", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    paths = make_shards(HERE / ".cache" / f"multi-{args.shots}x{args.dim}", args.shots, args.dim)
    rng = np.random.default_rng(1)
    queries = {y: rng.standard_normal((n, args.dim)).astype(np.float32) for y, n in FILES.items()}
    allq = np.concatenate(list(queries.values()))
    one_pass(paths, queries["2019"], args.k)  # warm the page cache and the thread pools
    best = {"one file (30 topics)": [], "four files, one pass (90)": [], "four separate passes": []}
    for _ in range(args.repeat):
        best["one file (30 topics)"].append(one_pass(paths, queries["2019"], args.k))
        best["four files, one pass (90)"].append(one_pass(paths, allq, args.k))
        best["four separate passes"].append(
            sum(one_pass(paths, q, args.k) for q in queries.values())
        )
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.shots:,} shots x "
          f"{args.dim} float16 in {len(paths)} shards, k={args.k}, best of {args.repeat}")  # fmt: skip
    for name, times in best.items():
        print(f"  {name:<28} {min(times):.3f} s")
    t1, t4, ts = (min(v) for v in best.values())
    print(f"ratio_four_files_vs_one={t4 / t1:.2f} ratio_separate_vs_one_pass={ts / t4:.2f}")


if __name__ == "__main__":
    main()
