"""Known-truth benchmark: how well does infAP (and condensed infAP) rank systems? SIMULATED.

On simulated collections written by ``avs synth`` (full truth in truth/YEAR.qrels,
NIST-style sampled qrels pooled from simulated systems), score

- the POOLED systems: the rankings ``avs.synth.judgements.judge`` pools from,
  regenerated from the collection's seed (checked: their union of top-``depth`` shots
  must be exactly the qrels' pool, topic by topic, or the benchmark stops);
- POST-HOC systems, not in the pool: noisy rankings of the whole collection from the
  truth, a system blind to part of the relevant shots, one that favours shots outside
  the pool, and fused runs (CombSUM, reciprocal-rank fusion) of pooled and post-hoc runs;

with the library in-process (``avs.eval.api.evaluate_loaded``: infAP, infAP_judged,
judged@k, pooled@k, true AP from the truth), and report per system the mean infAP vs
true AP (bias), Kendall's tau between the system rankings, the share of system pairs
ordered the wrong way, and that share split by coverage.

Every figure is on SIMULATED data. Run (a minute or two on 2 cores):
    .venv/bin/python benchmarks/infap_truth_bench.py [--seeds 1 2 3] [--shots 20000]
or on collections you made with ``avs synth DIR --topics ... --shots N --seed S``:
    .venv/bin/python benchmarks/infap_truth_bench.py --collection DIR [--collection DIR2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from avs.eval.api import RunEvaluation, evaluate_loaded
from avs.eval.coverage import low_coverage
from avs.eval.measures import POOLED_WARN
from avs.eval.runs import LoadedRun
from avs.eval.truth import relevant_sets
from avs.eval.xinfap import TopicJudgements, prepare_qrels
from avs.io.qrels import read_qrels
from avs.io.records import Qrel, qrels_topic
from avs.io.topics import read_topics
from avs.synth import judgements
from avs.synth.collection import near_misses_kept, rows_by_topic, synthesize
from avs.synth.extractors import ExtractorSpec
from avs.synth.judgements import NEAR_SCORE, SYSTEM_QUALITY, pool_depth
from avs.synth.world import S_JUDGE, World, build_world, n_blocks, rng_for, shot_block

ROOT = Path(__file__).resolve().parents[1]
K = 1000  # ranked shots per topic, as in TRECVID
# The benchmark needs only qrels and truth, which do not depend on the extractors: one
# tiny extractor keeps `synthesize` fast; the qrels and truth files are byte-identical to
# `avs synth OUT --topics T --shots N --seed S` (checked with cmp for seed 1, 20,000 shots).
TINY_FEATURES = (ExtractorSpec("tiny", 8, {"object": 0.5}),)
LADDER = (2.0, 2.25, 2.5, 2.75, 3.0, 3.25, 3.5, 3.75, 4.0)  # post-hoc signal-to-noise
S_POSTHOC = 1000  # random stream of the post-hoc systems (apart from synth's own streams)
Ranking = dict[str, list[tuple[str, float]]]  # qrels topic id -> [(shot, score), ...]


@dataclass(frozen=True)
class Pool:
    """The qrels the systems are scored against: the collection's, or a part of it."""

    name: str
    systems: tuple[str, ...]  # the pooled systems (names of pooled_systems' runs)
    depth_share: float  # pool depth as a share of the collection's (synth's) depth


ALL_POOLED = tuple(f"pool-q{q}" for q in SYSTEM_QUALITY)
# Shallower pools (and pools of fewer systems) miss relevant shots, as real pools do; the
# qrels are the collection's restricted to the smaller pool: its shots keep their stratum
# and their sampled judgement, so within each stratum the judged shots stay a random sample.
POOLS = (
    Pool("synth pool (6 systems, depth D)", ALL_POOLED, 1.0),
    Pool("shallow (6 systems, depth D/4)", ALL_POOLED, 0.25),
    Pool("3 of 6 systems, depth D/4", ("pool-q3.0", "pool-q1.6", "pool-q0.7"), 0.25),
)


@dataclass(frozen=True)
class System:
    """One system's run on one collection, scored."""

    name: str
    pooled: bool
    infap: float
    infap_judged: float
    true_ap: float
    pooled_at: dict[int, float]  # k -> pooled@k (mean over topics)
    judged_at: dict[int, float]  # k -> judged@k


@dataclass(frozen=True)
class Collection:
    """What the benchmark reads back of one simulated collection."""

    path: Path
    seed: int
    shots: int
    year: str
    world: World
    qrels: list[Qrel]
    truth: dict[str, set[str]]
    qrels_path: Path
    truth_path: Path
    relevant: dict[int, np.ndarray]  # topic index -> relevant rows
    near: dict[int, np.ndarray]  # topic index -> near-miss rows kept for pooling


def open_collection(path: Path) -> Collection:
    """Read an ``avs synth`` collection and rebuild its world, relevant and near rows."""
    meta = json.loads((path / "collection.json").read_text())
    if not meta.get("simulated"):
        sys.exit(f"{path}: not a simulated collection (collection.json simulated != true)")
    topic_sets = {label: read_topics(path / y["topics"]) for label, y in meta["years"].items()}
    world = build_world(topic_sets, meta["shots"], meta["seed"], meta.get("difficulty", 1.0))
    year = sorted(meta["years"])[-1]
    keep_near = near_misses_kept(world)
    blocks = [shot_block(world, b, keep_near=keep_near) for b in range(n_blocks(world.shots))]
    qrels_path = path / meta["years"][year]["qrels"]
    truth_path = path / meta["years"][year]["truth"]
    return Collection(
        path=path,
        seed=meta["seed"],
        shots=meta["shots"],
        year=year,
        world=world,
        qrels=read_qrels(qrels_path),
        truth=relevant_sets(read_qrels(truth_path)),
        qrels_path=qrels_path,
        truth_path=truth_path,
        relevant=rows_by_topic([b.relevant for b in blocks]),
        near=rows_by_topic([b.near for b in blocks]),
    )


def topic_indices(col: Collection) -> list[int]:
    """Indices (into world.topics) of the year's topics."""
    return [i for i, t in enumerate(col.world.topics) if t.year == col.year]


def top_k(ids: list[str], scores: np.ndarray) -> list[tuple[str, float]]:
    """The K best (shot, score) pairs; scores are continuous, so ties do not occur."""
    order = np.argsort(-scores, kind="stable")[:K]
    return [(ids[i], float(scores[i])) for i in order.tolist()]


def pooled_systems(col: Collection) -> dict[str, Ranking]:
    """The rankings `judge` pools from, rebuilt with avs.synth.judgements.pooled_systems
    on the topic's judging stream; the pool they give is checked against the qrels."""
    depth = pool_depth(col.world.shots)
    runs: dict[str, Ranking] = {f"pool-q{q}": {} for q in SYSTEM_QUALITY}
    for t in topic_indices(col):
        tid = qrels_topic(col.world.topics[t].number)
        rng = rng_for(col.world.seed, S_JUDGE, t)
        rel = col.relevant.get(t, np.zeros(0, dtype=np.int64))
        near = col.near.get(t, np.zeros(0, dtype=np.int64))
        systems = judgements.pooled_systems(col.world, rng, rel, near)
        ids = col.world.shot_ids(systems.candidates)
        pool: set[str] = set()
        in_qrels = {q.shot for q in col.qrels if q.topic == tid}
        for q, score in zip(SYSTEM_QUALITY, systems.scores, strict=True):
            ranked = top_k(ids, score)
            runs[f"pool-q{q}"][tid] = ranked
            pool.update(shot for shot, _ in ranked[:depth])
        if pool != in_qrels:
            sys.exit(
                f"{col.path}: regenerated pool of topic {tid} differs from the qrels "
                "(avs/synth/judgements.py changed? update pooled_systems to match)"
            )
    return runs


def posthoc_systems(col: Collection, pooled: dict[str, Ranking]) -> dict[str, Ranking]:
    """Systems not in the pool: they rank every shot of the collection."""
    world = col.world
    runs: dict[str, Ranking] = {}
    ids = world.shot_ids()
    row_of = {shot: row for row, shot in enumerate(ids)}

    def add(name: str, tid: str, ranked: list[tuple[str, float]]) -> None:
        runs.setdefault(name, {})[tid] = ranked

    pool = pool_shots(col, pooled, POOLS[0])
    for t in topic_indices(col):
        tid = qrels_topic(world.topics[t].number)
        rng = np.random.default_rng([col.seed, S_POSTHOC, t])
        rel = col.relevant.get(t, np.zeros(0, dtype=np.int64))
        level = np.zeros(world.shots)
        level[col.near.get(t, np.zeros(0, dtype=np.int64))] = NEAR_SCORE
        level[rel] = 1.0
        in_pool = np.zeros(world.shots, dtype=bool)
        in_pool[[row_of[shot] for shot in pool[tid]]] = True
        noise = rng.standard_normal((len(LADDER) + 3, world.shots))
        # a ladder of close systems: the pairs that are hard to order
        for i, q in enumerate(LADDER):
            add(f"post-truth-q{q}", tid, top_k(ids, q * level + noise[i]))
        for i, miss in enumerate((0.2, 0.4), start=len(LADDER)):
            seen = level.copy()
            seen[rel[rng.random(len(rel)) < miss]] = 0.0  # blind to a share of the relevant
            add(f"post-blind{round(100 * miss)}-q4", tid, top_k(ids, 4.0 * seen + noise[i]))
        # a different model family: likes shots the pooled systems did not return
        add("post-offpool-q3", tid, top_k(ids, 3.0 * level + 1.5 * ~in_pool + noise[-1]))
    runs["fused-sum(pool-q2.2,post-q3)"] = _fuse(
        [pooled["pool-q2.2"], runs["post-truth-q3.0"]], _minmax
    )
    runs["fused-rrf(pool-q1.1,blind40)"] = _fuse(
        [pooled["pool-q1.1"], runs["post-blind40-q4"]], _rrf
    )
    return runs


def pool_shots(col: Collection, pooled: dict[str, Ranking], pool: Pool) -> dict[str, set[str]]:
    """topic -> shots in the top depth of the pool's systems."""
    depth = max(1, round(pool.depth_share * pool_depth(col.shots)))
    topics = pooled[pool.systems[0]]
    return {
        tid: {shot for name in pool.systems for shot, _ in pooled[name][tid][:depth]}
        for tid in topics
    }


def pool_qrels(
    col: Collection, pooled: dict[str, Ranking], pool: Pool
) -> dict[str, TopicJudgements]:
    """The collection's qrels restricted to ``pool``, prepared for scoring."""
    keep = pool_shots(col, pooled, pool)
    return prepare_qrels([q for q in col.qrels if q.shot in keep.get(q.topic, ())])


def _minmax(ranked: list[tuple[str, float]]) -> dict[str, float]:
    scores = [s for _, s in ranked]
    lo, span = min(scores), (max(scores) - min(scores)) or 1.0
    return {shot: (s - lo) / span for shot, s in ranked}


def _rrf(ranked: list[tuple[str, float]]) -> dict[str, float]:
    return {shot: 1.0 / (60 + r) for r, (shot, _) in enumerate(ranked, start=1)}


def _fuse(
    runs: Sequence[Ranking], norm: Callable[[list[tuple[str, float]]], dict[str, float]]
) -> Ranking:
    """Sum of normalised scores per shot (absent = 0), top K per topic."""
    fused: Ranking = {}
    for tid in runs[0]:
        total: dict[str, float] = {}
        for run in runs:
            for shot, s in norm(run[tid]).items():
                total[shot] = total.get(shot, 0.0) + s
        shots = list(total)
        fused[tid] = top_k(shots, np.array([total[s] for s in shots]))
    return fused


def score(
    col: Collection,
    judgements: dict[str, TopicJudgements],
    name: str,
    ranking: Ranking,
    pooled: bool,
) -> System:
    """infAP, infAP_judged, coverage and true AP of one system, through avs.eval.api."""
    run = LoadedRun(name, col.path / f"{name}.run", "trec", ranking, simulated=True, year=col.year)
    res: RunEvaluation = evaluate_loaded(run, judgements, col.qrels_path, col.truth, col.truth_path)
    values = res.evaluation.all
    assert res.mean_true_ap is not None
    return System(
        name=name,
        pooled=pooled,
        infap=values["infAP"],
        infap_judged=values["infAP_judged"],
        true_ap=res.mean_true_ap,
        pooled_at={k: values[f"pooled@{k}"] for k in (10, 100, 1000)},
        judged_at={k: values[f"judged@{k}"] for k in (10, 100, 1000)},
    )


def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists (ties in either list handled)."""
    concordant = discordant = ties_x = ties_y = 0
    for i, j in combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    n = concordant + discordant
    denom = ((n + ties_x) * (n + ties_y)) ** 0.5
    return (concordant - discordant) / denom if denom else float("nan")


@dataclass(frozen=True)
class Pair:
    """Two systems of one collection: is the estimate's order the truth's?"""

    wrong: bool  # infAP orders them against true AP
    wrong_judged: bool  # infAP_judged orders them against true AP
    min_pooled: float  # the lower pooled@1000 of the two
    close: bool  # true APs within 10 % of each other (relative to the larger)
    kinds: str  # "pooled-pooled", "pooled-posthoc" or "posthoc-posthoc"


PAIR_KINDS = ("pooled-pooled", "pooled-posthoc", "posthoc-posthoc")


def pairs(systems: Sequence[System]) -> Iterator[Pair]:
    """Every pair whose true APs differ."""
    for a, b in combinations(systems, 2):
        truth = np.sign(a.true_ap - b.true_ap)
        if truth == 0:
            continue
        kinds = "-".join(sorted(("pooled" if s.pooled else "posthoc" for s in (a, b)), key=len))
        yield Pair(
            wrong=bool(np.sign(a.infap - b.infap) != truth),
            wrong_judged=bool(np.sign(a.infap_judged - b.infap_judged) != truth),
            min_pooled=min(a.pooled_at[1000], b.pooled_at[1000]),
            close=abs(a.true_ap - b.true_ap) < 0.1 * max(a.true_ap, b.true_ap),
            kinds=kinds,
        )


def share(flags: Sequence[bool]) -> str:
    """'12.3 % (4/33)', or 'n/a' for no pairs."""
    if not flags:
        return "n/a (0 pairs)"
    return f"{100 * sum(flags) / len(flags):.1f} % ({sum(flags)}/{len(flags)})"


def pct(flags: Sequence[bool]) -> float:
    """Share of True in percent (nan for none)."""
    return 100 * sum(flags) / len(flags) if flags else float("nan")


def make_collections(folder: Path, seeds: Sequence[int], shots: int, topics: Path) -> list[Path]:
    """Write one simulated collection per seed (qrels and truth as `avs synth` writes)."""
    out = []
    for seed in seeds:
        out.append(
            synthesize(
                folder / f"sim-seed{seed}",
                [topics],
                shots=shots,
                seed=seed,
                train_videos=20,
                specs=TINY_FEATURES,
            )
        )
    return out


@dataclass(frozen=True)
class Scenario:
    """One collection scored against one pool."""

    col: Collection
    pool: Pool
    pool_recall: float  # share of the truth's relevant shots in the pool
    systems: list[System]


def run_collection(path: Path) -> list[Scenario]:
    """Every system of one collection scored against every pool of POOLS."""
    col = open_collection(path)
    pooled = pooled_systems(col)
    posthoc = posthoc_systems(col, pooled)
    scenarios = []
    for pool in POOLS:
        judgements = pool_qrels(col, pooled, pool)
        shots = pool_shots(col, pooled, pool)
        n_rel = sum(len(rel) for rel in col.truth.values())
        found = sum(len(rel & shots.get(tid, set())) for tid, rel in col.truth.items())
        systems = [score(col, judgements, n, r, n in pool.systems) for n, r in pooled.items()]
        systems += [score(col, judgements, n, r, False) for n, r in posthoc.items()]
        scenarios.append(Scenario(col, pool, found / n_rel if n_rel else 1.0, systems))
    return scenarios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--shots", type=int, default=20000)
    parser.add_argument("--topics", type=Path, default=ROOT / "topics" / "2022.txt")
    parser.add_argument(
        "--collection", type=Path, action="append", help="an existing avs synth collection"
    )
    parser.add_argument(
        "--threshold",
        type=float,
        help="pooled@1000 split for the pair error (default: the median over systems)",
    )
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        paths = args.collection or make_collections(Path(tmp), args.seeds, args.shots, args.topics)
        made = time.perf_counter() - start
        scenarios = [sc for path in paths for sc in run_collection(path)]
    report(scenarios, args.threshold, made, time.perf_counter() - start)


def print_scenario(sc: Scenario) -> list[Pair]:
    """One collection x pool: the per-system table and its ranking figures."""
    col = sc.col
    print(
        f"\n[SIMULATED] seed={col.seed} shots={col.shots} year={col.year} "
        f"topics={len(col.truth)} D={pool_depth(col.shots)}: {sc.pool.name}; "
        f"relevant shots in the pool {100 * sc.pool_recall:.1f} %"
    )
    print(
        f"{'system':<29} {'kind':<8} {'trueAP':>7} {'infAP':>7} {'bias':>7} "
        f"{'infAP_j':>7} {'bias_j':>7} {'pool@100':>8} {'pool@1000':>9}   {'judg@100':>8}"
    )
    for s in sorted(sc.systems, key=lambda s: -s.true_ap):
        flag = "!" if low_coverage({"pooled@1000": s.pooled_at[1000]}) else " "
        print(
            f"{s.name:<29} {'pooled' if s.pooled else 'post-hoc':<8} {s.true_ap:7.4f} "
            f"{s.infap:7.4f} {s.infap - s.true_ap:+7.4f} {s.infap_judged:7.4f} "
            f"{s.infap_judged - s.true_ap:+7.4f} {s.pooled_at[100]:8.3f} "
            f"{s.pooled_at[1000]:9.3f} {flag} {s.judged_at[100]:8.3f}"
        )
    truth = [s.true_ap for s in sc.systems]
    tau = kendall_tau([s.infap for s in sc.systems], truth)
    tau_j = kendall_tau([s.infap_judged for s in sc.systems], truth)
    found = list(pairs(sc.systems))
    print(
        f"Kendall tau vs true AP: infAP {tau:.3f}, infAP_judged {tau_j:.3f}; "
        f"pairs ordered wrongly: infAP {share([p.wrong for p in found])}, "
        f"infAP_judged {share([p.wrong_judged for p in found])}"
    )
    return found


def report(scenarios: list[Scenario], threshold: float | None, made: float, wall: float) -> None:
    """Print the SIMULATED tables and the key=value line."""
    print("SIMULATED: every figure below is on simulated collections (avs synth), not real data")
    print(f"(! = pooled@1000 below avs eval's warning threshold {POOLED_WARN})")
    pooled1000 = [s.pooled_at[1000] for sc in scenarios for s in sc.systems]
    split = threshold if threshold is not None else statistics.median(pooled1000)
    by_pool: dict[str, list[Pair]] = {}
    taus: dict[str, list[float]] = {}
    for sc in scenarios:
        found = print_scenario(sc)
        by_pool.setdefault(sc.pool.name, []).extend(found)
        truth = [s.true_ap for s in sc.systems]
        for label, values in (
            ("infAP", [s.infap for s in sc.systems]),
            ("infAP_judged", [s.infap_judged for s in sc.systems]),
        ):
            taus.setdefault(label, []).append(kendall_tau(values, truth))
    every = [p for ps in by_pool.values() for p in ps]
    low = [p for p in every if p.min_pooled < split]
    high = [p for p in every if p.min_pooled >= split]
    collections = len({sc.col.path for sc in scenarios})
    print(
        f"\n[SIMULATED] summary: {collections} collections x {len(POOLS)} pools, "
        f"{len(every)} system pairs (pairs of equal true AP left out)"
    )
    print(f"{'pairs':<48} {'infAP wrong':>20} {'infAP_judged wrong':>20}")
    rows: list[tuple[str, list[Pair]]] = [("all", every)]
    rows += [(f"pool: {name}", ps) for name, ps in by_pool.items()]
    rows += [
        (f"lower pooled@1000 < {split:.3f} (median)", low),
        (f"both pooled@1000 >= {split:.3f}", high),
    ]
    rows += [(kinds, [p for p in every if p.kinds == kinds]) for kinds in PAIR_KINDS]
    close = [p for p in every if p.close]
    rows += [
        ("true APs within 10 % of each other", close),
        (f"  of them, lower pooled@1000 < {split:.3f}", [p for p in close if p.min_pooled < split]),
        (
            f"  of them, both pooled@1000 >= {split:.3f}",
            [p for p in close if p.min_pooled >= split],
        ),
    ]
    for label, ps in rows:
        print(
            f"{label:<48} {share([p.wrong for p in ps]):>20} "
            f"{share([p.wrong_judged for p in ps]):>20}"
        )
    systems = [s for sc in scenarios for s in sc.systems]
    bias = {
        kind: statistics.mean(s.infap - s.true_ap for s in systems if s.pooled == is_pooled)
        for kind, is_pooled in (("pooled", True), ("posthoc", False))
    }
    bias_j = statistics.mean(s.infap_judged - s.true_ap for s in systems if not s.pooled)
    print(
        f"mean bias vs true AP: infAP pooled {bias['pooled']:+.4f}, post-hoc "
        f"{bias['posthoc']:+.4f}; infAP_judged post-hoc {bias_j:+.4f}"
    )
    print(
        f"mean Kendall tau: infAP {statistics.mean(taus['infAP']):.3f}, "
        f"infAP_judged {statistics.mean(taus['infAP_judged']):.3f}"
    )
    print(f"time: collections {made:.1f} s, total {wall:.1f} s")
    figures = {
        "simulated": "true",
        "collections": collections,
        "pools": len(POOLS),
        "pairs": len(every),
        "tau_infAP": f"{statistics.mean(taus['infAP']):.3f}",
        "tau_infAP_judged": f"{statistics.mean(taus['infAP_judged']):.3f}",
        "pair_error_pct": f"{pct([p.wrong for p in every]):.1f}",
        "pair_error_judged_pct": f"{pct([p.wrong_judged for p in every]):.1f}",
        "split_pooled1000": f"{split:.3f}",
        "pair_error_low_pooled_pct": f"{pct([p.wrong for p in low]):.1f}",
        "pair_error_high_pooled_pct": f"{pct([p.wrong for p in high]):.1f}",
        "close_pairs": len(close),
        "pair_error_close_pct": f"{pct([p.wrong for p in close]):.1f}",
        "pair_error_close_judged_pct": f"{pct([p.wrong_judged for p in close]):.1f}",
        "bias_pooled": f"{bias['pooled']:+.4f}",
        "bias_posthoc": f"{bias['posthoc']:+.4f}",
        "bias_judged_posthoc": f"{bias_j:+.4f}",
        "seconds": f"{wall:.0f}",
    }
    print(" ".join(f"{k}={v}" for k, v in figures.items()))


if __name__ == "__main__":
    main()
