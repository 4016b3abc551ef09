"""`avs report`: data, rendering and command, on runs from two years.

2021: the real RUCMM run and NIST qrels. 2022: a small simulated year written here
(10 topics, 5 relevant shots each) with two Parquet runs, one better on every topic.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from avs.cli import main
from avs.eval.api import evaluate_files
from avs.io.runs import write_run
from avs.report.data import build_report
from avs.report.render import render

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trecvid"
QRELS_2021 = FIXTURES / "avs.qrels.main.tv21"
RUN_2021 = FIXTURES / "tv21.RUCMM.trec"
TOPICS_2022 = range(701, 711)


@pytest.fixture(scope="module")
def year_2022(tmp_path_factory):
    """qrels for 701-710 (t_1..t_5 relevant, t_6..t_10 not) and two simulated runs:
    `good` ranks the relevant shots first; `worse` puts two unpooled shots above them."""
    root = tmp_path_factory.mktemp("y2022")
    qrels = root / "2022.qrels"
    qrels.write_text(
        "".join(
            f"1{t} 0 s{t}_{i} 1 {1 if i <= 5 else 0}\n" for t in TOPICS_2022 for i in range(1, 11)
        )
    )

    def run(name: str, shots_of, display: str) -> Path:
        topic, rank, shot, score = [], [], [], []
        for t in TOPICS_2022:
            shots = shots_of(t)
            topic += [t] * len(shots)
            rank += list(range(1, len(shots) + 1))
            shot += shots
            score += [float(len(shots) - i) for i in range(len(shots))]
        meta = {"run_name": display, "simulated": True, "year": 2022}
        return write_run(
            root / f"{name}.parquet",
            np.array(topic),
            np.array(rank),
            np.array(shot, dtype=object),
            np.array(score, dtype=np.float32),
            meta,
        )

    good = run("good", lambda t: [f"s{t}_{i}" for i in range(1, 11)], "good <b>run</b>")
    worse = run("worse", lambda t: ["x1", "x2"] + [f"s{t}_{i}" for i in range(1, 11)], "worse")
    return qrels, good, worse


@pytest.fixture(scope="module")
def results(year_2022):
    qrels, good, worse = year_2022
    return evaluate_files(QRELS_2021, [RUN_2021, RUN_2021]) + evaluate_files(qrels, [good, worse])


@pytest.fixture(scope="module")
def data(results):
    return build_report(results, seed=0, permutations=2000)


def test_years_and_overview(data):
    assert data.year_names == ["2021", "2022"]
    assert data.overview["tv21.RUCMM.trec"]["2021"] == pytest.approx(0.3430, abs=5e-5)
    good = data.overview["good <b>run</b>"]["2022"]
    assert good == pytest.approx(1.0, abs=1e-4)
    # worse: relevant shots at ranks 3..7 of each topic: AP = mean(i / (i + 2)), i = 1..5
    worse = sum(i / (i + 2) for i in range(1, 6)) / 5
    assert data.overview["worse"]["2022"] == pytest.approx(worse, abs=1e-4)


def test_identical_runs_p_one_and_winner_small_p(data):
    y2021, y2022 = data.years
    (same,) = y2021.comparisons
    assert same.b == "tv21.RUCMM.trec#2"  # two inputs with one name stay apart
    assert same.test.p_value == 1.0 and same.test.mean_diff == 0.0
    (win,) = y2022.comparisons
    assert win.a == "good <b>run</b>" and win.test.mean_diff > 0
    assert win.test.p_value < 0.01  # exact: 2 / 2^10
    assert win.test.ci_low > 0


def test_best_and_worst_topics(data):
    y2021 = data.years[0]
    assert [r.topic for r in y2021.best] == ["1674", "1677", "1662"]
    assert [r.topic for r in y2021.worst] == ["1672", "1679", "1673"]


def test_sources_recorded(data):
    y2021, y2022 = data.years
    assert {e.provenance for e in y2022.runs} == {"simulated"}
    assert y2021.runs[0].qrels == str(QRELS_2021)
    assert "simulated" in y2022.runs[0].source and "2022.qrels" in y2022.runs[0].source
    assert data.notes and "simulated" in data.notes[0]


def test_same_seed_same_report(results):
    one = build_report(results, seed=5, permutations=500)
    two = build_report(results, seed=5, permutations=500)
    assert one.years[1].comparisons == two.years[1].comparisons


def test_html_self_contained_and_escaped(data):
    html = render(data, "html")
    assert html.count("<svg") == 3  # overview + one per year
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from the network
    assert "@import" not in html and "url(" not in html
    assert "good &lt;b&gt;run&lt;/b&gt;" in html and "good <b>run</b>" not in html
    assert "0.3430" in html and "1674" in html and "simulated" in html
    assert str(QRELS_2021) in html


def test_markdown(data):
    md = render(data, "markdown")
    assert "| tv21.RUCMM.trec | 0.3430 | - |" in md
    assert "## 2022" in md and "Paired randomization tests" in md
    assert "1.0000 |" in md  # identical runs: p = 1


def test_report_command_html_and_markdown(year_2022, tmp_path):
    qrels, good, worse = year_2022
    out = tmp_path / "report.html"
    args = [
        "report",
        str(RUN_2021),
        str(good),
        str(worse),
        "--qrels",
        str(QRELS_2021),
        "--qrels",
        f"2022={qrels}",
        "--out",
        str(out),
        "--permutations",
        "500",
    ]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert "Mean infAP per run and year" in res.stdout and "0.3430" in res.stdout
    assert out.read_text().startswith("<!DOCTYPE html>") or "<!DOCTYPE html>" in out.read_text()
    md = tmp_path / "report.md"
    res = CliRunner().invoke(main, [*args[:-4], "--out", str(md), "--permutations", "500"])
    assert res.exit_code == 0, res.output
    assert md.read_text().startswith("# AVS run report")


def test_report_from_saved_eval_json(tmp_path):
    saved = tmp_path / "rucmm.json"
    res = CliRunner().invoke(
        main, ["eval", "--qrels", str(QRELS_2021), str(RUN_2021), "--format", "json"]
    )
    saved.write_text(res.stdout)
    out = tmp_path / "r.md"
    res = CliRunner().invoke(main, ["report", str(saved), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "| tv21.RUCMM.trec | 0.3430 |" in out.read_text()


def test_run_without_its_years_qrels_is_a_clear_error(year_2022, tmp_path):
    _, good, _ = year_2022
    avs = Path(sys.executable).with_name("avs")
    result = subprocess.run(
        [
            str(avs),
            "report",
            str(good),
            "--qrels",
            str(QRELS_2021),
            "--out",
            str(tmp_path / "x.html"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "no qrels for year 2022" in result.stderr and "--qrels 2022=PATH" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.html").exists()


def test_bad_qrels_spec(tmp_path):
    res = CliRunner().invoke(
        main,
        [
            "report",
            str(RUN_2021),
            "--qrels",
            "1999=x",
            "--qrels",
            "2021=",
            "--out",
            str(tmp_path / "r.html"),
        ],
    )
    assert res.exit_code != 0
    assert "unknown year '1999'" in res.output and "no path after '='" in res.output


def test_saved_result_with_truth_shows_true_ap(tmp_path):
    """A result saved by `avs eval --truth` keeps its true AP into the report."""
    qrels = tmp_path / "q"
    qrels.write_text("1701 0 a 1 1\n1701 0 b 1 0\n")
    truth = tmp_path / "t"
    truth.write_text("1701 0 a 1\n1701 0 c 1\n")
    run = tmp_path / "r.trec"
    run.write_text("1701 Q0 a 1 2 t\n1701 Q0 b 2 1 t\n")
    res = CliRunner().invoke(
        main, ["eval", "--qrels", str(qrels), str(run), "--truth", str(truth), "--json"]
    )
    saved = tmp_path / "saved.json"
    saved.write_text(res.stdout)
    out = tmp_path / "r.html"
    res = CliRunner().invoke(main, ["report", str(saved), "--out", str(out)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert "mean true AP" in html and "0.5000" in html
