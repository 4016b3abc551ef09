"""How much of a run the qrels have seen: the judged@k / pooled@k figures and the warning.

The figures themselves are computed in the walk of :func:`avs.eval.xinfap.evaluate_topic`
(one pass over the ranks, the tie order infAP uses); definitions in
:mod:`avs.eval.measures`. A run scored after the fact (not in the pool) has shots the
assessors never saw; they count as not relevant, so its infAP can only be too low. When
``pooled@1000`` (mean over topics) is below a threshold (default
:data:`~avs.eval.measures.POOLED_WARN`) every output says so. Findings on known truth:
docs/evaluation.md.
"""

from __future__ import annotations

from collections.abc import Mapping

from avs.errors import AvsError
from avs.eval.api import RunEvaluation
from avs.eval.measures import COVERAGE_DEPTHS, POOLED_WARN

__all__ = ["COVERAGE_FIGURES", "check_threshold", "coverage_warning", "low_coverage"]

#: Names of the coverage figures, in output order.
COVERAGE_FIGURES: tuple[str, ...] = tuple(
    f"{kind}@{k}" for kind in ("judged", "pooled") for k in COVERAGE_DEPTHS
)
WARN_MEASURE = "pooled@1000"


def check_threshold(value: float, option: str = "--pooled-warn") -> float:
    """``value`` if it is a share in [0, 1]; else an AvsError naming ``option``."""
    if not 0.0 <= value <= 1.0:
        raise AvsError(f"{option} must be a share between 0 and 1, got {value}")
    return value


def low_coverage(values: Mapping[str, float], threshold: float = POOLED_WARN) -> bool:
    """Whether figures ``values`` (a topic's or the `all` line) fall below the threshold.

    Results saved before the coverage figures existed carry none: never flagged."""
    pooled = values.get(WARN_MEASURE)
    return pooled is not None and pooled < threshold


def coverage_warning(result: RunEvaluation, threshold: float = POOLED_WARN) -> str | None:
    """One line saying that ``result``'s infAP is a lower bound, or None if well pooled."""
    values = result.evaluation.all
    if not low_coverage(values, threshold):
        return None
    pooled = values[WARN_MEASURE]
    judged = values.get("judged@1000", pooled)
    condensed = values.get("infAP_judged")
    tail = "" if condensed is None else f"; condensed infAP_judged {condensed:.4f}"
    return (
        f"{result.name}: pooled@1000 = {pooled:.2f} < {threshold:.2f}: infAP is a lower bound "
        f"({1 - pooled:.0%} of its top-1000 ranks hold shots the qrels never pooled, or no "
        f"shot; judged@1000 = {judged:.2f}; infAP {values['infAP']:.4f}{tail})"
    )
