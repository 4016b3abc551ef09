"""Load benchmark (issue 7): `avs score` on 200 topics x 1,000,000 shots and `avs eval` on
200 runs, each through the real CLI in a subprocess; prints wall time and peak memory.

    python benchmarks/load_bench.py [--shots 1000000] [--topics 200] [--k 1000] [--runs 200]

Score: the index holds random unit vectors (float16 shards written by score_bench's
generator) under the fingerprint of the search tests' tiny model (4 heads x 8 = 32-d),
so the topics go through the real text encoder and the run through the real driver,
LocalCluster, merge and Parquet writer. The GEMM is small at 32-d; score_bench.py
measures GEMM speed at realistic dimensions. Eval: 200 Parquet runs against NIST's 2021
qrels (tests/fixtures), 20 topics x ~1000 shots each.

Memory: "driver" is the CLI process's own peak RSS and that of any one process it
reaped (wait4's ru_maxrss); "tree" is the peak of the summed RSS of the CLI and all
its descendants (LocalCluster workers), sampled every 0.1 s with psutil.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(HERE), str(REPO)]  # score_bench; the tests' helpers (tests.support)

MIB = 1 << 20


def measure(args: list[str], cwd: Path) -> dict[str, float]:
    """Run ``avs ARGS``: wall seconds, driver and process-tree peak RSS in MiB."""
    from tests.support.cli import measure_avs

    m = measure_avs(args, cwd)
    if m.returncode != 0:
        sys.exit(f"avs {' '.join(args[:2])} failed:\n{m.stderr}")
    return {
        "wall_s": round(m.wall, 1),
        "driver_peak_mib": round(m.driver_peak / MIB),
        "tree_peak_mib": round(m.tree_peak / MIB),
    }


def make_index(root: Path, shots: int, shard_rows: int) -> tuple[Path, Path]:
    """A model directory and a random index of ``shots`` rows that the model accepts."""
    from score_bench import build_index as random_shards

    from tests.support.searchkit import make_model

    model = root / "model"
    fingerprint = make_model(model)
    dim = 32  # make_model: 4 heads x 8
    index = root / "index"
    index.mkdir()
    shards = random_shards(index, shots, dim, shard_rows, seed=0)
    ids = "".join(f"shot{1 + i // 100:05d}_{1 + i % 100}\n" for i in range(shots))
    (index / "ids.txt").write_text(ids)
    manifest = {
        "format": "avs-index", "version": 1, "fingerprint": fingerprint, "model": str(model),
        "collection": "random", "n": shots, "dim": dim, "heads": 4, "dtype": "float16",
        "simulated": True, "complete": True,
        "shards": [{"file": Path(p).name, "start": s, "stop": e} for p, s, e in shards],
    }  # fmt: skip
    (index / "manifest.json").write_text(json.dumps(manifest))
    return model, index


def topic_file(path: Path, count: int) -> Path:
    """``count`` topics of 3-6 words the tiny model knows (numbers from 701)."""
    from tests.support.searchkit import WORDS

    rng = np.random.default_rng(0)
    lines = [
        f"{701 + i} " + " ".join(rng.choice(WORDS, size=rng.integers(3, 7))) for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=1_000_000)
    parser.add_argument("--topics", type=int, default=200)
    parser.add_argument("--k", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--shard-rows", type=int, default=65536)
    opts = parser.parse_args()

    from tests.support.files import QRELS_2021, write_eval_runs

    with tempfile.TemporaryDirectory(prefix="avs-load-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        model, index = make_index(root, opts.shots, opts.shard_rows)
        topics = topic_file(root / "2022.txt", opts.topics)
        print(
            f"index: {opts.shots:,} shots x 32-d float16 built in {time.perf_counter() - t0:.1f} s"
        )
        score = measure(
            [
                "score",
                "--topics",
                str(topics),
                "--index",
                str(index),
                "--model",
                str(model),
                "--run-name",
                "load",
                "--runs",
                str(root / "runs"),
                "--k",
                str(opts.k),
                "--device",
                "cpu",
                "-q",
            ],  # fmt: skip
            root,
        )
        from avs.io.runs import read_run

        run = read_run(root / "runs" / "load.parquet")
        assert len(run.topics) == opts.topics and len(run.topic) == opts.topics * opts.k
        print(f"score: {opts.topics} topics x {opts.shots:,} shots, k={opts.k}: {score}")

        t0 = time.perf_counter()
        runs = write_eval_runs(root / "eval", opts.runs)
        print(f"eval runs: {opts.runs} written in {time.perf_counter() - t0:.1f} s")
        evaluation = measure(["eval", "--qrels", str(QRELS_2021), *map(str, runs), "--json"], root)
        results = json.loads((root / "stdout.txt").read_text())
        assert len(results["runs"]) == opts.runs
        print(f"eval: {opts.runs} runs x 20 topics (2021 qrels): {evaluation}")
        print(
            f"score_wall_s={score['wall_s']} score_tree_peak_mib={score['tree_peak_mib']} "
            f"eval_wall_s={evaluation['wall_s']} eval_peak_mib={evaluation['driver_peak_mib']}"
        )


if __name__ == "__main__":
    main()
