"""`avs fuse` on real runs and on the edge cases: each a clear error or documented rule."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from avs.errors import AvsError
from avs.eval.api import evaluate_files
from avs.fusion.fuse import fuse_files
from avs.io.records import RunRecord
from avs.io.runs import read_run
from avs.io.trecrun import write_trec_run
from tests.fusion.fusionkit import FIXTURES, run_avs

QRELS = FIXTURES / "avs.qrels.main.tv21"
RUCMM = FIXTURES / "tv21.RUCMM.trec"


def infap(*paths: Path) -> list[float]:
    return [r.evaluation.all["infAP"] for r in evaluate_files(QRELS, paths)]


def trec(path: Path, rows: list[tuple[str, str, float]], tag: str = "T") -> Path:
    write_trec_run(path, [RunRecord(*r) for r in rows], tag)
    return path


@pytest.mark.parametrize("method", ["combsum", "combmnz", "rrf", "borda"])
def test_fusion_of_two_real_runs_beats_both(tmp_path: Path, second_run: Path, method) -> None:
    out = fuse_files([RUCMM, second_run], tmp_path / "fused.parquet", method=method).path
    fused, a, b = infap(out, RUCMM, second_run)
    assert a == pytest.approx(0.3430, abs=5e-5)  # NIST's figure for RUCMM
    assert fused > max(a, b) + 0.01, (fused, a, b)


def test_default_fused_parquet_evaluates_like_its_trec_conversion(
    tmp_path: Path, second_run: Path
) -> None:
    """`avs eval --format sample_eval` prints the same bytes for the fused Parquet and for
    the TREC file `avs convert` makes of it (the file NIST's script is run on by hand)."""
    fused = tmp_path / "fused.parquet"
    proc = run_avs("fuse", RUCMM, second_run, "--out", fused)
    assert proc.returncode == 0, proc.stderr
    assert "wrote" in proc.stdout and "combsum (norm minmax" in proc.stdout
    proc = run_avs("convert", fused, tmp_path / "fused.trec")
    assert proc.returncode == 0, proc.stderr
    outputs = []
    for run in (fused, tmp_path / "fused.trec"):
        proc = run_avs("eval", "--qrels", QRELS, "--format", "sample_eval", run)
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert outputs[0] == outputs[1]
    assert "infAP\t\tall\t" in outputs[0]


def test_metadata_records_inputs_and_method(tmp_path: Path, second_run: Path) -> None:
    out = fuse_files(
        [RUCMM, second_run], tmp_path / "f.parquet", method="wsum", weights=[0.7, 0.3], k=100
    ).path
    run = read_run(out)
    meta = run.meta
    assert meta["fusion"]["method"] == "wsum" and meta["fusion"]["norm"] == "minmax"
    assert meta["fusion"]["weights"] == [0.7, 0.3]
    assert [i["path"] for i in meta["inputs"]] == [str(RUCMM), str(second_run)]
    assert len(meta["inputs"][0]["sha256"]) == 64 and meta["inputs"][0]["kind"] == "trec"
    assert meta["year"] == "2021" and meta["k"] == 100
    assert meta["simulated"] is False
    assert {int(n) for n in np.bincount(run.topic)[np.unique(run.topic)]} == {100}
    # ranks follow the stored float32 scores and the tie rule
    for topic in run.topics:
        shots, scores = run.ranking(topic)
        pairs = list(zip(scores.tolist(), shots.tolist(), strict=True))
        assert pairs == sorted(pairs, reverse=True)


def test_missing_shot_gets_the_runs_minimum(tmp_path: Path) -> None:
    a = trec(tmp_path / "a.trec", [("1661", "shot00001_1", 3.0), ("1661", "shot00001_2", 1.0)])
    b = trec(tmp_path / "b.trec", [("1661", "shot00001_3", 5.0), ("1661", "shot00001_1", 4.0)])
    run = read_run(fuse_files([a, b], tmp_path / "f.parquet").path)
    shots, scores = run.ranking(661)
    # minmax: a: _1 1, _2 0; b: _3 1, _1 0. _3 is missing from a -> a's min 0.
    assert dict(zip(shots.tolist(), scores.tolist(), strict=True)) == {
        "shot00001_1": 1.0,
        "shot00001_3": 1.0,
        "shot00001_2": 0.0,
    }
    assert shots.tolist() == ["shot00001_3", "shot00001_1", "shot00001_2"]


def test_duplicate_shots_keep_the_later_score(tmp_path: Path) -> None:
    """As avs eval: a shot listed twice is one shot with the later record's score."""
    path = tmp_path / "dup.trec"
    path.write_text(
        "1661 0 shot00001_1 1 9 D\n1661 0 shot00001_2 2 5 D\n1661 0 shot00001_1 3 1 D\n"
        "1661 0 shot00001_3 4 0 D\n",
        encoding="utf-8",
    )
    run = read_run(fuse_files([path], tmp_path / "f.parquet", method="combsum").path)
    shots, scores = run.ranking(661)
    assert shots.tolist() == ["shot00001_2", "shot00001_1", "shot00001_3"]
    assert scores.tolist() == pytest.approx([1.0, 0.2, 0.0])


def test_disjoint_topics_give_the_union_and_a_warning(tmp_path: Path) -> None:
    a = trec(tmp_path / "a.trec", [("1661", "shot00001_1", 1.0), ("1662", "shot00001_2", 1.0)])
    b = trec(tmp_path / "b.trec", [("1662", "shot00001_3", 1.0), ("1663", "shot00001_4", 1.0)])
    result = fuse_files([a, b], tmp_path / "f.parquet")
    assert read_run(result.path).topics == [661, 662, 663]
    assert any(f"{a} lacks 1 of the 3 topics: 1663" in w for w in result.warnings)
    assert any(f"{b} lacks 1 of the 3 topics: 1661" in w for w in result.warnings)
    proc = run_avs("fuse", a, b, "--out", tmp_path / "g.parquet")
    assert proc.returncode == 0 and "warning:" in proc.stderr and "1663" in proc.stderr


def test_parquet_topic_numbers_meet_trec_ids(tmp_path: Path, second_run: Path) -> None:
    """701 in our Parquet and 1701 in a TREC file are the same topic."""
    parquet = fuse_files([RUCMM], tmp_path / "p.parquet", method="combsum").path
    result = fuse_files([parquet, second_run], tmp_path / "f.parquet")
    assert result.warnings == [] and result.topics == 20


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "wsum", "weights": [1.0]}, "--weights: 1 weight(s) for 2 run(s)"),
        ({"method": "wsum"}, "wsum needs --weights"),
        ({"method": "combsum", "weights": [1.0, 2.0]}, "combsum takes no weights"),
        ({"method": "rrf", "weights": [1.0, -1.0]}, "not negative"),
        ({"method": "rrf", "norm": "zscore"}, "--norm does not apply to rrf"),
    ],
)
def test_bad_options_are_clear_errors(tmp_path: Path, second_run: Path, options, message) -> None:
    with pytest.raises(AvsError, match=re.escape(message)):
        fuse_files([RUCMM, second_run], tmp_path / "f.parquet", **options)
    assert not (tmp_path / "f.parquet").exists()


def test_cli_errors_are_one_line(tmp_path: Path, second_run: Path) -> None:
    proc = run_avs("fuse", RUCMM, second_run, "--method", "wsum", "--weights", "1", "--out",
                   tmp_path / "f.parquet")  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr.strip() == "Error: --weights: 1 weight(s) for 2 run(s)"
    proc = run_avs("fuse", RUCMM, "--weights", "1,x", "--out", tmp_path / "f.parquet")
    assert proc.returncode == 2 and "'x' is not a number" in proc.stderr


def test_empty_run_is_an_error(tmp_path: Path) -> None:
    from avs.io.runs import write_run

    empty = write_run(tmp_path / "e.parquet", *[np.zeros(0)] * 3, np.zeros(0), {"year": 2021})
    with pytest.raises(AvsError, match="empty run"):
        fuse_files([empty, RUCMM], tmp_path / "f.parquet")
    (tmp_path / "blank.trec").write_text("\n", encoding="utf-8")
    proc = run_avs("fuse", tmp_path / "blank.trec", RUCMM, "--out", tmp_path / "f.parquet")
    assert proc.returncode == 1 and "no run records" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_existing_output_needs_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    out.write_bytes(b"keep")
    with pytest.raises(AvsError, match="pass --overwrite"):
        fuse_files([RUCMM], out)
    assert out.read_bytes() == b"keep"
    fuse_files([RUCMM], out, overwrite=True)
    assert pq.read_table(out).num_rows == 20000


def test_one_run_of_a_multi_run_xml(tmp_path: Path, second_run: Path) -> None:
    """FILE.xml#RUNID names one run of a submission holding several."""
    runs = []
    for i, src in enumerate((RUCMM, second_run), start=1):
        out = tmp_path / f"r{i}.parquet"
        fuse_files([src], out, method="combsum")
        runs.append(out)
    xml = tmp_path / "sub.xml"
    proc = run_avs("submit", *runs, "--pid", "TEAM", "--priority", "1", "--tr-type", "D",
                   "--class", "F", "--task", "M", "--novelty", "C", "--desc", "d",
                   "--elapsed", "5", "--out", xml)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    with pytest.raises(AvsError, match=r"holds 2 runs .*name one as .*sub\.xml#RUNID"):
        fuse_files([xml], tmp_path / "f.parquet")
    with pytest.raises(AvsError, match="no run 'nope'"):
        fuse_files([f"{xml}#nope"], tmp_path / "f.parquet")
    result = fuse_files([f"{xml}#F_M_C_D_TEAM.21_2", RUCMM], tmp_path / "f.parquet")
    inputs = read_run(result.path).meta["inputs"]
    assert inputs[0]["run_name"] == "F_M_C_D_TEAM.21_2" and inputs[0]["kind"] == "xml"
    assert json.dumps(inputs)  # plain JSON
    # eval and report address one run of the file the same way
    proc = run_avs("eval", "--qrels", QRELS, f"{xml}#F_M_C_D_TEAM.21_2", "--json")
    assert proc.returncode == 0, proc.stderr
    assert [r["name"] for r in json.loads(proc.stdout)["runs"]] == ["F_M_C_D_TEAM.21_2"]
    proc = run_avs("eval", "--qrels", QRELS, xml, "--json")
    assert len(json.loads(proc.stdout)["runs"]) == 2
    report = tmp_path / "rep.md"
    proc = run_avs("report", f"{xml}#F_M_C_D_TEAM.21_1", "--qrels", QRELS, "--out", report)
    assert proc.returncode == 0, proc.stderr
    text = report.read_text().replace("\\_", "_")  # markdown escapes underscores
    assert "F_M_C_D_TEAM.21_1" in text and "21_2" not in text
    proc = run_avs("eval", "--qrels", QRELS, f"{xml}#nope")
    assert proc.returncode == 1 and "no run 'nope'" in proc.stderr
    for bad, needle in ((f"{xml}#", "expected FILE.xml#RUNID"),
                        ("#F_M_C_D_TEAM.21_1", "expected FILE.xml#RUNID"),
                        (f"{RUCMM}#RUCMM", "picks one run of a submission XML")):  # fmt: skip
        proc = run_avs("eval", "--qrels", QRELS, bad)
        assert proc.returncode == 1 and needle in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
