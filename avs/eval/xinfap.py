"""Stratified inferred AP / NDCG exactly as NIST's ``sample_eval.pl`` computes them.

LOW LEVEL: :func:`evaluate_topic` scores one topic's ranking against that topic's
judgements. HIGH LEVEL: :func:`evaluate` scores a whole run and builds the ``all`` line.
Definitions of each figure: :mod:`avs.eval.measures`; the script's behaviour, quirks
included: docs/xinfap.md. Summary of the walk over ranks k = 1 .. min(n, 1000):

    est_rel(k) = sum_s d_s * (r_s + eps) / (j_s + 3 eps)          (eps = 1e-5)
    prec_k     = (1 + est_rel(k - 1)) / k        at a relevant shot
    infAP      = sum_{s: J_s > 0} (N_s / J_s) * SAP_s / R^  (* R^/1000 if R^ > 1000)

Tie rule: score descending, then shot id descending as a string; a shot listed twice
keeps the later record's score.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from avs.errors import AvsError
from avs.eval.measures import (
    ALL_ORDER,
    COVERAGE_DEPTHS,
    EXTRA_ORDER,
    IP_CUTOFFS,
    MEASURES,
    RECALL_LEVELS,
    RESULT_CAP,
)
from avs.io.records import Qrel, RunRecord
from avs.ties import rank_records

EPS = 0.00001  # sample_eval's smoothing constant; keep its 1/3 artefact (docs/xinfap.md)


@dataclass(frozen=True)
class TopicJudgements:
    """One topic's qrels, prepared once and shared by every run scored against them."""

    topic: str
    strata: tuple[str, ...]  # stratum labels; index s below
    shots: dict[str, tuple[int, int]]  # shot -> (stratum index, rel)
    pooled: tuple[int, ...]  # N_s: entries per stratum (any rel)
    judged: tuple[int, ...]  # J_s: entries with rel >= 0
    relevant: tuple[int, ...]  # R_s: entries with rel > 0
    by_grade: dict[int, tuple[int, ...]]  # grade g -> R_{s,g}

    @cached_property
    def est_relevant(self) -> float:
        """R^ = sum over strata with J_s > 0 of R_s * N_s / J_s."""
        return _estimate(self.relevant, self.pooled, self.judged)

    @cached_property
    def ideal_dcg(self) -> float:
        """IDCG (see :func:`_ideal_dcg`), computed once for every run scored."""
        return _ideal_dcg(self)


def _estimate(counts: Sequence[int], pooled: Sequence[int], judged: Sequence[int]) -> float:
    """sum over strata with J_s > 0 of counts_s * N_s / J_s (R^ and R^_g)."""
    total = 0.0
    for c, n, j in zip(counts, pooled, judged, strict=True):
        if j > 0:
            total += c * n / j
    return total


def _stratum_key(label: str) -> tuple[int, int | str]:
    # numeric labels in numeric order, others after them as strings
    return (0, int(label)) if label.isdigit() else (1, label)


def _topic_key(topic: str) -> tuple[int, int | str]:
    return (0, int(topic)) if topic.isdigit() else (1, topic)


def prepare_qrels(qrels: Iterable[Qrel]) -> dict[str, TopicJudgements]:
    """Group qrels by topic and count N_s, J_s, R_s per stratum.

    A shot judged twice for a topic keeps its last entry (one shot, like the run rule)."""
    per_topic: dict[str, dict[str, tuple[str, int]]] = {}
    for q in qrels:
        per_topic.setdefault(q.topic, {})[q.shot] = (q.stratum, q.rel)
    prepared: dict[str, TopicJudgements] = {}
    for topic in sorted(per_topic, key=_topic_key):
        entries = per_topic[topic]
        strata = tuple(sorted({s for s, _ in entries.values()}, key=_stratum_key))
        index = {label: i for i, label in enumerate(strata)}
        shots = {shot: (index[label], rel) for shot, (label, rel) in entries.items()}
        pooled, judged, relevant = [0] * len(strata), [0] * len(strata), [0] * len(strata)
        by_grade: dict[int, list[int]] = {}
        # count (stratum, rel) pairs once instead of updating four counters per entry
        for (s, rel), count in Counter(shots.values()).items():
            pooled[s] += count
            if rel >= 0:
                judged[s] += count
            if rel > 0:
                relevant[s] += count
                by_grade.setdefault(rel, [0] * len(strata))[s] += count
        prepared[topic] = TopicJudgements(
            topic,
            strata,
            shots,
            tuple(pooled),
            tuple(judged),
            tuple(relevant),
            {g: tuple(v) for g, v in by_grade.items()},
        )
    return prepared


def rank_shots(records: Iterable[tuple[str, float]]) -> list[str]:
    """Distinct shots in sample_eval order: score descending, ties by shot id descending.

    A shot listed twice is one shot; the later record's score replaces the earlier."""
    scores = dict(records)  # later records replace earlier ones, as in the script
    return [shot for shot, _ in rank_records(scores.items())]


@dataclass(frozen=True)
class TopicResult:
    """Every sample_eval figure for one topic (``values`` keyed by measure name)."""

    topic: str
    values: dict[str, float]
    distinct: int  # distinct shots in the run for this topic (for the `all` num_ret)


def _ideal_dcg(judgements: TopicJudgements) -> float:
    """IDCG the script's way: R^_g items per grade, grades descending, fractional ranks.

    Ranks r = start+1, start+2, ... while r <= start + R^_g add g / log2(r + 1); a grade's
    loop stops once r >= 1000 (after adding); start += R^_g."""
    idcg, start = 0.0, 0.0
    for grade in sorted(judgements.by_grade, reverse=True):
        count = _estimate(judgements.by_grade[grade], judgements.pooled, judgements.judged)
        r = start + 1
        while r <= start + count:
            idcg += grade / math.log2(r + 1)
            if r >= RESULT_CAP:
                break
            r += 1
        start += count
    return idcg


def _iprec(est: np.ndarray, walked: int, est_relevant: float) -> list[float]:
    """11-point interpolated precision with sample_eval's sweep (one level per rank).

    ``est[k]`` is est_rel after rank k (k = 1 .. walked). The script walks k from
    ``walked`` down to 1 keeping ``best`` = max est[k']/k' over k' >= k, and fills the
    current level c at the first k (from the top) where cut[c] > est[k], then moves to
    c - 1; levels left over get the final best. est is not monotone (a judged
    non-relevant shot in a stratum with unjudged entries lowers it), so the level's
    rank is found by search, not by bisection."""
    iprec = [0.0] * len(RECALL_LEVELS)
    cut = [level / 10 * est_relevant for level in RECALL_LEVELS]
    c = len(cut) - 1
    last = float(est[walked]) if walked else 0.0
    while c >= 0 and cut[c] > last:
        c -= 1
    if walked == 0:
        return iprec
    ratio = est[1 : walked + 1] / np.arange(1, walked + 1, dtype=np.float64)
    best_from = np.maximum.accumulate(ratio[::-1])[::-1]  # best_from[k-1] = max over k' >= k
    upper = walked  # ranks 1 .. upper are still to be visited
    while c >= 0 and upper > 0:
        below = np.flatnonzero(est[1 : upper + 1] < cut[c])
        if below.size == 0:
            break
        k = int(below[-1]) + 1
        iprec[c] += float(best_from[k - 1])
        upper = k - 1
        c -= 1
    final = float(best_from[0])
    while c >= 0:
        iprec[c] += final
        c -= 1
    return iprec


def evaluate_topic(
    judgements: TopicJudgements, records: Sequence[tuple[str, float]]
) -> TopicResult:
    """All sample_eval figures for one topic, plus condensed infAP and coverage;
    ``records`` are (shot, score) in file order.

    The walk is vectorised: cumulative counts d_s, j_s, r_s per rank give est_rel at
    every rank with the same floating-point operations, in the same order, as the
    script's running update, so every figure is bit-identical to the per-rank loop."""
    ranked = rank_shots(records)
    walked = min(len(ranked), RESULT_CAP)
    n_strata = len(judgements.strata)
    get = judgements.shots.get
    unpooled = (n_strata, -2)  # an extra "stratum" for shots absent from the qrels
    hits = np.array([get(shot, unpooled) for shot in ranked[:walked]], dtype=np.int64)
    hits = hits.reshape(walked, 2)
    stratum, rel = hits[:, 0], hits[:, 1]
    in_stratum = stratum[None, :] == np.arange(n_strata)[:, None]  # (strata, ranks)
    d_cum = np.cumsum(in_stratum, axis=1)
    j_cum = np.cumsum(in_stratum & (rel >= 0), axis=1)
    r_cum = np.cumsum(in_stratum & (rel > 0), axis=1)
    est = np.zeros(walked + 1)  # est[k] = est_rel after rank k; est[0] = 0
    for s in range(n_strata):  # strata summed in index order, as sum(terms) does
        est[1:] += d_cum[s] * (r_cum[s] + EPS) / (j_cum[s] + 3 * EPS)

    is_pooled = stratum < n_strata
    pooled_cum = np.cumsum(is_pooled)
    judged_cum = np.cumsum(rel >= 0)
    sap, sap_judged, gain = [0.0] * n_strata, [0.0] * n_strata, [0.0] * n_strata
    relevant_at = np.flatnonzero(rel > 0)
    for i, s, g, seen in zip(
        relevant_at.tolist(),
        stratum[relevant_at].tolist(),
        rel[relevant_at].tolist(),
        pooled_cum[relevant_at].tolist(),
        strict=True,
    ):
        k = i + 1
        prec_numerator = 1 + float(est[i])
        sap[s] += prec_numerator / k
        # condensed list: unpooled shots removed, so this shot sits at rank `seen`
        sap_judged[s] += prec_numerator / seen
        gain[s] += g / math.log2(k + 1)

    est_relevant = judgements.est_relevant
    infap = _infap(judgements, sap, est_relevant)
    infap_judged = _infap(judgements, sap_judged, est_relevant)

    d = d_cum[:, -1].tolist() if walked else [0] * n_strata
    j = j_cum[:, -1].tolist() if walked else [0] * n_strata
    pooled_seen = sum(d)
    idcg = judgements.ideal_dcg
    infndcg = 0.0
    if idcg > 0:
        dcg = 0.0
        for s in range(n_strata):
            if j[s] > 0:
                dcg += d[s] / pooled_seen * gain[s] / j[s]
        infndcg = dcg * pooled_seen / idcg

    values: dict[str, float] = {"infAP": infap, "infNDCG": infndcg}
    for cutoff in IP_CUTOFFS:
        values[f"iP{cutoff}"] = float(est[min(cutoff, walked)]) / cutoff
    for level, value in zip(RECALL_LEVELS, _iprec(est, walked, est_relevant), strict=True):
        values[f"iprec@rec{level / 10:.2f}"] = value
    values["inum_rel_ret"] = float(est[walked])
    values["inum_rel"] = est_relevant
    values["num_ret"] = len(records)
    values["infAP_judged"] = infap_judged
    for depth in COVERAGE_DEPTHS:
        upto = min(depth, walked)
        values[f"judged@{depth}"] = int(judged_cum[upto - 1]) / depth if upto else 0.0
        values[f"pooled@{depth}"] = int(pooled_cum[upto - 1]) / depth if upto else 0.0
    return TopicResult(judgements.topic, values, len(ranked))


def _infap(judgements: TopicJudgements, sap: Sequence[float], est_relevant: float) -> float:
    """sum over strata with J_s > 0 of (N_s / J_s) * SAP_s / R^, times R^/1000 past 1000."""
    infap = 0.0
    if est_relevant > 0:
        for s in range(len(sap)):
            if judgements.judged[s] > 0:
                infap += judgements.pooled[s] / judgements.judged[s] * sap[s] / est_relevant
        if est_relevant > RESULT_CAP:
            infap *= est_relevant / RESULT_CAP
    return infap


@dataclass(frozen=True)
class Evaluation:
    """One run scored against one qrels: per-topic results (numeric order) and `all`."""

    topics: list[TopicResult]
    all: dict[str, float]
    skipped: list[str] = field(default_factory=list)  # run topics absent from the qrels

    def per_topic(self, measure: str) -> dict[str, float]:
        """topic -> value of one measure."""
        return {t.topic: t.values[measure] for t in self.topics}


def group_records(records: Iterable[RunRecord]) -> dict[str, list[tuple[str, float]]]:
    """Run records -> topic -> [(shot, score), ...] in file order."""
    grouped: dict[str, list[tuple[str, float]]] = {}
    for rec in records:
        grouped.setdefault(rec.topic, []).append((rec.shot, rec.score))
    return grouped


def evaluate(
    judgements: Mapping[str, TopicJudgements],
    run: Mapping[str, Sequence[tuple[str, float]]],
    *,
    run_label: str = "run",
    qrels_label: str = "qrels",
) -> Evaluation:
    """Score a grouped run (see :func:`group_records`) against prepared qrels.

    Topics in both, in numeric order, are evaluated; run topics missing from the qrels
    are skipped. The `all` line: means over evaluated topics for infAP, infNDCG, iP@c and
    iprec@rec; inum_rel_ret summed over evaluated topics; inum_rel summed over every
    qrels topic; num_ret summed over evaluated topics as min(distinct shots, 1000).
    Raises AvsError when run and qrels share no topic."""
    common = sorted((t for t in run if t in judgements), key=_topic_key)
    skipped = sorted((t for t in run if t not in judgements), key=_topic_key)
    if not common:
        run_topics = ", ".join(sorted(run, key=_topic_key)[:5]) or "none"
        qrels_topics = ", ".join(list(judgements)[:5]) or "none"
        raise AvsError(
            f"{run_label}: no topic in common with {qrels_label} (run topics: {run_topics}; "
            f"qrels topics: {qrels_topics}). Is this the qrels of the run's year?"
        )
    topics = [evaluate_topic(judgements[t], run[t]) for t in common]
    all_line: dict[str, float] = {}
    for name in ALL_ORDER:
        aggregate = MEASURES[name].aggregate
        if aggregate == "mean":
            all_line[name] = sum(t.values[name] for t in topics) / len(topics)
        elif aggregate == "sum":
            all_line[name] = sum(t.values[name] for t in topics)
        elif aggregate == "sum_qrels":
            all_line[name] = sum(tj.est_relevant for tj in judgements.values())
        else:  # sum_capped
            all_line[name] = sum(min(t.distinct, RESULT_CAP) for t in topics)
    for name in EXTRA_ORDER:  # avs's own figures: means over evaluated topics
        all_line[name] = sum(t.values[name] for t in topics) / len(topics)
    return Evaluation(topics, all_line, skipped)
