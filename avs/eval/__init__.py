"""Scoring runs the way NIST does: stratified infAP/infNDCG (sample_eval.pl semantics).

Public surface:

- :func:`evaluate_files` - qrels + run files (+ ground truth) -> :class:`RunEvaluation` s
- :func:`evaluate` / :func:`prepare_qrels` - the kernel on in-memory records
- :data:`MEASURES` - every figure sample_eval prints, declared with its definition
- :func:`paired_randomization_test` lives in :mod:`avs.eval.significance` (needs numpy)
"""

from avs.eval.api import RunEvaluation, evaluate_files
from avs.eval.measures import MEASURES
from avs.eval.xinfap import Evaluation, TopicResult, evaluate, prepare_qrels

__all__ = [
    "MEASURES",
    "Evaluation",
    "RunEvaluation",
    "TopicResult",
    "evaluate",
    "evaluate_files",
    "prepare_qrels",
]
