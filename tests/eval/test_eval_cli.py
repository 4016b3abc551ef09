"""`avs eval` end to end: output formats, bad input, start-up cost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from avs.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trecvid"
QRELS = FIXTURES / "avs.qrels.main.tv21"
RUN = FIXTURES / "tv21.RUCMM.trec"
AVS = Path(sys.executable).with_name("avs")


def run_avs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(AVS), *args], capture_output=True, text=True, timeout=120)


@pytest.fixture()
def small(tmp_path):
    """A 2-topic qrels and a run over one of its topics plus one unknown topic."""
    qrels = tmp_path / "q"
    qrels.write_text("1701 0 a 1 1\n1701 0 b 1 0\n1702 0 c 1 1\n")
    run = tmp_path / "r.trec"
    run.write_text("1701 Q0 a 1 2 t\n1701 Q0 b 2 1 t\n1799 Q0 z 1 1 t\n")
    return qrels, run


def test_sample_eval_format_on_real_run():
    result = run_avs("eval", "--qrels", str(QRELS), str(RUN), "--format", "sample_eval")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "infAP\t\t1661\t\t0.3945"
    assert "infAP\t\tall\t\t0.3430" in lines and "infNDCG\t\tall\t\t0.5360" in lines
    assert lines[-1] == "num_ret\t\tall\t    20000"


def test_table_json_and_parquet(small, tmp_path):
    qrels, run = small
    runner = CliRunner()
    table = runner.invoke(main, ["eval", "--qrels", str(qrels), str(run)])
    assert table.exit_code == 0, table.output
    assert "infAP" in table.output and "1701" in table.output
    assert "skipped topic(s)" in table.output and "1799" in table.output

    out = tmp_path / "scores.parquet"
    res = runner.invoke(
        main, ["eval", "--qrels", str(qrels), str(run), "--json", "--parquet", str(out)]
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["format"] == "avs-eval"
    (entry,) = doc["runs"]
    assert entry["qrels"] == str(qrels) and entry["path"] == str(run)
    assert entry["topics"]["1701"]["infAP"] == pytest.approx(1.0)
    assert entry["all"]["inum_rel"] == 2.0
    assert entry["skipped_topics"] == ["1799"]

    import pyarrow.parquet as pq

    table = pq.read_table(out).to_pydict()
    assert table["topic"] == ["1701", "all"]
    assert table["num_ret"] == [2, 2]
    assert table["infAP"][0] == pytest.approx(1.0)


def test_several_runs_one_call(small):
    qrels, run = small
    res = CliRunner().invoke(
        main, ["eval", "--qrels", str(qrels), str(run), str(run), "--format", "sample_eval"]
    )
    assert res.exit_code == 0
    assert res.stdout.count("# run r.trec") == 2
    assert res.stdout.count("infAP\t\tall\t\t1.0000") == 2


def test_truth_column(small, tmp_path):
    qrels, run = small
    truth = tmp_path / "truth"
    truth.write_text("1701 0 a 1\n1701 0 q 1\n")
    res = CliRunner().invoke(main, ["eval", "--qrels", str(qrels), str(run), "--truth", str(truth)])
    assert res.exit_code == 0, res.output
    assert "true AP" in res.stdout and "0.5000" in res.stdout


@pytest.mark.parametrize(
    ("qrels_text", "run_text", "expected"),
    [
        ("1701 0 a 1 1\n1701 0 b 1 0\n1701 0 c 1 0 9\n", None, "q, line 3"),
        ("1701 0 a 1 yes\n", None, "q, line 1, field 'rel'"),
        (None, "1701 Q0 a 1 2 t\n1701 Q0 b 2 high t\n", "r.trec, line 2, field 'score'"),
        (None, "1701 Q0 a 1 2\n", "r.trec, line 1: expected 6 fields"),
        (None, "1661 Q0 a 1 2 t\n", "no topic in common"),
    ],
)
def test_bad_input_one_clear_error(tmp_path, qrels_text, run_text, expected):
    qrels = tmp_path / "q"
    qrels.write_text(qrels_text or "1701 0 a 1 1\n")
    run = tmp_path / "r.trec"
    run.write_text(run_text or "1701 Q0 a 1 2 t\n")
    result = run_avs("eval", "--qrels", str(qrels), str(run))
    assert result.returncode != 0
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_run_file(tmp_path):
    result = run_avs("eval", "--qrels", str(QRELS), str(tmp_path / "nope.trec"))
    assert result.returncode != 0 and "nope.trec" in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_and_report_import_neither_torch_nor_dask(tmp_path):
    code = f"""
import sys
from avs.cli import main
for args in (["eval", "--qrels", {str(QRELS)!r}, {str(RUN)!r}, "--format", "json"],
             ["report", {str(RUN)!r}, "--qrels", {str(QRELS)!r}, "--permutations", "50",
              "--out", {str(tmp_path / "r.html")!r}]):
    try:
        main(args)
    except SystemExit as exit:
        assert exit.code in (0, None), exit.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "dask", "distributed"))
print("HEAVY", heavy)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout
