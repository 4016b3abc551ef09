"""Agreement with NIST's sample_eval.pl on real files (figures from docs/xinfap.md).

The real 2021 qrels and RUCMM run are in tests/fixtures/trecvid; the script's `all`
block for them and the worked example's figures are copied from docs/xinfap.md.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from avs.eval.api import evaluate_files
from avs.eval.formats import read_json, sample_eval_text, write_json
from avs.io.trecrun import read_trec_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trecvid"
QRELS = FIXTURES / "avs.qrels.main.tv21"
RUN = FIXTURES / "tv21.RUCMM.trec"

# sample_eval.pl -q avs.qrels.main.tv21 tv21.RUCMM.trec, last 25 lines (docs/xinfap.md)
GOLDEN_ALL_2021 = """\
infAP\t\tall\t\t0.3430
infNDCG\t\tall\t\t0.5360
iprec@rec0.00\tall\t\t0.9826
iprec@rec0.10\tall\t\t0.6344
iprec@rec0.20\tall\t\t0.5048
iprec@rec0.30\tall\t\t0.3482
iprec@rec0.40\tall\t\t0.2187
iprec@rec0.50\tall\t\t0.1509
iprec@rec0.60\tall\t\t0.1218
iprec@rec0.70\tall\t\t0.0719
iprec@rec0.80\tall\t\t0.0416
iprec@rec0.90\tall\t\t0.0000
iprec@rec1.00\tall\t\t0.0000
iP5\t\tall\t\t0.7000
iP10\t\tall\t\t0.7500
iP15\t\tall\t\t0.7400
iP20\t\tall\t\t0.7200
iP30\t\tall\t\t0.6883
iP100\t\tall\t\t0.6485
iP200\t\tall\t\t0.5950
iP500\t\tall\t\t0.5028
iP1000\t\tall\t\t0.4201
inum_rel_ret\tall\t     8401.6277
inum_rel\tall\t    26251.2041
num_ret\t\tall\t    20000
"""

# The worked example's made-up run (docs/xinfap.md): ties none, one unpooled shot
# (shot99999_1), topic 9999 absent from the qrels, 18 qrels topics absent from the run.
TINY_RUN = """\
1661 Q0 shot00057_190 1 10 TINY
1661 Q0 shot00057_128 2  9 TINY
1661 Q0 shot00008_16  3  8 TINY
1661 Q0 shot99999_1   4  7 TINY
1661 Q0 shot00057_113 5  6 TINY
1661 Q0 shot00022_15  6 5 TINY
1661 Q0 shot00008_41  7 4 TINY
1662 Q0 shot00002_30  1 2 TINY
1662 Q0 shot00013_107 2 1 TINY
9999 Q0 shot00001_1   1 1 TINY
"""


@pytest.fixture(scope="module")
def rucmm():
    return evaluate_files(QRELS, [RUN])[0]


def test_real_2021_all_block_byte_for_byte(rucmm):
    text = sample_eval_text(rucmm.evaluation)
    assert text.endswith(GOLDEN_ALL_2021)
    assert len(text.splitlines()) == 20 * 14 + 25  # 14 lines per topic, then `all`


def test_real_2021_headline_figures(rucmm):
    assert f"{rucmm.evaluation.all['infAP']:6.4f}" == "0.3430"
    assert f"{rucmm.evaluation.all['infNDCG']:6.4f}" == "0.5360"
    assert [t.topic for t in rucmm.evaluation.topics] == [str(t) for t in range(1661, 1681)]


def test_worked_example(tmp_path):
    """Every figure the doc lists for the worked example, as the script prints it."""
    run = tmp_path / "tiny.trec"
    run.write_text(TINY_RUN)
    result = evaluate_files(QRELS, [run])[0]
    lines = set(sample_eval_text(result.evaluation).splitlines())
    expected = [
        "infAP\t\t1661\t\t0.0032",
        "infNDCG\t\t1661\t\t0.0156",
        "iP5\t\t1661\t\t0.4667",
        "iP10\t\t1661\t\t0.3500",
        "iP1000\t\t1661\t\t0.0035",
        "inum_rel_ret\t1661\t        3.5000",
        "inum_rel\t1661\t     2074.7950",
        "num_ret\t\t1661\t        7",
        "infAP\t\tall\t\t0.0066",
        "infNDCG\t\tall\t\t0.0144",
        "iP5\t\tall\t\t0.4333",
        "iP10\t\tall\t\t0.2750",
        "inum_rel\tall\t    26251.2041",
        "num_ret\t\tall\t        9",
    ]
    assert [line for line in expected if line not in lines] == []
    assert result.evaluation.skipped == ["9999"]


def test_worked_example_by_hand(tmp_path):
    """infAP(1661) = (1 + 0.4667 + 0.5556 * 3892/1278) / 1000 (R^ = 2074.8 > 1000)."""
    run = tmp_path / "tiny.trec"
    run.write_text(TINY_RUN)
    value = evaluate_files(QRELS, [run])[0].evaluation.topics[0].values["infAP"]
    assert value == pytest.approx((1 + 0.4667 + 0.5556 * 3892 / 1278) / 1000, abs=1e-6)


def test_parquet_run_maps_topics_and_agrees(tmp_path):
    """Our Parquet (topic 661 -> qrels id 1661, float32 scores) scores like the TREC file."""
    from avs.io.runs import write_run

    records = read_trec_run(RUN)
    path = write_run(
        tmp_path / "rucmm.parquet",
        topic=np.array([int(r.topic[1:]) for r in records]),
        rank=np.tile(np.arange(1, 1001), 20),
        shot_id=np.array([r.shot for r in records], dtype=object),
        score=np.array([r.score for r in records], dtype=np.float32),
        meta={"run_name": "rucmm-pq", "simulated": False, "year": 2021},
    )
    result = evaluate_files(QRELS, [path])[0]
    assert result.name == "rucmm-pq"
    assert result.kind == "parquet" and result.provenance == "real" and result.year == "2021"
    assert sample_eval_text(result.evaluation).endswith(GOLDEN_ALL_2021)


def test_submission_xml_agrees(tmp_path):
    """Items become `1<tNum> 0 <shotId> <seqNum> <9999-seqNum+1>`: the RUCMM scores are
    exactly that, so the XML form of the run must print the same block."""
    records = read_trec_run(RUN)
    topics: dict[str, list[str]] = {}
    for r in records:
        topics.setdefault(r.topic[1:], []).append(r.shot)
    body = "".join(
        f'<videoAdhocSearchTopicResult tNum="{t}" elapsedTime="10">'
        + "".join(f'<item seqNum="{i}" shotId="{s}"/>' for i, s in enumerate(shots, 1))
        + "</videoAdhocSearchTopicResult>\n"
        for t, shots in topics.items()
    )
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE videoAdhocSearchResults SYSTEM "https://www-nlpir.nist.gov/projects/tv2021/'
        'dtds/videoAdhocSearchResults.dtd">\n<videoAdhocSearchResults>\n'
        '<videoAdhocSearchRunResult trType="D" class="F" task="M" novelty="C" pid="RUCMM" '
        f'priority="1" desc="x">\n{body}</videoAdhocSearchRunResult>\n'
        "</videoAdhocSearchResults>\n"
    )
    path = tmp_path / "run.xml"
    path.write_text(xml)
    result = evaluate_files(QRELS, [path])[0]
    assert result.kind == "xml"
    assert sample_eval_text(result.evaluation).endswith(GOLDEN_ALL_2021)


def test_four_field_qrels_is_one_fully_judged_stratum(tmp_path):
    """4-field TREC qrels: stratum "1", N = J. Run a (rel), b (non-rel), c (rel):
    infAP = (1 + (1 + 2(1+eps)/(2+3eps))/3) / 2 = 0.8333."""
    qrels = tmp_path / "q4"
    qrels.write_text("1701 0 a 1\n1701 0 b 0\n1701 0 c 1\n1701 0 d 0\n")
    run = tmp_path / "r"
    run.write_text("1701 Q0 a 1 3 t\n1701 Q0 b 2 2 t\n1701 Q0 c 3 1 t\n")
    result = evaluate_files(qrels, [run])[0]
    assert "infAP\t\t1701\t\t0.8333" in sample_eval_text(result.evaluation)
    assert result.evaluation.all["inum_rel"] == 2.0


def test_json_round_trip(rucmm, tmp_path):
    buffer = io.StringIO()
    write_json([rucmm], buffer)
    path = tmp_path / "r.json"
    path.write_text(buffer.getvalue())
    back = read_json(path)
    assert sample_eval_text(back[0].evaluation) == sample_eval_text(rucmm.evaluation)
    assert back[0].qrels == str(QRELS)
