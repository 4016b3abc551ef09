"""``avs fuse-learn``: fusion weights that maximise mean infAP on the years with qrels.

The runs are grouped by year (their metadata, else their topic numbers) and model
(their metadata, or ``MODEL=PATH``); every model needs one run per year. The objective
is the mean over the learning years of each year's mean infAP, the figure ``avs eval``
prints for the fused run of that year.

Search: the weights are scale-free, so for 2-3 models a grid over the simplex (step
0.05 for 2, 0.1 for 3); for more, coordinate ascent from equal weights (each weight in
turn over a fixed grid, the others held, until a round improves nothing), linear in the
number of models. Equal weights are tried first and replaced only by a strictly better
vector. Each topic's matrix of contributions and its judgements are prepared once, so a
candidate costs one small matrix product, one sort and a numpy infAP per topic; the
figures reported (in-sample, cross-validated, equal weights) are recomputed with
:func:`avs.eval.xinfap.evaluate`, exactly as ``avs eval`` computes them.

Honest estimates: with two or more years, leave-one-year-out cross-validation (learn on
the other years, evaluate on the held-out one); with one year, topic folds (topic i in
fold i mod F).
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avs import __version__
from avs.errors import AvsError
from avs.eval.measures import RESULT_CAP
from avs.eval.qrels_args import parse_qrels_specs
from avs.eval.runs import infer_year
from avs.eval.xinfap import EPS, TopicJudgements, evaluate, prepare_qrels
from avs.fusion.fuse import rankings, topic_key
from avs.fusion.inputs import FusionInput, load_inputs
from avs.fusion.methods import (
    DEFAULT_RRF_K,
    RANK_METHODS,
    TopicMatrix,
    check_method,
    combine,
    topic_matrix,
)
from avs.fusion.recipe import Recipe, write_recipe

__all__ = ["LearnResult", "fast_infap", "learn", "learn_files", "qrels_by_year"]

LEARN_METHODS = ("wsum", "combmnz", "rrf", "borda")
# coordinate ascent: values tried for one weight while the others hold (scale-free)
CA_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0)
MAX_ROUNDS = 10


@dataclass(frozen=True)
class _Topic:
    """One topic of one year, prepared for fast candidate scoring."""

    topic: str
    matrix: TopicMatrix
    stratum: np.ndarray  # per union shot: stratum index in the judgements, -1 unpooled
    rel: np.ndarray  # per union shot: rel (0 when unpooled)
    tiebreak: np.ndarray  # -index: ties by shot id descending (union is sorted ascending)
    judgements: TopicJudgements
    strata: np.ndarray  # 0 .. number of strata - 1
    factor: np.ndarray  # per stratum: N_s / J_s / R^ (x R^/1000 past 1000); 0 if J_s = 0


def _prepare_topic(topic: str, matrix: TopicMatrix, tj: TopicJudgements) -> _Topic:
    hits = [tj.shots.get(s) for s in matrix.shots.tolist()]
    stratum = np.array([-1 if h is None else h[0] for h in hits], dtype=np.int64)
    rel = np.array([0 if h is None else h[1] for h in hits], dtype=np.int64)
    est_relevant = tj.est_relevant
    factor = np.zeros(len(tj.strata))
    if est_relevant > 0:
        cap = est_relevant / RESULT_CAP if est_relevant > RESULT_CAP else 1.0
        for s, (n, j) in enumerate(zip(tj.pooled, tj.judged, strict=True)):
            if j > 0:
                factor[s] = n / j / est_relevant * cap
    tiebreak = -np.arange(len(matrix.shots))
    return _Topic(topic, matrix, stratum, rel, tiebreak, tj, np.arange(len(tj.strata)), factor)


def _order(t: _Topic, fused: np.ndarray, k: int) -> np.ndarray:
    """Indices of the fused top-k, ordered as the written (float32) run is ranked."""
    scores = fused.astype(np.float32)
    n = len(scores)
    if n > k:  # only shots scoring at least the k-th best can make the cut (ties kept)
        threshold = np.partition(scores, n - k)[n - k]
        cand = np.flatnonzero(scores >= threshold)
    else:
        cand = np.arange(n)
    return cand[np.lexsort((t.tiebreak[cand], -scores[cand]))][:k]


def fast_infap(t: _Topic, order: np.ndarray) -> float:
    """infAP of one topic for a ranking given as union indices (sample_eval's walk,
    vectorised; equal to :func:`avs.eval.xinfap.evaluate_topic` up to float rounding).

    est_rel changes only at pooled shots, so the walk runs over those alone."""
    order = order[:RESULT_CAP]
    stratum = t.stratum[order]
    at = np.flatnonzero(stratum >= 0)  # 0-based ranks of the pooled shots
    if not len(at) or not t.factor.any():
        return 0.0
    s = stratum[at]
    rel = t.rel[order][at]
    members = s[None, :] == t.strata[:, None]  # (strata, pooled hits)
    flags = np.stack((members, members & (rel >= 0), members & (rel > 0)))
    d, j, r = np.cumsum(flags, axis=2)
    est = (d * (r + EPS) / (j + 3 * EPS)).sum(axis=0)  # est_rel after each pooled hit
    before = np.concatenate(([0.0], est[:-1]))
    hit = rel > 0
    return float((t.factor[s[hit]] * (1 + before[hit]) / (at[hit] + 1)).sum())


@dataclass(frozen=True)
class _Year:
    """The runs of one year (one per model, in model order) with its qrels."""

    year: str
    qrels: Path
    judgements: dict[str, TopicJudgements]
    inputs: list[FusionInput]
    topics: list[str]  # fused topics that the qrels judge (what avs eval evaluates)
    rankings: list[dict]  # per input: topic -> distinct ranking


class _Problem:
    """Every learning year, with topic caches per (method, norm), built on first use."""

    def __init__(self, years: list[_Year], rrf_k: float, k: int) -> None:
        self.years = years
        self.rrf_k = rrf_k
        self.k = k
        self._cache: dict[tuple[str, str, str], list[_Topic]] = {}
        self.candidates = 0

    def topics(self, year: _Year, method: str, norm: str) -> list[_Topic]:
        key = (year.year, method, norm)
        if key not in self._cache:
            self._cache[key] = [
                _prepare_topic(
                    t,
                    topic_matrix([r.get(t) for r in year.rankings], method, norm, self.rrf_k),
                    year.judgements[t],
                )
                for t in year.topics
            ]
        return self._cache[key]

    def objective(
        self,
        weights: np.ndarray,
        method: str,
        norm: str,
        parts: Sequence[tuple[_Year, set[str] | None]],
    ) -> float:
        """Mean over ``parts`` (a year, with only the given topics when not None) of the
        mean fast infAP of the fused run."""
        self.candidates += 1
        means = []
        for year, only in parts:
            values = [
                fast_infap(t, _order(t, combine(t.matrix, weights, method), self.k))
                for t in self.topics(year, method, norm)
                if only is None or t.topic in only
            ]
            means.append(sum(values) / len(values))
        return sum(means) / len(means)

    def fused_records(
        self, year: _Year, weights: np.ndarray, method: str, norm: str
    ) -> dict[str, list[tuple[str, float]]]:
        """The fused run of ``year`` as ``avs eval`` reads it back (float32 scores)."""
        out = {}
        for t in self.topics(year, method, norm):
            fused = combine(t.matrix, weights, method)
            order = _order(t, fused, self.k)
            scores = fused.astype(np.float32)[order]
            out[t.topic] = list(
                zip(t.matrix.shots[order].tolist(), scores.astype(float).tolist(), strict=True)
            )
        return out

    def exact(
        self, year: _Year, weights: np.ndarray, method: str, norm: str, only: set[str] | None
    ) -> dict[str, float]:
        """topic -> infAP of the fused run, computed by avs eval's own code."""
        records = self.fused_records(year, weights, method, norm)
        if only is not None:
            records = {t: r for t, r in records.items() if t in only}
        evaluation = evaluate(year.judgements, records, run_label=f"fused {year.year}")
        return evaluation.per_topic("infAP")


def _simplex(n: int) -> list[np.ndarray]:
    """Grid points of the simplex (equal weights first)."""
    steps = 20 if n == 2 else 10
    points = [np.full(n, 1.0 / n)]
    for combo in itertools.product(range(steps + 1), repeat=n - 1):
        if sum(combo) <= steps:
            points.append(np.array([*combo, steps - sum(combo)], dtype=np.float64) / steps)
    return points


def _search(
    problem: _Problem,
    n: int,
    combos: Sequence[tuple[str, str]],
    parts: Sequence[tuple[_Year, set[str] | None]],
) -> tuple[np.ndarray, str, str, float]:
    """(weights summing to 1, method, norm, objective) of the best candidate."""
    best: tuple[np.ndarray, str, str, float] | None = None
    for method, norm in combos:

        def score(w: np.ndarray, method: str = method, norm: str = norm) -> float:
            return problem.objective(w, method, norm, parts)

        if n <= 3:
            found_w, found = None, -1.0
            for w in _simplex(n):
                value = score(w)
                if value > found + 1e-12:
                    found_w, found = w, value
        else:
            found_w = np.ones(n)
            found = score(found_w)
            for _ in range(MAX_ROUNDS):
                improved = False
                for i in range(n):
                    for v in CA_GRID:
                        if v == found_w[i]:
                            continue
                        w = found_w.copy()
                        w[i] = v
                        if not np.any(w > 0):
                            continue
                        value = score(w)
                        if value > found + 1e-12:
                            found_w, found, improved = w, value, True
                if not improved:
                    break
        assert found_w is not None
        if best is None or found > best[3] + 1e-12:
            best = (found_w / found_w.sum(), method, norm, found)
    assert best is not None
    return best


@dataclass(frozen=True)
class Estimate:
    """A held-out part (a year, or a fold of topics) and what each choice scores on it."""

    part: str  # "2021" or "fold 1/5"
    weights: list[float]  # learnt on everything else
    method: str
    norm: str
    cross_validated: float  # mean infAP on the part with those weights
    in_sample: float  # with the weights learnt on everything
    equal: float  # equal weights (same method and normalisation as the recipe)
    best_single: float  # the best single model on the part
    topics: int


@dataclass(frozen=True)
class LearnResult:
    """What :func:`learn` found."""

    recipe: Recipe
    models: list[str]
    years: list[str]
    in_sample: float  # objective of the learnt weights, exact
    equal: float  # the same for equal weights
    singles: dict[str, float]  # model -> objective of its run alone
    cv_kind: str  # "leave-one-year-out" or "topic folds (F)"
    estimates: list[Estimate]
    cross_validated: float  # mean over topics of the held-out infAP
    seconds: float
    candidates: int
    warnings: list[str] = field(default_factory=list)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _group(
    inputs: Sequence[FusionInput], qrels: dict[str, Path]
) -> tuple[list[str], list[_Year], list[str]]:
    """(models, years with their runs in model order, warnings); AvsError listing every
    problem (run without model or year, missing run, year without qrels)."""
    problems: list[str] = []
    models: list[str] = []
    by_year: dict[str, dict[str, FusionInput]] = {}
    for inp in inputs:
        if inp.model is None:
            problems.append(
                f"{inp.label}: the run does not say which model it comes from; "
                "write it as MODEL=PATH"
            )
            continue
        year = inp.run.year
        if year is None:
            problems.append(f"{inp.label}: cannot tell the run's year from its metadata or topics")
            continue
        if inp.model not in models:
            models.append(inp.model)
        slot = by_year.setdefault(year, {})
        if inp.model in slot:
            problems.append(
                f"{inp.label}: a second {year} run of model {inp.model!r} "
                f"(the first: {slot[inp.model].label})"
            )
        slot[inp.model] = inp
    for year in sorted(by_year):
        if year not in qrels:
            problems.append(
                f"no qrels for {year} (runs: {', '.join(i.label for i in by_year[year].values())}); "
                f"pass --qrels {year}=PATH, or leave the new year's runs out"
            )
        lacking = [m for m in models if m not in by_year[year]]
        if lacking:
            problems.append(f"{year}: no run of model(s) {', '.join(lacking)}")
    if len(models) < 2 and not problems:
        problems.append(f"fusion needs runs of at least 2 models, got {models or 'none'}")
    if problems:
        raise AvsError("\n".join(problems))
    warnings: list[str] = []
    years = []
    for year in sorted(by_year):
        runs = [by_year[year][m] for m in models]
        judgements = qrels_prepared(qrels[year])
        union, per_input = rankings(runs)
        topics = [t for t in union if t in judgements]
        if not topics:
            raise AvsError(f"{year}: the runs share no topic with {qrels[year]}")
        skipped = [t for t in union if t not in judgements]
        if skipped:
            warnings.append(f"{year}: topic(s) not in {qrels[year]} ignored: {', '.join(skipped)}")
        for inp, ranked in zip(runs, per_input, strict=True):
            lacking = [t for t in topics if t not in ranked]
            if lacking:
                warnings.append(f"{inp.label} lacks topic(s) {', '.join(lacking)}")
        years.append(_Year(year, qrels[year], judgements, runs, topics, per_input))
    return models, years, warnings


_PREPARED: dict[Path, dict[str, TopicJudgements]] = {}


def qrels_prepared(path: Path) -> dict[str, TopicJudgements]:
    """Read and prepare a qrels file once per process."""
    from avs.io.qrels import read_qrels

    key = Path(path).resolve()
    if key not in _PREPARED:
        _PREPARED[key] = prepare_qrels(read_qrels(path))
    return _PREPARED[key]


def qrels_by_year(specs: Sequence[str]) -> dict[str, Path]:
    """``["2021=a.qrels", "b.qrels"]`` -> {year: path}; a bare path's year comes from its
    topic ids. AvsError listing every problem."""
    out: dict[str, Path] = {}
    problems = []
    for year, path in parse_qrels_specs(specs):
        if year is None:
            year = infer_year(qrels_prepared(path))
            if year is None:
                problems.append(f"--qrels {path}: cannot tell the year; write YEAR={path}")
                continue
        if year in out:
            problems.append(f"--qrels: two files for {year} ({out[year]}, {path})")
        out[year] = path
    if problems:
        raise AvsError("\n".join(problems))
    return out


def _combos(methods: Sequence[str], norms: Sequence[str]) -> list[tuple[str, str]]:
    combos = []
    for method in methods:
        if method == "combsum":
            method = "wsum"  # learning weights of a sum is wsum
        if method not in LEARN_METHODS:
            raise AvsError(f"--method: weights can be learnt for {', '.join(LEARN_METHODS)}")
        for norm in ("none",) if method in RANK_METHODS else norms:
            pair = (method, check_method(method, norm))
            if pair not in combos:
                combos.append(pair)
    return combos


def learn(
    inputs: Sequence[FusionInput],
    qrels: dict[str, Path],
    *,
    methods: Sequence[str] = ("wsum",),
    norms: Sequence[str] = ("minmax",),
    rrf_k: float = DEFAULT_RRF_K,
    k: int = 1000,
    folds: int = 5,
) -> LearnResult:
    """Learn weights (and, given several, the method and normalisation) on ``inputs``."""
    started = time.perf_counter()
    combos = _combos(methods, norms)
    models, years, warnings = _group(inputs, qrels)
    problem = _Problem(years, rrf_k, k)
    n = len(models)
    everything = [(y, None) for y in years]
    weights, method, norm, _ = _search(problem, n, combos, everything)
    equal = np.full(n, 1.0 / n)

    def exact_mean(w: np.ndarray, m: str, nm: str, y: _Year, only: set[str] | None) -> float:
        return _mean(list(problem.exact(y, w, m, nm, only).values()))

    def single(y: _Year, i: int, only: set[str] | None) -> float:
        run = {t: recs for t, recs in y.inputs[i].run.topics.items() if t in y.topics}
        if only is not None:
            run = {t: recs for t, recs in run.items() if t in only}
        if not run:
            return 0.0
        return _mean(list(evaluate(y.judgements, run).per_topic("infAP").values()))

    # Folds: (label, held-out year, its held-out topics or None for all, what is learnt on).
    plan: list[tuple[str, _Year, set[str] | None, list[tuple[_Year, set[str] | None]]]] = []
    if len(years) >= 2:
        cv_kind = "leave-one-year-out"
        for y in years:
            plan.append((y.year, y, None, [(o, None) for o in years if o is not y]))
    else:
        y = years[0]
        count = max(2, min(folds, len(y.topics)))
        if len(y.topics) < 2:
            raise AvsError(f"{y.year}: topic folds need at least 2 topics, the runs have 1")
        cv_kind = f"topic folds ({count})"
        for f in range(count):
            part = {t for i, t in enumerate(y.topics) if i % count == f}
            plan.append((f"{y.year} fold {f + 1}/{count}", y, part, [(y, set(y.topics) - part)]))
    estimates: list[Estimate] = []
    held_out: list[float] = []  # per topic, for the overall cross-validated figure
    for label, y, part, rest in plan:
        w, m, nm, _ = _search(problem, n, combos, rest)
        per_topic = problem.exact(y, w, m, nm, part)
        held_out += list(per_topic.values())
        estimates.append(
            Estimate(
                label,
                [float(x) for x in w],
                m,
                nm,
                _mean(list(per_topic.values())),
                exact_mean(weights, method, norm, y, part),
                exact_mean(equal, method, norm, y, part),
                max(single(y, i, part) for i in range(n)),
                len(y.topics) if part is None else len(part),
            )
        )
    in_sample = _mean([exact_mean(weights, method, norm, y, None) for y in years])
    equal_figure = _mean([exact_mean(equal, method, norm, y, None) for y in years])
    singles = {m: _mean([single(y, i, None) for y in years]) for i, m in enumerate(models)}
    cross_validated = _mean(held_out)
    simulated = any(inp.run.simulated for y in years for inp in y.inputs)
    recipe = Recipe(
        method=method,
        norm=norm,
        weights={m: round(float(w), 6) for m, w in zip(models, weights, strict=True)},
        rrf_k=rrf_k,
        extra={
            "learnt_on": {
                "years": [y.year for y in years],
                "topics": {y.year: [int(t[1:]) for t in y.topics] for y in years},
                "qrels": {y.year: str(y.qrels) for y in years},
                "runs": [inp.record() for y in years for inp in y.inputs],
            },
            "figures": {
                "measure": "infAP (mean over years of each year's mean, as avs eval prints)",
                "in_sample": in_sample,
                "cross_validated": cross_validated,
                "cross_validation": cv_kind,
                "equal_weights": equal_figure,
                "single_models": singles,
                "held_out": [e.__dict__ for e in estimates],
            },
            "simulated": simulated,
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "avs_version": __version__,
        },
    )
    return LearnResult(
        recipe=recipe,
        models=models,
        years=[y.year for y in years],
        in_sample=in_sample,
        equal=equal_figure,
        singles=singles,
        cv_kind=cv_kind,
        estimates=estimates,
        cross_validated=cross_validated,
        seconds=time.perf_counter() - started,
        candidates=problem.candidates,
        warnings=warnings,
    )


def learn_files(
    runs: Sequence[str | Path],
    qrels_specs: Sequence[str],
    out: str | Path,
    *,
    methods: Sequence[str] = ("wsum",),
    norms: Sequence[str] = ("minmax",),
    rrf_k: float = DEFAULT_RRF_K,
    k: int = 1000,
    folds: int = 5,
    overwrite: bool = False,
    workspace=None,
) -> LearnResult:
    """``avs fuse-learn``: load the runs, learn, write the recipe to ``out``.

    Without ``qrels_specs`` the qrels of each year come from the workspace's
    ``[years.YEAR] qrels``."""
    out = Path(out)
    if out.exists() and not overwrite:
        raise AvsError(f"{out}: exists; pass --overwrite to replace it")
    inputs = load_inputs(runs)
    qrels = qrels_by_year(qrels_specs) if qrels_specs else _workspace_qrels(inputs, workspace)
    result = learn(inputs, qrels, methods=methods, norms=norms, rrf_k=rrf_k, k=k, folds=folds)
    write_recipe(out, result.recipe, overwrite=overwrite)
    return result


def _workspace_qrels(inputs: Sequence[FusionInput], workspace) -> dict[str, Path]:
    if workspace is None:
        from avs.workspace import load_workspace

        workspace = load_workspace()
    qrels = {}
    for year in sorted({i.run.year for i in inputs if i.run.year}, key=topic_key):
        if not year.isdigit():
            continue
        path = workspace.year_config(int(year)).qrels
        if path is not None:
            qrels[year] = path
    return qrels
