"""Report data: plain values computed from evaluations, rendered elsewhere.

:func:`build_report` turns scored runs (:class:`avs.eval.api.RunEvaluation`) into a
:class:`ReportData`: mean infAP per run per year (with coverage), per-topic infAP per
year with the runs side by side, the best and worst topics of each year (by mean infAP
over its runs), topic texts, and paired randomization tests between the runs of a year
(every pair, or every run against ``--baseline``) with Holm-Bonferroni adjusted p-values
over each year's family of tests and per-topic win/tie/loss counts.

Runs are ordered by mean infAP (descending), names in natural order where the figure
ties (team2 before team10). A run whose provenance contradicts its qrels' (a simulated
run scored against real qrels, or the reverse) is kept out of the comparison and listed
in its own section with a warning. Every figure keeps its sources: run file, qrels
file, simulated or real.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from avs.errors import AvsError
from avs.eval.api import RunEvaluation
from avs.eval.measures import POOLED_WARN
from avs.eval.runs import infer_year
from avs.eval.significance import PairedTest, paired_randomization_test
from avs.io.textfile import read_json
from avs.trecvid import YEARS

EXTREMES = 3  # best / worst topics listed per year
TIE = 5e-5  # per-topic |a - b| below this (equal at 4 decimals) is a tie
ALPHA = 0.05  # level at which an adjusted p-value is shown as significant
CORRECTION = "Holm-Bonferroni"
# NIST's qrels file names (avs.qrels.main.tv21, avs.qrels.progress.tv21 ...): real qrels
_NIST_QRELS = re.compile(r"avs\.qrels\..*tv\d\d", re.IGNORECASE)


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
    coverage: dict[str, float] = field(default_factory=dict)  # all line: pooled@k, judged@k,
    # infAP_judged (empty for results saved before avs had them)
    topic_pooled: dict[str, float] = field(default_factory=dict)  # topic -> pooled@1000
    qrels_provenance: str = "unknown"  # simulated | real | unknown

    @property
    def source(self) -> str:
        """One-line provenance of this run's figures."""
        return f"run {self.name} ({self.path}, {self.provenance}), qrels {self.qrels}"

    @property
    def pooled(self) -> float | None:
        """Mean pooled@1000 (None when unknown)."""
        return self.coverage.get("pooled@1000")

    def low_coverage(self, threshold: float) -> bool:
        """Whether this run's infAP is flagged as a lower bound."""
        return self.pooled is not None and self.pooled < threshold

    @property
    def mismatched(self) -> bool:
        """A simulated run scored against real qrels, or a real run against simulated."""
        pair = {self.provenance, self.qrels_provenance}
        return pair == {"simulated", "real"}


@dataclass(frozen=True)
class Comparison:
    """Paired test of run ``a`` minus run ``b`` over their common topics."""

    a: str
    b: str
    test: PairedTest
    p_adjusted: float = float("nan")  # Holm-Bonferroni over the year's family
    wins: int = 0  # topics where a > b (by more than TIE)
    ties: int = 0
    losses: int = 0

    @property
    def significant(self) -> bool:
        """Adjusted p below :data:`ALPHA`."""
        return self.p_adjusted < ALPHA


@dataclass(frozen=True)
class TopicRow:
    """A topic's infAP for each run of the year (None where the run lacks the topic)."""

    topic: str
    values: list[float | None]
    mean: float
    text: str = ""  # the topic's text, when known


@dataclass(frozen=True)
class YearSection:
    """Everything the report shows for one year."""

    year: str
    qrels: list[str]
    runs: list[RunEntry]  # by mean infAP, best first
    rows: list[TopicRow]  # topics in numeric order
    best: list[TopicRow]
    worst: list[TopicRow]
    comparisons: list[Comparison]
    baseline: str | None = None  # run every other run is tested against, if any


@dataclass(frozen=True)
class ReportData:
    """The whole report; render with :mod:`avs.report.render`."""

    years: list[YearSection]
    run_names: list[str]  # overview rows: by mean infAP over their years, best first
    overview: dict[str, dict[str, float]]  # run -> year -> mean infAP
    seed: int
    permutations: int
    notes: list[str] = field(default_factory=list)
    mismatched: list[tuple[str, RunEntry]] = field(default_factory=list)  # (year, run)
    threshold: float = POOLED_WARN  # pooled@1000 below which infAP is a lower bound
    correction: str = CORRECTION
    warnings: list[str] = field(default_factory=list)  # low-coverage lines

    @property
    def year_names(self) -> list[str]:
        """Years in the report, in order."""
        return [y.year for y in self.years]

    def entry(self, name: str, year: str) -> RunEntry | None:
        """The run ``name`` of ``year`` (None if it has no run that year)."""
        for section in self.years:
            if section.year == year:
                return next((e for e in section.runs if e.name == name), None)
        return None


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key reading digit runs as numbers: team2 < team10, run-9 < run-10."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", text)
        if part
    )


def _year_key(year: str) -> tuple[int, str]:
    # chronological by the first topic number of the year's range
    spec = YEARS.get(year)
    return (spec.topics.start if spec else 10_000, year)


def _topic_key(topic: str) -> tuple[int, int | str]:
    return (0, int(topic)) if topic.isdigit() else (1, topic)


def year_of(result: RunEvaluation) -> str:
    """The year a result belongs to: its own, else inferred from its topics."""
    if result.year:
        return str(result.year)
    inferred = infer_year(t.topic for t in result.evaluation.topics)
    return inferred or "unknown year"


def qrels_provenance(path: str | Path) -> str:
    """'simulated' when an ``avs synth`` collection.json next to the qrels lists them,
    'real' for NIST's file names (avs.qrels.*.tvYY), else 'unknown'."""
    path = Path(path)
    if _NIST_QRELS.search(path.name):
        return "real"
    for folder in (path.parent, path.parent.parent):
        meta = folder / "collection.json"
        if not meta.is_file():
            continue
        try:
            doc = read_json(meta, "collection")
        except AvsError:  # not ours to judge here: only decides 'simulated'
            continue
        if not isinstance(doc, dict) or doc.get("format") != "avs-collection":
            continue
        listed = {
            (folder / str(files.get(kind, ""))).resolve()
            for files in (doc.get("years") or {}).values()
            if isinstance(files, dict)
            for kind in ("qrels", "truth")
        }
        if path.resolve() in listed:
            return "simulated" if doc.get("simulated") else "real"
    return "unknown"


def _entry(result: RunEvaluation, name: str) -> RunEntry:
    evaluation = result.evaluation
    coverage = {
        k: v
        for k, v in evaluation.all.items()
        if k.startswith(("pooled@", "judged@")) or k == "infAP_judged"
    }
    return RunEntry(
        name=name,
        path=result.path,
        kind=result.kind,
        provenance=result.provenance,
        qrels=result.qrels,
        mean_infap=evaluation.all["infAP"],
        mean_infndcg=evaluation.all["infNDCG"],
        infap=evaluation.per_topic("infAP"),
        mean_true_ap=result.mean_true_ap,
        coverage=coverage,
        topic_pooled={
            t.topic: t.values["pooled@1000"] for t in evaluation.topics if "pooled@1000" in t.values
        },
        qrels_provenance=qrels_provenance(result.qrels),
    )


def _unique_names(results: list[RunEvaluation]) -> list[str]:
    """Run names, suffixed with #2, #3 ... where two inputs of a year share a name."""
    seen: dict[str, int] = {}
    names = []
    for r in results:
        seen[r.name] = seen.get(r.name, 0) + 1
        names.append(r.name if seen[r.name] == 1 else f"{r.name}#{seen[r.name]}")
    return names


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), input order.

    Source: S. Holm, "A Simple Sequentially Rejective Multiple Test Procedure", Scand.
    J. Statist. 6 (1979). Rejecting where adjusted p < alpha controls the family-wise
    error rate at alpha."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


def _compare(
    a: RunEntry, b: RunEntry, topics: list[str], rng: np.random.Generator, permutations: int
) -> Comparison | None:
    common = [t for t in topics if t in a.infap and t in b.infap]
    if not common:
        return None
    xs, ys = [a.infap[t] for t in common], [b.infap[t] for t in common]
    test = paired_randomization_test(xs, ys, rng, permutations=permutations)
    diffs = [x - y for x, y in zip(xs, ys, strict=True)]
    wins = sum(d > TIE for d in diffs)
    losses = sum(d < -TIE for d in diffs)
    return Comparison(
        a.name, b.name, test, wins=wins, ties=len(diffs) - wins - losses, losses=losses
    )


def _section(
    year: str,
    entries: list[RunEntry],
    rng: np.random.Generator,
    permutations: int,
    texts: Mapping[str, str],
    baseline: str | None,
) -> YearSection:
    entries = sorted(entries, key=lambda e: (-e.mean_infap, natural_key(e.name)))
    topics = sorted({t for e in entries for t in e.infap}, key=_topic_key)
    rows = []
    for topic in topics:
        values = [e.infap.get(topic) for e in entries]
        present = [v for v in values if v is not None]
        rows.append(TopicRow(topic, values, sum(present) / len(present), texts.get(topic, "")))
    ranked = sorted(rows, key=lambda row: (-row.mean, _topic_key(row.topic)))
    count = min(EXTREMES, len(ranked) // 2) if len(ranked) > 1 else len(ranked)
    base = next((e for e in entries if e.name == baseline), None)
    if base is not None:  # every other run against the baseline: run minus baseline
        pairs = [(e, base) for e in entries if e is not base]
    else:
        pairs = list(itertools.combinations(entries, 2))
    comparisons = [c for a, b in pairs if (c := _compare(a, b, topics, rng, permutations))]
    adjusted = holm([c.test.p_value for c in comparisons])
    comparisons = [replace(c, p_adjusted=p) for c, p in zip(comparisons, adjusted, strict=True)]
    return YearSection(
        year=year,
        qrels=sorted({e.qrels for e in entries}),
        runs=entries,
        rows=rows,
        best=ranked[:count],
        worst=list(reversed(ranked[-count:])) if count else [],
        comparisons=comparisons,
        baseline=base.name if base is not None else None,
    )


def build_report(
    results: list[RunEvaluation],
    *,
    seed: int = 0,
    permutations: int = 10_000,
    baseline: str | None = None,
    topic_texts: Mapping[str, Mapping[str, str]] | None = None,
    threshold: float = POOLED_WARN,
) -> ReportData:
    """Group results by year and compute every table, ranking and test of the report.

    ``baseline``: the run every other run of a year is tested against (AvsError if no
    year has it); default every pair. ``topic_texts``: year -> qrels topic id -> text.
    The tests draw from one ``numpy.random.default_rng(seed)``, years in order, pairs in
    the order shown, so the same inputs and seed give the same p-values and intervals."""
    by_year: dict[str, list[RunEvaluation]] = {}
    for r in results:
        by_year.setdefault(year_of(r), []).append(r)
    rng = np.random.default_rng(seed)
    texts = topic_texts or {}
    years, mismatched = [], []
    for year in sorted(by_year, key=_year_key):
        entries = [
            _entry(r, n) for n, r in zip(_unique_names(by_year[year]), by_year[year], strict=True)
        ]
        mismatched += [(year, e) for e in entries if e.mismatched]
        kept = [e for e in entries if not e.mismatched]
        if kept:
            years.append(_section(year, kept, rng, permutations, texts.get(year, {}), baseline))
    if baseline is not None and not any(s.baseline for s in years):
        names = sorted({e.name for s in years for e in s.runs}, key=natural_key)
        raise AvsError(f"--baseline {baseline!r}: no such run (runs: {', '.join(names)})")
    if not years:
        raise AvsError(
            "nothing to report: every run's provenance contradicts its qrels' "
            "(simulated runs against real qrels, or the reverse)"
        )
    overview: dict[str, dict[str, float]] = {}
    for section in years:
        for entry in section.runs:
            overview.setdefault(entry.name, {})[section.year] = entry.mean_infap
    run_names = sorted(
        overview,
        key=lambda n: (-sum(overview[n].values()) / len(overview[n]), natural_key(n)),
    )
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
    low: dict[str, list[str]] = {}  # run -> its years with low coverage
    for s in years:
        for e in s.runs:
            if e.low_coverage(threshold):
                low.setdefault(e.name, []).append(f"{s.year} ({e.pooled:.2f})")
    warnings = [
        f"{name}: pooled@1000 < {threshold:.2f} in {', '.join(where)}: its infAP is a lower "
        "bound there (see infAP_judged)"
        for name, where in low.items()
    ]
    return ReportData(
        years,
        run_names,
        overview,
        seed,
        permutations,
        notes,
        mismatched=mismatched,
        threshold=threshold,
        warnings=warnings,
    )
