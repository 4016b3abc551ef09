"""Benchmark `avs synth`: shots per second and peak resident memory.

Runs the real command in a subprocess (so peak RSS is the command's own) and prints
one line per figure. Default: a V3C2-size collection (1,500,000 shots) in a temporary
directory that is removed afterwards.

    .venv/bin/python benchmarks/synth_bench.py [--shots N] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=int, default=1_500_000)
    parser.add_argument("--train-videos", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--topics", default=str(ROOT / "topics" / "2022.txt"))
    parser.add_argument("--keep", help="write the collection here and keep it")
    args = parser.parse_args()

    tmp = None
    if args.keep:
        out = Path(args.keep)
    else:
        tmp = tempfile.mkdtemp(prefix="synth-bench-")
        out = Path(tmp) / "collection"
    cmd = [
        sys.executable,
        "-m",
        "avs",
        "synth",
        str(out),
        "--topics",
        args.topics,
        "--shots",
        str(args.shots),
        "--seed",
        str(args.seed),
        "--train-videos",
        str(args.train_videos),
        "--quiet",
    ]
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        peak_kib = usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime
        if proc.returncode != 0:
            print(proc.stdout + proc.stderr, file=sys.stderr)
            return proc.returncode
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    # 1-minute load average before and after (the run itself adds about 2 on 2 cores)
    print(
        f"machine       {platform.machine()}, {os.cpu_count()} cores, "
        f"load {load_before:.2f} before, {load:.2f} after"
    )
    print(f"shots         {args.shots:,} (+ {args.train_videos:,} training videos)")
    print(f"wall          {elapsed:.1f} s (everything: world, features, training, qrels)")
    print(f"throughput    {args.shots / elapsed:,.0f} shots/s")
    # On a shared machine wall time depends on the neighbours; CPU time much less.
    print(f"cpu           {cpu:.1f} s user+sys ({args.shots / cpu:,.0f} shots per CPU-second)")
    print(f"peak RSS      {peak_kib / 1024**2:.2f} GiB")
    print(f"output        {size / 1e9:.2f} GB")
    print(proc.stdout.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
