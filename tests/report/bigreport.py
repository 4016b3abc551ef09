"""Test helper: a simulated comparison of 20 runs over 7 TRECVID years, scored in memory.

Every year gets sampled-looking qrels (strata 1-2 judged, stratum 3 half judged, the
rest -1) and 20 runs named team1 .. team20 of rising quality, some of them post-hoc
(a share of their shots never pooled). All of it says simulated.
"""

from __future__ import annotations

import random

from avs.eval.api import RunEvaluation
from avs.eval.xinfap import evaluate, prepare_qrels
from avs.io.records import Qrel, qrels_topic
from avs.trecvid import YEARS

BIG_YEARS = ("2016", "2017", "2018", "2019", "2020", "2021", "2022")


def big_results(runs: int = 20, years: tuple[str, ...] = BIG_YEARS) -> list[RunEvaluation]:
    """``runs`` x ``len(years)`` simulated results (about 1 s for 20 x 7)."""
    results = []
    for year in years:
        rng = random.Random(int(year))
        qrels, relevant = [], {}
        for number in YEARS[year].topics:
            topic = qrels_topic(number)
            rel = {f"shot{number:05d}_{i}" for i in range(rng.randint(5, 40))}
            relevant[topic] = rel
            pool = sorted(rel) + [f"shot{number:05d}_{i}" for i in range(40, 900)]
            for i, shot in enumerate(pool):
                stratum = 1 if i % 3 == 0 else 2 if i % 3 == 1 else 3
                judged = stratum < 3 or rng.random() < 0.5
                qrels.append(Qrel(topic, shot, str(stratum), int(shot in rel) if judged else -1))
        judgements = prepare_qrels(qrels)
        for r in range(1, runs + 1):
            quality = r / runs
            unpooled = 0.45 if r % 5 == 0 else 0.05  # every fifth run is post-hoc
            run = {}
            for topic, tj in judgements.items():
                shots = list(tj.shots)
                scored = []
                for shot in shots:
                    score = rng.random() + (quality * 1.5 if shot in relevant[topic] else 0.0)
                    scored.append((shot, score))
                n_new = int(unpooled * 1000)
                scored += [(f"new{r}_{topic}_{i}", rng.random() * 1.2) for i in range(n_new)]
                run[topic] = scored
            evaluation = evaluate(judgements, run, run_label=f"team{r}")
            results.append(
                RunEvaluation(
                    name=f"team{r}",
                    path=f"runs/{year}/team{r}.parquet",
                    kind="parquet",
                    provenance="simulated",
                    year=year,
                    qrels=f"collections/sim/qrels/{year}.qrels",
                    evaluation=evaluation,
                )
            )
    return results
