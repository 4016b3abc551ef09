"""True AP from complete ground truth (the simulated collection's ``truth/YEAR.qrels``).

Sampled qrels give an *estimate* (infAP); with every relevant shot known we can compute
the quantity it estimates and show the sampling error. Same conventions as
:mod:`avs.eval.xinfap`: ranking by the tie rule, duplicates collapsed, top 1000 walked,
and the divisor capped at 1000 like sample_eval's TV16+ variant:

    AP = (1 / min(R, 1000)) * sum over relevant shots at rank k <= 1000 of hits(k) / k

where R is the number of relevant shots (rel > 0) in the ground truth for the topic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from avs.eval.measures import RESULT_CAP
from avs.eval.xinfap import rank_shots
from avs.io.records import Qrel


def relevant_sets(truth: Iterable[Qrel]) -> dict[str, set[str]]:
    """topic -> shots with rel > 0 (a topic with no relevant shot maps to an empty set)."""
    sets: dict[str, set[str]] = {}
    for q in truth:
        shots = sets.setdefault(q.topic, set())
        if q.rel > 0:
            shots.add(q.shot)
    return sets


def true_ap_topic(relevant: set[str], records: Sequence[tuple[str, float]]) -> float:
    """AP of one topic's run records against its complete set of relevant shots."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for k, shot in enumerate(rank_shots(records)[:RESULT_CAP], start=1):
        if shot in relevant:
            hits += 1
            total += hits / k
    return total / min(len(relevant), RESULT_CAP)


def true_ap(
    truth: Mapping[str, set[str]], run: Mapping[str, Sequence[tuple[str, float]]]
) -> dict[str, float]:
    """topic -> true AP for topics present in both the run and the ground truth."""
    return {t: true_ap_topic(truth[t], recs) for t, recs in run.items() if t in truth}
