"""xinfAP kernel against figures derived by hand from docs/xinfap.md.

Each case states its derivation; values are compared as sample_eval prints them
(``%6.4f`` / ``%14.4f``) and, where the arithmetic is short, to float precision.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avs.errors import AvsError
from avs.eval.measures import ALL_ORDER, MEASURES, TOPIC_ORDER
from avs.eval.xinfap import EPS, evaluate, evaluate_topic, prepare_qrels, rank_shots
from avs.io.records import Qrel

# ---------------------------------------------------------------- fixtures (small qrels)


def qrels(*rows: tuple[str, str, str, int]) -> dict:
    """Prepared qrels from (topic, shot, stratum, rel) rows."""
    return prepare_qrels([Qrel(*row) for row in rows])


# Topic 1701, one fully judged stratum: a and c relevant, b not. N = J = 3, R = 2.
SIMPLE = qrels(("1701", "a", "1", 1), ("1701", "b", "1", 0), ("1701", "c", "1", 1))


def shown(name: str, value: float) -> str:
    return MEASURES[name].line("t", value).rsplit("\t", 1)[1].strip()


# ---------------------------------------------------------------- per-topic walk


def test_fully_judged_stratum_is_plain_ap():
    """Ranks a, b, c: prec 1 at k=1, (1 + 2(1+eps)/(2+3eps))/3 at k=3; R^ = 2."""
    res = evaluate_topic(SIMPLE["1701"], [("a", 3.0), ("b", 2.0), ("c", 1.0)])
    prec3 = (1 + 2 * (1 + EPS) / (2 + 3 * EPS)) / 3
    assert res.values["infAP"] == pytest.approx((1 + prec3) / 2, abs=1e-15)
    assert shown("infAP", res.values["infAP"]) == "0.8333"
    est3 = 3 * (2 + EPS) / (3 + 3 * EPS)
    assert res.values["inum_rel_ret"] == pytest.approx(est3, abs=1e-15)
    assert res.values["inum_rel"] == 2.0
    assert res.values["iP5"] == pytest.approx(est3 / 5)  # run shorter than 5
    assert res.values["iP1000"] == pytest.approx(est3 / 1000)
    assert res.values["num_ret"] == 3


def test_infndcg_binary():
    """gain = 1/log2(2) + 1/log2(4) = 1.5; D = 3, j = 3; IDCG = 1 + 1/log2(3)."""
    res = evaluate_topic(SIMPLE["1701"], [("a", 3.0), ("b", 2.0), ("c", 1.0)])
    expected = (3 / 3) * 1.5 / 3 * 3 / (1 + 1 / math.log2(3))
    assert res.values["infNDCG"] == pytest.approx(expected, abs=1e-15)
    assert shown("infNDCG", res.values["infNDCG"]) == "0.9197"


def test_infndcg_graded_and_fractional_idcg():
    """Stratum 1: a rel 2, b rel 0; stratum 2: c rel 1, d rel 0, e unjudged.
    R^_2 = 1 * 2/2 = 1; R^_1 = 1 * 3/2 = 1.5. IDCG: grade 2 at r=1 (2/1); start = 1;
    grade 1 at r = 2 (r <= 2.5), then r = 3 > 2.5 stops: + 1/log2(3).
    Run a, c: gain_1 = 2/log2(2) = 2 (j_1 = 1, d_1 = 1), gain_2 = 1/log2(3) (j_2 = 1);
    D = 2: dcg = (1/2)*2/1 + (1/2)*(1/log2 3)/1, infNDCG = dcg * 2 / IDCG."""
    judged = qrels(
        ("1", "a", "1", 2),
        ("1", "b", "1", 0),
        ("1", "c", "2", 1),
        ("1", "d", "2", 0),
        ("1", "e", "2", -1),
    )
    res = evaluate_topic(judged["1"], [("a", 2.0), ("c", 1.0)])
    idcg = 2 + 1 / math.log2(3)
    dcg = 0.5 * 2 / 1 + 0.5 * (1 / math.log2(3)) / 1
    assert res.values["infNDCG"] == pytest.approx(dcg * 2 / idcg, abs=1e-15)
    assert res.values["inum_rel"] == 2.5


def test_idcg_fractional_start_quirk():
    """R^_2 = 1.5 and R^_1 = 1.5 (N = 3, J = 2 in each stratum): grade 2 adds r = 1 only
    (r = 2 > 1.5); start = 1.5, grade 1 adds r = 2.5 only (3.5 > 3.0)."""
    judged = qrels(
        ("1", "a", "1", 2),
        ("1", "b", "1", 0),
        ("1", "x", "1", -1),
        ("1", "c", "2", 1),
        ("1", "d", "2", 0),
        ("1", "y", "2", -1),
    )
    res = evaluate_topic(judged["1"], [("a", 1.0)])
    idcg = 2 / math.log2(2) + 1 / math.log2(3.5)
    # only a retrieved: gain_1 = 2, j_1 = 1, d_1 = 1 = D
    assert res.values["infNDCG"] == pytest.approx(2 / idcg, abs=1e-15)


def test_unjudged_stratum_counts_one_third():
    """Stratum 2 holds only unjudged shots x, y: pooled shot x above a relevant shot adds
    1 * eps/(3 eps) = 1/3 to the estimate (the artefact the script has). R^ ignores the
    stratum (J_2 = 0): R^ = 2. infAP = (1 + 1/3)/2 / R^."""
    judged = qrels(
        ("1", "a", "1", 1),
        ("1", "b", "1", 0),
        ("1", "c", "1", 1),
        ("1", "x", "2", -1),
        ("1", "y", "2", -1),
    )
    res = evaluate_topic(judged["1"], [("x", 2.0), ("a", 1.0)])
    assert res.values["infAP"] == pytest.approx((1 + 1 / 3) / 2 / 2, abs=1e-12)
    assert shown("infAP", res.values["infAP"]) == "0.3333"
    est2 = 1 / 3 + (1 + EPS) / (1 + 3 * EPS)
    assert res.values["iP5"] == pytest.approx(est2 / 5, abs=1e-15)
    assert shown("iP5", res.values["iP5"]) == "0.2667"


def test_unpooled_shots_are_non_relevant_and_uncounted():
    """z is not in the qrels: it takes rank 1 but adds to no d_s, so a at rank 2 has
    prec (1 + 0)/2 and the estimate stays where it was."""
    res = evaluate_topic(SIMPLE["1701"], [("z", 5.0), ("a", 4.0)])
    assert res.values["infAP"] == pytest.approx(0.5 / 2)
    assert res.values["inum_rel_ret"] == pytest.approx((1 + EPS) / (1 + 3 * EPS))


def test_sampled_stratum_weights():
    """Stratum 2 sampled at 2/4 (p judged rel, q judged non-rel, u, v unjudged):
    R^ = 1*1/1 + 1*4/2 = 3. Run a, u, p: at a prec 1 (stratum 1); at p (stratum 2,
    k=3) prec = (1 + 1(1+eps)/(1+3eps) + 1(0+eps)/(0+3eps))/3.
    infAP = (1/1 * 1 + 4/2 * prec_p) / 3."""
    judged = qrels(
        ("1", "a", "1", 1),
        ("1", "p", "2", 1),
        ("1", "q", "2", 0),
        ("1", "u", "2", -1),
        ("1", "v", "2", -1),
    )
    res = evaluate_topic(judged["1"], [("a", 3.0), ("u", 2.0), ("p", 1.0)])
    prec_p = (1 + (1 + EPS) / (1 + 3 * EPS) + EPS / (3 * EPS)) / 3
    assert res.values["inum_rel"] == 3.0
    assert res.values["infAP"] == pytest.approx((1.0 + 2 * prec_p) / 3, abs=1e-15)


# ---------------------------------------------------------------- ranking rules


def test_ties_broken_by_shot_id_descending_as_string():
    """Equal scores: "s9" > "s10" as strings, so s9 (not relevant) ranks first and the
    relevant s10 lands at rank 2: prec = (1 + 1(0+eps)/(1+3eps))/2 ~ 0.5 (input order and
    numeric order would give 1)."""
    judged = qrels(("1", "s10", "1", 1), ("1", "s9", "1", 0))
    assert rank_shots([("s10", 1.0), ("s9", 1.0)]) == ["s9", "s10"]
    res = evaluate_topic(judged["1"], [("s10", 1.0), ("s9", 1.0)])
    assert res.values["infAP"] == pytest.approx((1 + EPS / (1 + 3 * EPS)) / 2, abs=1e-15)
    assert shown("infAP", res.values["infAP"]) == "0.5000"


def test_duplicate_shot_later_score_replaces():
    """a listed twice: its later score 0.5 moves it below b; one shot, but num_ret
    counts both records and the all line counts distinct shots."""
    records = [("a", 3.0), ("b", 1.0), ("a", 0.5)]
    assert rank_shots(records) == ["b", "a"]
    res = evaluate(SIMPLE, {"1701": records})
    topic = res.topics[0]
    assert topic.values["num_ret"] == 3
    assert topic.distinct == 2
    assert res.all["num_ret"] == 2
    # a at rank 2 after b (judged non-relevant): prec (1 + 1(0+eps)/(1+3eps)) / 2
    assert topic.values["infAP"] == pytest.approx((1 + EPS / (1 + 3 * EPS)) / 2 / 2)


def test_more_than_1000_shots_walks_1000():
    """1200 unpooled shots above nothing: relevant a at rank 1001 is never reached.
    num_ret per topic counts all 1200 records; the all line caps at 1000."""
    records = [(f"u{i:04d}", 2000.0 - i) for i in range(1000)] + [("a", 1.0)]
    records += [(f"w{i:03d}", 0.5) for i in range(199)]
    res = evaluate(SIMPLE, {"1701": records})
    topic = res.topics[0]
    assert topic.values["infAP"] == 0.0
    assert topic.values["inum_rel_ret"] == 0.0
    assert topic.values["num_ret"] == 1200
    assert res.all["num_ret"] == 1000


def test_relevant_at_rank_1000_counts():
    """The 1000th shot is still walked: prec = (1 + 0)/1000, infAP = prec / R^."""
    records = [(f"u{i:04d}", 2000.0 - i) for i in range(999)] + [("a", 1.0)]
    res = evaluate_topic(SIMPLE["1701"], records)
    assert res.values["infAP"] == pytest.approx(1 / 1000 / 2)
    assert res.values["iP1000"] == pytest.approx((1 + EPS) / (1 + 3 * EPS) / 1000)


def test_iprec_sweep_fills_one_level_per_rank():
    """Ranks a, b, c with R^ = 2: est = 0.99998, 0.999995, 1.99999 (eps), cut = 0.2 L.
    Start: cut[10] = 2.0 > 1.99999, so c = 9. Down the ranks: k=3 fills nothing (1.8 <
    est); k=2 fills level 9 with best 0.66666; k=1 fills level 8 with 0.99998; the rest
    (0..7) get 0.99998. So iprec@rec0.80 = 1.0000 (not 0.6667) and iprec@rec1.00 = 0."""
    res = evaluate_topic(SIMPLE["1701"], [("a", 3.0), ("b", 2.0), ("c", 1.0)])
    est1 = (1 + EPS) / (1 + 3 * EPS)
    est3 = 3 * (2 + EPS) / (3 + 3 * EPS)
    got = [res.values[f"iprec@rec{level / 10:.2f}"] for level in range(11)]
    assert got[:9] == pytest.approx([est1] * 9, abs=1e-15)
    assert got[9] == pytest.approx(est3 / 3, abs=1e-15)
    assert got[10] == 0.0
    assert [shown("iprec@rec0.00", v) for v in got[8:]] == ["1.0000", "0.6667", "0.0000"]


def test_zero_estimated_relevant_scores_zero_and_counts():
    """A topic whose qrels hold no relevant shot: infAP 0, and it still counts in the mean."""
    judged = qrels(("1", "a", "1", 1), ("2", "b", "1", 0))
    res = evaluate(judged, {"1": [("a", 1.0)], "2": [("b", 1.0)]})
    assert res.per_topic("infAP") == {"1": pytest.approx(1.0), "2": 0.0}
    assert res.all["infAP"] == pytest.approx(0.5)
    assert res.all["infNDCG"] == pytest.approx(0.5)


# ---------------------------------------------------------------- the all line


def test_all_line_topics_missing_on_either_side():
    """Run topic 3 is not in the qrels (skipped); qrels topic 2 is not in the run: it is
    not evaluated, but its R^ (= 1) still adds to inum_rel all."""
    judged = qrels(("1", "a", "1", 1), ("2", "b", "1", 1))
    res = evaluate(judged, {"3": [("x", 1.0)], "1": [("a", 1.0), ("q", 0.5)]})
    assert [t.topic for t in res.topics] == ["1"]
    assert res.skipped == ["3"]
    assert res.all["infAP"] == pytest.approx(1.0)
    assert res.all["inum_rel"] == 2.0
    assert res.all["num_ret"] == 2


def test_topics_in_numeric_order():
    judged = qrels(("10", "a", "1", 1), ("9", "a", "1", 1))
    res = evaluate(judged, {"10": [("a", 1.0)], "9": [("a", 1.0)]})
    assert [t.topic for t in res.topics] == ["9", "10"]


def test_no_common_topic_is_a_clear_error():
    with pytest.raises(AvsError, match="no topic in common"):
        evaluate(SIMPLE, {"1661": [("a", 1.0)]}, run_label="r.trec", qrels_label="q")


def test_measure_orders_match_the_script():
    assert TOPIC_ORDER[:3] == ("infAP", "infNDCG", "iP5")
    assert ALL_ORDER[2] == "iprec@rec0.00" and ALL_ORDER[12] == "iprec@rec1.00"
    assert ALL_ORDER[-3:] == ("inum_rel_ret", "inum_rel", "num_ret")
    assert MEASURES["num_ret"].line("all", 20000) == "num_ret\t\tall\t    20000"
    assert MEASURES["inum_rel"].line("1661", 2074.795) == "inum_rel\t1661\t     2074.7950"


# ---------------------------------------------------------------- property: full judgements


@settings(max_examples=60, deadline=None)
@given(
    rels=st.lists(st.integers(0, 1), min_size=1, max_size=40),
    scores=st.lists(st.integers(0, 5), min_size=1, max_size=60),
)
def test_fully_judged_infap_is_ap(rels, scores):
    """With one fully judged stratum, d(r + eps)/(j + 3 eps) differs from r by < eps, so
    infAP equals plain AP (divisor R, as R <= 1000) to within ~1e-5. Reference: the
    independent true-AP code, which shares only the ranking rule."""
    from avs.eval.truth import true_ap_topic

    judged = qrels(*[("1", f"s{i}", "1", rel) for i, rel in enumerate(rels)])
    # shots s0.. are pooled, u.. unpooled; integer scores force plenty of ties
    records = [(f"s{i}" if i % 3 else f"u{i}", float(sc)) for i, sc in enumerate(scores)]
    relevant = {f"s{i}" for i, rel in enumerate(rels) if rel}
    res = evaluate_topic(judged["1"], records)
    assert res.values["infAP"] == pytest.approx(true_ap_topic(relevant, records), abs=1e-4)
