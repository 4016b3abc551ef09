"""Benchmark `avs eval`: one process on the real 2021 run, and 20 runs in one call vs
20 separate calls (of NIST's sample_eval.pl when --nist names it, else of `avs eval`).

`avs eval` always computes the coverage figures (judged@k, pooled@k, infAP_judged) with
infAP; the one-call timing is taken for the sample_eval output and for --json (which
prints them). The script is never copied here: pass its path.
Run: .venv/bin/python benchmarks/eval_bench.py [--runs 20] [--repeat 3] [--nist sample_eval.pl]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QRELS = ROOT / "tests" / "fixtures" / "trecvid" / "avs.qrels.main.tv21"
RUN = ROOT / "tests" / "fixtures" / "trecvid" / "tv21.RUCMM.trec"
AVS = Path(sys.executable).with_name("avs")


def make_runs(folder: Path, count: int) -> list[Path]:
    """``count`` variants of the real run: each topic's ranking partly shuffled (seeded)."""
    lines = RUN.read_text().splitlines()
    by_topic: dict[str, list[str]] = {}
    for line in lines:
        parts = line.split()
        by_topic.setdefault(parts[0], []).append(parts[2])
    paths = []
    for i in range(count):
        rng = random.Random(i)
        out = []
        for topic, shots in by_topic.items():
            shots = list(shots)
            for _ in range(200):  # swap a few neighbours
                k = rng.randrange(len(shots) - 1)
                shots[k], shots[k + 1] = shots[k + 1], shots[k]
            out += [f"{topic} 0 {s} {r} {10000 - r} V{i}" for r, s in enumerate(shots, 1)]
        path = folder / f"variant{i:02d}.trec"
        path.write_text("\n".join(out) + "\n")
        paths.append(path)
    return paths


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="best of N timings")
    parser.add_argument("--nist", type=Path, help="NIST's sample_eval.pl, the baseline")
    args = parser.parse_args()
    base = [str(AVS), "eval", "--qrels", str(QRELS), "--format", "sample_eval"]
    as_json = [str(AVS), "eval", "--qrels", str(QRELS), "--json"]
    if args.nist is not None:
        per_run, baseline = ["perl", str(args.nist), "-q", str(QRELS)], "NIST sample_eval.pl"
    else:
        per_run, baseline = base, "avs eval"
    with tempfile.TemporaryDirectory() as tmp:
        runs = make_runs(Path(tmp), args.runs)
        names = list(map(str, runs))
        single = min(timed([*base, str(RUN)]) for _ in range(args.repeat))
        together = min(timed([*base, *names]) for _ in range(args.repeat))
        together_json = min(timed([*as_json, *names]) for _ in range(args.repeat))
        separate = min(sum(timed([*per_run, run]) for run in names) for _ in range(args.repeat))
    print(f"one process, real 2021 run (20 topics x 1000): {single:.3f} s")
    print(f"{args.runs} runs, one call (sample_eval output): {together:.3f} s")
    print(f"{args.runs} runs, one call (--json, coverage):   {together_json:.3f} s")
    print(f"{args.runs} runs, {args.runs} separate {baseline} calls: {separate:.3f} s")
    print(f"speed-up of one call over separate calls:      {separate / together:.1f}x")
    print(f"speed-up, --json with coverage figures:        {separate / together_json:.1f}x")


if __name__ == "__main__":
    main()
