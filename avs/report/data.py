"""Report data: plain values computed from evaluations, rendered elsewhere.

:func:`build_report` turns scored runs (:class:`avs.eval.api.RunEvaluation`) into a
:class:`ReportData`: mean infAP per run per year, per-topic infAP per year with the runs
side by side, the best and worst topics of each year (by mean infAP over its runs), and
paired randomization tests between every two runs of a year (over their common topics).
Every figure keeps its sources: run file, qrels file, simulated or real.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from avs.eval.api import RunEvaluation
from avs.eval.runs import YEAR_TOPICS, infer_year
from avs.eval.significance import PairedTest, paired_randomization_test

EXTREMES = 3  # best / worst topics listed per year


@dataclass(frozen=True)
class RunEntry:
    """One run's figures for one year."""

    name: str
    path: str
    kind: str  # parquet | trec | xml
    provenance: str  # simulated | real | unknown
    qrels: str
    mean_infap: float
    mean_infndcg: float
    infap: dict[str, float]  # topic -> infAP
    mean_true_ap: float | None = None

    @property
    def source(self) -> str:
        """One-line provenance of this run's figures."""
        return f"run {self.name} ({self.path}, {self.provenance}), qrels {self.qrels}"


@dataclass(frozen=True)
class Comparison:
    """Paired test of run ``a`` minus run ``b`` over their common topics."""

    a: str
    b: str
    test: PairedTest


@dataclass(frozen=True)
class TopicRow:
    """A topic's infAP for each run of the year (None where the run lacks the topic)."""

    topic: str
    values: list[float | None]
    mean: float


@dataclass(frozen=True)
class YearSection:
    """Everything the report shows for one year."""

    year: str
    qrels: list[str]
    runs: list[RunEntry]
    rows: list[TopicRow]  # topics in numeric order
    best: list[TopicRow]
    worst: list[TopicRow]
    comparisons: list[Comparison]


@dataclass(frozen=True)
class ReportData:
    """The whole report; render with :mod:`avs.report.render`."""

    years: list[YearSection]
    run_names: list[str]  # overview rows, in first-seen order
    overview: dict[str, dict[str, float]]  # run -> year -> mean infAP
    seed: int
    permutations: int
    notes: list[str] = field(default_factory=list)

    @property
    def year_names(self) -> list[str]:
        """Years in the report, in order."""
        return [y.year for y in self.years]


def _year_key(year: str) -> tuple[int, str]:
    # chronological by the first topic number of the year's range
    numbers = YEAR_TOPICS.get(year)
    return (numbers.start if numbers else 10_000, year)


def _topic_key(topic: str) -> tuple[int, int | str]:
    return (0, int(topic)) if topic.isdigit() else (1, topic)


def year_of(result: RunEvaluation) -> str:
    """The year a result belongs to: its own, else inferred from its topics."""
    if result.year:
        return str(result.year)
    inferred = infer_year(t.topic for t in result.evaluation.topics)
    return inferred or "unknown year"


def _entry(result: RunEvaluation) -> RunEntry:
    evaluation = result.evaluation
    return RunEntry(
        name=result.name,
        path=result.path,
        kind=result.kind,
        provenance=result.provenance,
        qrels=result.qrels,
        mean_infap=evaluation.all["infAP"],
        mean_infndcg=evaluation.all["infNDCG"],
        infap=evaluation.per_topic("infAP"),
        mean_true_ap=result.mean_true_ap,
    )


def _unique_names(results: list[RunEvaluation]) -> list[str]:
    """Run names, suffixed with #2, #3 ... where two inputs of a year share a name."""
    seen: dict[str, int] = {}
    names = []
    for r in results:
        seen[r.name] = seen.get(r.name, 0) + 1
        names.append(r.name if seen[r.name] == 1 else f"{r.name}#{seen[r.name]}")
    return names


def _section(
    year: str, results: list[RunEvaluation], rng: np.random.Generator, permutations: int
) -> YearSection:
    entries = []
    for name, r in zip(_unique_names(results), results, strict=True):
        entry = _entry(r)
        entries.append(RunEntry(**{**entry.__dict__, "name": name}))
    topics = sorted({t for e in entries for t in e.infap}, key=_topic_key)
    rows = []
    for topic in topics:
        values = [e.infap.get(topic) for e in entries]
        present = [v for v in values if v is not None]
        rows.append(TopicRow(topic, values, sum(present) / len(present)))
    ranked = sorted(rows, key=lambda row: (-row.mean, _topic_key(row.topic)))
    count = min(EXTREMES, len(ranked) // 2) if len(ranked) > 1 else len(ranked)
    comparisons = []
    for a, b in itertools.combinations(entries, 2):
        common = [t for t in topics if t in a.infap and t in b.infap]
        if not common:
            continue
        test = paired_randomization_test(
            [a.infap[t] for t in common],
            [b.infap[t] for t in common],
            rng,
            permutations=permutations,
        )
        comparisons.append(Comparison(a.name, b.name, test))
    return YearSection(
        year=year,
        qrels=sorted({e.qrels for e in entries}),
        runs=entries,
        rows=rows,
        best=ranked[:count],
        worst=list(reversed(ranked[-count:])) if count else [],
        comparisons=comparisons,
    )


def build_report(
    results: list[RunEvaluation], *, seed: int = 0, permutations: int = 10_000
) -> ReportData:
    """Group results by year and compute every table, ranking and test of the report.

    The tests draw from one ``numpy.random.default_rng(seed)``, years in order, pairs in
    input order, so the same inputs and seed give the same p-values and intervals."""
    by_year: dict[str, list[RunEvaluation]] = {}
    for r in results:
        by_year.setdefault(year_of(r), []).append(r)
    rng = np.random.default_rng(seed)
    years = [
        _section(year, by_year[year], rng, permutations) for year in sorted(by_year, key=_year_key)
    ]
    overview: dict[str, dict[str, float]] = {}
    for section in years:
        for entry in section.runs:
            overview.setdefault(entry.name, {})[section.year] = entry.mean_infap
    notes = []
    if any(e.provenance == "simulated" for s in years for e in s.runs):
        notes.append(
            "Runs marked simulated were scored on a simulated collection: their figures say "
            "nothing about real TRECVID performance."
        )
    if any(e.provenance == "unknown" for s in years for e in s.runs):
        notes.append(
            "Provenance unknown: TREC and XML run files carry no avs metadata saying whether "
            "they come from a simulated or a real collection."
        )
    return ReportData(years, list(overview), overview, seed, permutations, notes)
