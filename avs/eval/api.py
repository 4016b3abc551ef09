"""The library call behind ``avs eval``: qrels + runs (+ ground truth) -> results.

The qrels are read and prepared once for every run, which is why scoring 20 runs in
one call costs little more than one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs.eval.runs import LoadedRun, load_run_address
from avs.eval.truth import relevant_sets, true_ap
from avs.eval.xinfap import Evaluation, TopicJudgements, evaluate, prepare_qrels
from avs.io.textfile import gc_paused


@dataclass(frozen=True)
class RunEvaluation:
    """One run's scores with their sources (run file, qrels file, provenance)."""

    name: str
    path: str
    kind: str  # parquet | trec | xml
    provenance: str  # simulated | real | unknown
    year: str | None
    qrels: str
    evaluation: Evaluation
    truth: str | None = None  # ground-truth qrels file, when given
    true_ap: dict[str, float] | None = None  # topic -> true AP (evaluated topics)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_true_ap(self) -> float | None:
        """Mean true AP over the evaluated topics (0 for topics absent from the truth)."""
        if self.true_ap is None:
            return None
        topics = [t.topic for t in self.evaluation.topics]
        return sum(self.true_ap.get(t, 0.0) for t in topics) / len(topics)


def evaluate_loaded(
    run: LoadedRun,
    judgements: dict[str, TopicJudgements],
    qrels_path: str | Path,
    truth: dict[str, set[str]] | None = None,
    truth_path: str | Path | None = None,
) -> RunEvaluation:
    """Score one loaded run against prepared qrels (and ground truth, if any)."""
    label = f"{run.path}" if run.kind != "xml" else f"{run.path} (run {run.name})"
    evaluation = evaluate(judgements, run.topics, run_label=label, qrels_label=str(qrels_path))
    truth_scores = None
    if truth is not None:
        evaluated = {t.topic: run.topics[t.topic] for t in evaluation.topics}
        truth_scores = true_ap(truth, evaluated)
    return RunEvaluation(
        name=run.name,
        path=str(run.path),
        kind=run.kind,
        provenance=run.provenance,
        year=run.year,
        qrels=str(qrels_path),
        evaluation=evaluation,
        truth=None if truth_path is None else str(truth_path),
        true_ap=truth_scores,
        meta=run.meta,
    )


def evaluate_files(
    qrels_path: str | Path,
    run_paths: Sequence[str | Path],
    truth_path: str | Path | None = None,
) -> list[RunEvaluation]:
    """Read the qrels once, then score every run in ``run_paths`` (XML files may hold
    several runs; ``FILE.xml#RUNID`` names one of them). Raises AvsError/FormatError
    naming the file (and line) at fault."""
    from avs.io.qrels import read_qrels

    # Scoring builds millions of small tuples and lists that all stay alive until the
    # end: with the cyclic collector running, its repeated full passes cost a third of
    # the time of 20 runs, and there is no cycle to collect.
    with gc_paused():
        judgements = prepare_qrels(read_qrels(qrels_path))
        truth = relevant_sets(read_qrels(truth_path)) if truth_path is not None else None
        results = []
        for path in run_paths:
            for run in load_run_address(path):
                results.append(evaluate_loaded(run, judgements, qrels_path, truth, truth_path))
    return results
