"""The measures NIST's ``sample_eval.pl`` prints, declared apart from their computation.

Each :class:`Measure` is a name (exactly as the script prints it), a definition with its
source, how the ``all`` line aggregates it, and how the script formats it. Computation
lives in :mod:`avs.eval.xinfap` only.

Source: E. Yilmaz, E. Kanoulas, J. A. Aslam, "A Simple and Efficient Sampling Method for
Estimating AP and NDCG", SIGIR 2008; NIST's ``sample_eval.pl`` (TV16+ variant, result
cap 1000) as described in docs/xinfap.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# "mean": mean over evaluated topics; "sum": sum over evaluated topics;
# "sum_qrels": sum over every qrels topic (evaluated or not);
# "sum_capped": sum over evaluated topics of min(distinct shots, 1000).
Aggregate = Literal["mean", "sum", "sum_qrels", "sum_capped"]

IP_CUTOFFS: tuple[int, ...] = (5, 10, 15, 20, 30, 100, 200, 500, 1000)
RECALL_LEVELS: tuple[int, ...] = tuple(range(11))  # tenths: 0.0, 0.1, ..., 1.0
RESULT_CAP = 1000  # ranks walked per topic, and the cap on the infAP divisor


@dataclass(frozen=True)
class Measure:
    """One figure of sample_eval's output."""

    name: str  # as printed, e.g. "infAP", "iP10", "iprec@rec0.30"
    doc: str  # definition (formula in docs/xinfap.md terms)
    aggregate: Aggregate  # how the `all` line combines per-topic values
    per_topic: bool  # printed per topic with -q
    label_sep: str  # tabs between the name and the topic id
    value_sep: str  # tabs between the topic id and the value
    fmt: str  # printf-style format of the value

    def line(self, topic: str, value: float) -> str:
        """The line sample_eval prints for this measure (no newline)."""
        shown = self.fmt % (int(value) if self.fmt.endswith("d") else value)
        return f"{self.name}{self.label_sep}{topic}{self.value_sep}{shown}"


def _mean(name: str, doc: str, label_sep: str = "\t\t", per_topic: bool = True) -> Measure:
    return Measure(name, doc, "mean", per_topic, label_sep, "\t\t", "%6.4f")


INFAP = _mean(
    "infAP",
    "Inferred AP: sum over strata s with J_s > 0 of (N_s/J_s) * SAP_s / R^, where SAP_s sums "
    "prec_k = (1 + sum_s d_s (r_s + eps)/(j_s + 3 eps)) / k over relevant shots of stratum s "
    "in the top 1000; times R^/1000 when R^ > 1000 (divisor min(R^, 1000)).",
)
INFNDCG = _mean(
    "infNDCG",
    "Inferred NDCG: (sum over strata with j_s > 0 of (d_s/D) * gain_s / j_s) * D / IDCG, "
    "gain_s = sum of rel / log2(k + 1) over relevant shots of stratum s.",
)
IPREC = tuple(
    _mean(
        f"iprec@rec{level / 10:.2f}",
        f"Interpolated inferred precision at recall {level / 10:.2f} (sample_eval's sweep, "
        "at most one level filled per rank).",
        label_sep="\t",
        per_topic=False,
    )
    for level in RECALL_LEVELS
)
IP = tuple(
    _mean(f"iP{c}", f"Inferred precision at rank {c}: est_rel({c}) / {c}.") for c in IP_CUTOFFS
)
INUM_REL_RET = Measure(
    "inum_rel_ret",
    "Estimated relevant shots retrieved: est_rel at the last rank walked.",
    "sum",
    True,
    "\t",
    "\t",
    "%14.4f",
)
INUM_REL = Measure(
    "inum_rel",
    "Estimated relevant shots R^ = sum over strata with J_s > 0 of R_s * N_s / J_s.",
    "sum_qrels",
    True,
    "\t",
    "\t",
    "%14.4f",
)
NUM_RET = Measure(
    "num_ret",
    "Run records for the topic (duplicates and records past 1000 included); the `all` "
    "line sums min(distinct shots, 1000).",
    "sum_capped",
    True,
    "\t\t",
    "\t",
    "%9d",
)

#: Every measure, keyed by name.
MEASURES: dict[str, Measure] = {
    m.name: m for m in (INFAP, INFNDCG, *IPREC, *IP, INUM_REL_RET, INUM_REL, NUM_RET)
}
#: Order of the per-topic block printed with -q.
TOPIC_ORDER: tuple[str, ...] = tuple(
    m.name for m in (INFAP, INFNDCG, *IP, INUM_REL_RET, INUM_REL, NUM_RET)
)
#: Order of the `all` block.
ALL_ORDER: tuple[str, ...] = tuple(
    m.name for m in (INFAP, INFNDCG, *IPREC, *IP, INUM_REL_RET, INUM_REL, NUM_RET)
)

# ---------------------------------------------------------------------------------------
# Figures avs adds (never part of the sample_eval output): how far to trust a run's
# infAP when the run was not in the pool. Definitions and findings: docs/evaluation.md.

COVERAGE_DEPTHS: tuple[int, ...] = (10, 100, 1000)
#: Default pooled@1000 below which a run's infAP is flagged as a lower bound.
POOLED_WARN = 0.8

INFAP_JUDGED = _mean(
    "infAP_judged",
    "Condensed infAP (Sakai's condensed lists on the sampled qrels): infAP of the run's "
    "first 1000 distinct shots with the shots absent from the qrels removed first, so a "
    "relevant shot is credited at its rank among pooled shots. Equals infAP when every "
    "shot walked is in the qrels; never below it.",
)
JUDGED_AT = tuple(
    _mean(
        f"judged@{k}",
        f"Share of the run's first {k} distinct shots (tie order) that the qrels judge "
        f"(rel >= 0), divided by {k} (a shorter list counts its missing ranks as unjudged).",
    )
    for k in COVERAGE_DEPTHS
)
POOLED_AT = tuple(
    _mean(
        f"pooled@{k}",
        f"Share of the run's first {k} distinct shots (tie order) present in the qrels at "
        f"all (unsampled -1 entries included), divided by {k}.",
    )
    for k in COVERAGE_DEPTHS
)
#: The added figures, keyed by name; all are means over topics in the `all` line.
EXTRA_MEASURES: dict[str, Measure] = {m.name: m for m in (INFAP_JUDGED, *JUDGED_AT, *POOLED_AT)}
#: Their order in every output (after sample_eval's figures).
EXTRA_ORDER: tuple[str, ...] = tuple(EXTRA_MEASURES)
