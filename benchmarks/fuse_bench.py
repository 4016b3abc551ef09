"""Benchmark `avs fuse` and `avs fuse-learn` (issue 12): speed, methods, learnt weights.

1. Speed: 10 runs x 30 topics x 1000 shots fused (in memory, and file to file).
2. Methods: every method/normalisation with equal weights on (a) the real RUCMM 2021
   run + a perturbed copy that knows some relevant shots it misses (seeds 1-3; partly
   SIMULATED), (b) SIMULATED systems of known quality on a small `avs synth` collection.
3. Learning: 5 SIMULATED systems x 3 years: time, candidates, and per held-out year the
   cross-validated figure beside in-sample, equal weights and the best single system.

Run: .venv/bin/python benchmarks/fuse_bench.py [--out FILE]  (prints the section; --out also
writes it to FILE, for pasting into benchmarks/RESULTS.md)
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "trecvid"
QRELS = FIXTURES / "avs.qrels.main.tv21"
RUCMM = FIXTURES / "tv21.RUCMM.trec"
YEARS = ("2019", "2020", "2021")
COMBOS = [
    ("combsum", "minmax"),
    ("combsum", "zscore"),
    ("combsum", "rank"),
    ("combsum", "none"),
    ("combmnz", "minmax"),
    ("combmnz", "rank"),
    ("rrf", None),
    ("borda", None),
]


def speed(tmp: Path, repeat: int) -> list[str]:
    from avs.fusion.fuse import FusionSpec, fuse_files, fuse_inputs
    from avs.fusion.inputs import load_inputs
    from avs.io.runs import write_run
    from avs.ties import tie_order

    rng = np.random.default_rng(0)
    paths = []
    for r in range(10):
        cols: list[list] = [[], [], [], []]
        for t in range(701, 731):
            shots = np.array([f"shot{v:05d}_{s}" for v, s in rng.integers(1, 3000, (1000, 2))])
            shots = np.unique(shots)[:1000]
            scores = rng.standard_normal(len(shots)).astype(np.float32)
            order = tie_order(shots, scores)
            cols[0].append(np.full(len(shots), t))
            cols[1].append(np.arange(1, len(shots) + 1))
            cols[2].append(shots[order])
            cols[3].append(scores[order])
        path = tmp / f"speed{r}.parquet"
        write_run(path, *(np.concatenate(c) for c in cols), {"year": 2022, "simulated": True})
        paths.append(path)
    inputs = load_inputs(paths)
    lines = [
        "| method | fuse in memory (median) | file to file, `fuse_files` (median) |",
        "|---|---|---|",
    ]
    for method, norm in (("combsum", "minmax"), ("rrf", None), ("borda", None)):
        mem, disk = [], []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fuse_inputs(inputs, FusionSpec(method, norm))
            mem.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            fuse_files(paths, tmp / "fused.parquet", method=method, norm=norm, overwrite=True)
            disk.append(time.perf_counter() - t0)
        lines.append(
            f"| {method}{'/' + norm if norm else ''} | {statistics.median(mem):.3f} s | "
            f"{statistics.median(disk):.3f} s |"
        )
    return lines


def methods_real(tmp: Path) -> list[str]:
    from avs.eval.api import evaluate_files
    from avs.fusion.fuse import fuse_files
    from avs.fusion.simulate import perturbed_run

    header = "| input B (seed) | RUCMM | B | " + " | ".join(_label(c) for c in COMBOS) + " |"
    lines = [header, "|" + "---|" * (3 + len(COMBOS))]
    for seed in (1, 2, 3):
        b = perturbed_run(RUCMM, QRELS, tmp / f"b{seed}.trec", seed=seed)
        outs = []
        for method, norm in COMBOS:
            out = tmp / f"real-{seed}-{method}-{norm}.parquet"
            fuse_files([RUCMM, b], out, method=method, norm=norm, overwrite=True)
            outs.append(out)
        values = [r.evaluation.all["infAP"] for r in evaluate_files(QRELS, [RUCMM, b, *outs])]
        lines.append(f"| perturbed ({seed}) | " + " | ".join(f"{v:.4f}" for v in values) + " |")
    return lines


def _label(combo: tuple[str, str | None]) -> str:
    return combo[0] + (f"/{combo[1]}" if combo[1] else "")


def synth(tmp: Path) -> tuple[Path, list[Path]]:
    from avs.fusion.simulate import simulated_runs
    from avs.io.features import FeatureStore

    coll = tmp / "coll"
    args = [sys.executable, "-m", "avs", "synth", str(coll), "--shots", "20000", "--seed", "1"]
    args += ["--train-videos", "50", "--captions", "1", "--quiet"]
    for year in YEARS:
        args += ["--topics", str(ROOT / "topics" / f"{year}.txt")]
    subprocess.run(args, check=True)
    with FeatureStore(coll / "shots.h5") as store:
        ids = store.ids
    runs = []
    for year in YEARS:
        runs += simulated_runs(coll / "truth" / f"{year}.qrels", ids, tmp, year, seed=3)
    return coll, runs


def methods_simulated(tmp: Path, coll: Path, runs: list[Path]) -> list[str]:
    from avs.eval.api import evaluate_files
    from avs.fusion.fuse import fuse_files

    sets = {"all 5 systems": range(5), "best 2 (sys0, sys1)": (0, 1), "sys1 + sys2": (1, 2)}
    header = "| SIMULATED inputs | best single | " + " | ".join(_label(c) for c in COMBOS) + " |"
    lines = [header, "|" + "---|" * (2 + len(COMBOS))]
    for label, members in sets.items():
        per_year = []
        for year in YEARS:
            chosen = [p for p in runs if p.name.endswith(f"-{year}.parquet")]
            chosen = [chosen[i] for i in members]
            outs = []
            for method, norm in COMBOS:
                out = tmp / f"sim-{year}-{method}-{norm}.parquet"
                fuse_files(chosen, out, method=method, norm=norm, overwrite=True)
                outs.append(out)
            results = evaluate_files(coll / "qrels" / f"{year}.qrels", [*chosen, *outs])
            values = [r.evaluation.all["infAP"] for r in results]
            per_year.append([max(values[: len(chosen)]), *values[len(chosen) :]])
        mean = np.mean(per_year, axis=0)
        lines.append(f"| {label} | " + " | ".join(f"{v:.4f}" for v in mean) + " |")
    return lines


def learning(coll: Path, runs: list[Path]) -> list[str]:
    from avs.cli.fuse_learn import format_result
    from avs.fusion.inputs import load_inputs
    from avs.fusion.learn import _group, _Problem, _search, learn

    inputs = load_inputs(runs)
    qrels = {y: coll / "qrels" / f"{y}.qrels" for y in YEARS}
    t0 = time.perf_counter()
    result = learn(inputs, qrels)
    total = time.perf_counter() - t0
    # the in-sample search alone (what one weight search costs), on the prepared years
    _, years, _ = _group(inputs, qrels)
    problem = _Problem(years, 60, 1000)
    problem.topics(years[0], "wsum", "minmax")  # warm the caches as learn() does
    for y in years:
        problem.topics(y, "wsum", "minmax")
    t0 = time.perf_counter()
    _search(problem, len(result.models), [("wsum", "minmax")], [(y, None) for y in years])
    search = time.perf_counter() - t0
    return [
        f"5 SIMULATED systems x 3 years ({sum(len(y.topics) for y in years)} topics): "
        f"`learn` (load excluded: search on all years + 3 leave-one-year-out searches + "
        f"exact figures) {total:.1f} s, {result.candidates} candidates; one search over all "
        f"years {search:.1f} s ({problem.candidates} candidates, "
        f"{search / max(problem.candidates, 1) * 1000:.1f} ms each).",
        "",
        "```",
        format_result(result),
        "```",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        sections = [
            "## Fusion (benchmarks/fuse_bench.py, issue 12)",
            "",
            f"Machine: {platform.processor() or platform.machine()}, "
            f"{len(__import__('os').sched_getaffinity(0))} cores usable; "
            f"python {platform.python_version()}. Every figure on SIMULATED runs says so.",
            "",
            "### Speed: 10 runs x 30 topics x 1000 shots",
            "",
            *speed(tmp, args.repeat),
            "",
            "### Methods on the real RUCMM 2021 run + a perturbed copy (infAP, NIST's qrels)",
            "",
            "B is RUCMM's ranking with log-rank noise, a fifth of its shots dropped and an",
            "eighth of the judged relevant shots it misses brought in (partly SIMULATED).",
            "",
            *methods_real(tmp),
            "",
        ]
        coll, runs = synth(tmp)
        sections += [
            "### Methods on SIMULATED systems (mean infAP over 2019-2021, equal weights)",
            "",
            "avs synth --shots 20000 --seed 1, systems of quality 2.4, 1.8, 1.2, 0.7, 0.4",
            "(avs.fusion.simulate, seed 3).",
            "",
            *methods_simulated(tmp, coll, runs),
            "",
            "### Learnt weights (SIMULATED systems, leave-one-year-out)",
            "",
            *learning(coll, runs),
            "",
        ]
    text = "\n".join(sections)
    if args.out is not None:
        args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
