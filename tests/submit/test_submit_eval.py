"""Round trip through `avs eval`: the XML scores exactly as the Parquet it came from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avs.io.records import avs_topic
from avs.io.runs import write_run
from avs.submit import SubmitSettings, submit
from avs.ties import tie_order

eval_api = pytest.importorskip("avs.eval.api")


def test_xml_and_parquet_score_the_same_on_real_qrels(
    workdir: Path, run_2021: Path, qrels_2021: Path, repo_root: Path
) -> None:
    """Real 2021 shots and NIST qrels, rescored with many ties: the Parquet ranks ties by
    shot id descending, the XML by seqNum; sample_eval must see the same order."""
    from avs.io.trecrun import read_trec_run

    records = read_trec_run(run_2021)
    rng = np.random.default_rng(7)
    rows = []
    for topic in sorted({r.topic for r in records}):
        shots = np.array([r.shot for r in records if r.topic == topic], dtype=object)
        scores = np.round(rng.random(len(shots)), 2).astype(np.float32)  # ~100 ties a level
        for rank, i in enumerate(tie_order(shots, scores), start=1):
            rows.append((avs_topic(topic), rank, shots[i], float(scores[i])))
    topic, rank, shot, score = (np.array(col) for col in zip(*rows, strict=True))
    elapsed = {str(t): 1.5 for t in set(topic.tolist())}
    parquet = write_run(
        workdir / "run.parquet", topic, rank, shot, score, {"year": 2021, "elapsed": elapsed}
    )
    settings = SubmitSettings(
        runs=(parquet,),
        pid="RUCMM",
        priorities=(1,),
        tr_type="D",
        class_="F",
        task="M",
        novelty="C",
        descs=("rescored",),
        topics=repo_root / "topics" / "2021.txt",
    )
    xml = submit(settings).path
    from_parquet, from_xml = eval_api.evaluate_files(qrels_2021, [parquet, xml])
    assert from_xml.kind == "xml" and from_xml.name == "F_M_C_D_RUCMM.21_1"
    for measure in ("infAP", "infNDCG"):
        assert from_xml.evaluation.per_topic(measure) == from_parquet.evaluation.per_topic(measure)
    assert from_xml.evaluation.all == from_parquet.evaluation.all
    assert len(from_xml.evaluation.topics) == 20
