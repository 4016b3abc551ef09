"""True AP from complete ground truth, by hand."""

from __future__ import annotations

import pytest

from avs.eval.api import evaluate_files
from avs.eval.truth import relevant_sets, true_ap, true_ap_topic
from avs.io.records import Qrel


def test_true_ap_by_hand():
    """Relevant {a, c, e}; ranking a, b, c (e missed): AP = (1/1 + 2/3) / 3."""
    ap = true_ap_topic({"a", "c", "e"}, [("a", 3.0), ("b", 2.0), ("c", 1.0)])
    assert ap == pytest.approx((1 + 2 / 3) / 3)


def test_true_ap_uses_tie_rule_and_duplicates():
    """Tie: "b" > "a", so b ranks first; a's later record (score 5) replaces 1."""
    assert true_ap_topic({"a"}, [("a", 1.0), ("b", 1.0)]) == pytest.approx(0.5)
    assert true_ap_topic({"a"}, [("a", 1.0), ("b", 2.0), ("a", 5.0)]) == pytest.approx(1.0)


def test_true_ap_divisor_capped_at_1000():
    relevant = {f"r{i:04d}" for i in range(1500)}
    ranking = [(f"r{i:04d}", 2000.0 - i) for i in range(1000)]
    assert true_ap_topic(relevant, ranking) == pytest.approx(1.0)


def test_topics_without_relevant_shots():
    truth = relevant_sets([Qrel("1", "a", "1", 0), Qrel("2", "b", "1", 1)])
    assert truth == {"1": set(), "2": {"b"}}
    assert true_ap(truth, {"1": [("a", 1.0)], "2": [("b", 1.0)], "3": [("c", 1.0)]}) == {
        "1": 0.0,
        "2": 1.0,
    }


def test_eval_files_with_truth(tmp_path):
    """Sampled qrels judge a only; the truth knows a and c are relevant."""
    qrels = tmp_path / "q"
    qrels.write_text("1701 0 a 1 1\n1701 0 b 1 0\n1701 0 c 2 -1\n")
    truth = tmp_path / "t"
    truth.write_text("1701 0 a 1\n1701 0 c 1\n")
    run = tmp_path / "r"
    run.write_text("1701 Q0 a 1 3 t\n1701 Q0 b 2 2 t\n1701 Q0 c 3 1 t\n")
    result = evaluate_files(qrels, [run], truth_path=truth)[0]
    assert result.true_ap == {"1701": pytest.approx((1 + 2 / 3) / 2)}
    assert result.mean_true_ap == pytest.approx((1 + 2 / 3) / 2)
    assert result.truth == str(truth)
