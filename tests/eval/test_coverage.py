"""Coverage figures (judged@k, pooled@k), condensed infAP and the low-coverage warning.

Each figure is checked against an independent count: the qrels and run files parsed
here with plain string splits, the run sorted by the tie rule written out again, and
the shots counted with sets.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from avs.eval.api import evaluate_files
from avs.eval.formats import sample_eval_text, write_parquet

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "trecvid"
QRELS = FIXTURES / "avs.qrels.main.tv21"
RUN = FIXTURES / "tv21.RUCMM.trec"
AVS = Path(sys.executable).with_name("avs")
DEPTHS = (10, 100, 1000)


def independent_counts(qrels: Path, run: Path) -> dict[str, dict[str, float]]:
    """topic -> judged@k / pooled@k counted directly from the two files."""
    pooled: dict[str, set[str]] = {}
    judged: dict[str, set[str]] = {}
    for line in qrels.read_text().splitlines():
        topic, _, shot, _, rel = line.split()
        pooled.setdefault(topic, set()).add(shot)
        if int(rel) >= 0:
            judged.setdefault(topic, set()).add(shot)
    scores: dict[str, dict[str, float]] = {}
    for line in run.read_text().splitlines():
        topic, _, shot, _, score, _ = line.split()
        scores.setdefault(topic, {})[shot] = float(score)  # a later duplicate wins
    out = {}
    for topic, by_shot in scores.items():
        # score descending, then shot id descending
        ranked = sorted(by_shot, key=lambda s: (by_shot[s], s), reverse=True)
        figures = {}
        for k in DEPTHS:
            top = ranked[:k]
            figures[f"judged@{k}"] = sum(s in judged.get(topic, set()) for s in top) / k
            figures[f"pooled@{k}"] = sum(s in pooled.get(topic, set()) for s in top) / k
        out[topic] = figures
    return out


def write_run(path: Path, rows: list[tuple[str, str, float]]) -> Path:
    path.write_text("".join(f"{t} Q0 {s} {i} {sc!r} T\n" for i, (t, s, sc) in enumerate(rows)))
    return path


def real_rows() -> list[tuple[str, str, float]]:
    return [(p[0], p[2], float(p[4])) for p in map(str.split, RUN.read_text().splitlines())]


def with_unpooled(rows: list[tuple[str, str, float]], every: int) -> list[tuple[str, str, float]]:
    """The real run with every ``every``-th shot of a topic replaced by a new id."""
    out, seen = [], {}
    for topic, shot, score in rows:
        i = seen[topic] = seen.get(topic, 0) + 1
        out.append((topic, f"shot99999_{i}" if i % every == 0 else shot, score))
    return out


def check_against_count(qrels: Path, run: Path) -> dict[str, dict[str, float]]:
    (result,) = evaluate_files(qrels, [run])
    expected = independent_counts(qrels, run)
    assert {t.topic for t in result.evaluation.topics} == set(expected)
    for t in result.evaluation.topics:
        for name, value in expected[t.topic].items():
            assert t.values[name] == pytest.approx(value, abs=1e-12), (t.topic, name)
    for name in expected[result.evaluation.topics[0].topic]:
        mean = sum(e[name] for e in expected.values()) / len(expected)
        assert result.evaluation.all[name] == pytest.approx(mean, abs=1e-12)
    return expected


def test_real_2021_run_matches_an_independent_count():
    expected = check_against_count(QRELS, RUN)
    # RUCMM was pooled: its top 10 are all judged, its top 1000 almost all pooled
    assert all(e["judged@10"] == 1.0 for e in expected.values())
    assert 0.99 < sum(e["pooled@1000"] for e in expected.values()) / 20 < 1.0


def test_run_with_unpooled_shots_matches_an_independent_count(tmp_path):
    run = write_run(tmp_path / "u.trec", with_unpooled(real_rows(), every=4))
    expected = check_against_count(QRELS, run)
    # a quarter of every top-k replaced: pooled@k is at most 0.75 (0.7 for k=10)
    assert max(e["pooled@10"] for e in expected.values()) == pytest.approx(0.8)
    assert max(e["pooled@1000"] for e in expected.values()) <= 0.75


def test_ties_and_duplicates_follow_the_tie_rule(tmp_path):
    """Equal scores: shot id descending decides which shots are in the top 10."""
    qrels = tmp_path / "q"
    qrels.write_text("".join(f"1701 0 s{i:02d} 1 {i % 2}\n" for i in range(10)))
    rows = [("1701", f"s{i:02d}", 1.0) for i in range(20)]  # s00..s19 all tied
    rows += [("1701", "s05", 0.5)]  # duplicate: the later score wins, s05 drops last
    run = write_run(tmp_path / "r.trec", rows)
    expected = check_against_count(qrels, run)
    # top 10 by id descending: s19..s10, none pooled
    assert expected["1701"]["pooled@10"] == 0.0
    assert expected["1701"]["pooled@100"] == pytest.approx(10 / 100)


def test_condensed_infap_is_infap_of_the_run_without_its_unpooled_shots(tmp_path):
    rows = real_rows()
    fakes = with_unpooled(rows, every=4)
    # condensed list of `fakes`: its pooled shots in order = the original ranks kept
    kept = [r for r, f in zip(rows, fakes, strict=True) if r[1] == f[1]]
    (a,) = evaluate_files(QRELS, [write_run(tmp_path / "fakes.trec", fakes)])
    (b,) = evaluate_files(QRELS, [write_run(tmp_path / "kept.trec", kept)])
    (orig,) = evaluate_files(QRELS, [RUN])
    for ta, tb in zip(a.evaluation.topics, b.evaluation.topics, strict=True):
        # kept holds a few unpooled shots of RUCMM itself: compare condensed with condensed
        assert ta.values["infAP_judged"] == pytest.approx(tb.values["infAP_judged"], abs=1e-12)
    assert a.evaluation.all["infAP_judged"] > 1.2 * a.evaluation.all["infAP"]
    # a run with (almost) nothing unpooled: condensed equals infAP to 4 decimals
    assert orig.evaluation.all["infAP_judged"] == pytest.approx(
        orig.evaluation.all["infAP"], abs=2e-4
    )
    for t in orig.evaluation.topics:
        assert t.values["infAP_judged"] >= t.values["infAP"]


def test_fully_pooled_run_condensed_equals_infap(tmp_path):
    qrels = tmp_path / "q"
    qrels.write_text("1701 0 a 1 1\n1701 0 b 1 0\n1701 0 c 2 -1\n1701 0 d 2 1\n1701 0 e 2 0\n")
    run = write_run(tmp_path / "r.trec", [("1701", s, 5.0 - i) for i, s in enumerate("bcade")])
    (r,) = evaluate_files(qrels, [run])
    t = r.evaluation.topics[0]
    assert t.values["infAP_judged"] == t.values["infAP"]
    assert t.values["pooled@10"] == pytest.approx(0.5)  # 5 shots of 10 ranks
    assert t.values["judged@10"] == pytest.approx(0.4)  # c is -1: pooled, not judged


def test_sample_eval_output_has_no_coverage_figures():
    (r,) = evaluate_files(QRELS, [RUN])
    text = sample_eval_text(r.evaluation)
    assert "judged@" not in text and "pooled@" not in text and "infAP_judged" not in text


def test_table_warns_and_threshold_option(tmp_path):
    run = write_run(tmp_path / "u.trec", with_unpooled(real_rows(), every=4))
    base = [str(AVS), "eval", "--qrels", str(QRELS), str(RUN), str(run)]
    res = subprocess.run(base, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "u.trec: pooled@1000 = 0.75 < 0.80: infAP is a lower bound" in res.stdout
    assert "tv21.RUCMM.trec: pooled@1000" not in res.stdout  # well pooled: no warning
    res = subprocess.run([*base, "--pooled-warn", "0.5"], capture_output=True, text=True)
    assert res.returncode == 0 and "lower bound" not in res.stdout
    res = subprocess.run([*base, "--json"], capture_output=True, text=True, timeout=120)
    assert "lower bound" in res.stderr and res.stdout.startswith("{")
    res = subprocess.run([*base, "--pooled-warn", "80"], capture_output=True, text=True)
    assert res.returncode != 0 and "Traceback" not in res.stderr
    assert "--pooled-warn must be a share between 0 and 1, got 80.0" in res.stderr


def test_parquet_long_pivots_to_wide(tmp_path):
    pd = pytest.importorskip("pandas")
    results = evaluate_files(QRELS, [RUN])
    wide = pq.read_table(write_parquet(tmp_path / "w.parquet", results)).to_pandas()
    long = pq.read_table(write_parquet(tmp_path / "l.parquet", results, "long")).to_pandas()
    assert list(long.columns) == ["run", "year", "topic", "measure", "value", "provenance"]
    assert set(long["year"]) == {"2021"}
    pivot = long.pivot_table(index=["run", "topic"], columns="measure", values="value")
    wide = wide.set_index(["run", "topic"])
    for name in ("infAP", "infAP_judged", "judged@10", "pooled@1000", "iprec@rec0.50"):
        pd.testing.assert_series_equal(
            pivot[name].sort_index(), wide[name].astype(float).sort_index(), check_names=False
        )
    assert pivot.loc[("tv21.RUCMM.trec", "all"), "infAP"] == pytest.approx(0.3430, abs=5e-5)


def test_parquet_not_overwritten_without_flag(tmp_path):
    out = tmp_path / "s.parquet"
    out.write_bytes(b"keep")
    base = [str(AVS), "eval", "--qrels", str(QRELS), str(RUN), "--parquet", str(out)]
    res = subprocess.run([*base, "--format", "json"], capture_output=True, text=True)
    assert res.returncode != 0 and "exists; pass --overwrite" in res.stderr
    assert out.read_bytes() == b"keep"
    res = subprocess.run([*base, "--layout", "long", "--overwrite", "--json"], capture_output=True)
    assert res.returncode == 0
    assert pq.read_table(out).column_names[:4] == ["run", "year", "topic", "measure"]
