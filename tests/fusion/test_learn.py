"""`avs fuse-learn`: the search's infAP is avs eval's, and learnt weights beat equal
weights on held-out SIMULATED years (systems of known, different quality)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avs.errors import AvsError
from avs.eval.api import evaluate_files
from avs.eval.xinfap import evaluate
from avs.fusion.fuse import fuse_files
from avs.fusion.inputs import load_inputs
from avs.fusion.learn import _group, _Problem, fast_infap, learn, learn_files
from avs.fusion.recipe import read_recipe
from tests.fusion.fusionkit import FIXTURES, REPO, run_avs

QRELS = FIXTURES / "avs.qrels.main.tv21"
RUCMM = FIXTURES / "tv21.RUCMM.trec"
YEARS = ("2019", "2020", "2021")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """A small SIMULATED collection (avs synth) with three years, and five simulated
    systems of decreasing quality per year."""
    from avs.fusion.simulate import simulated_runs
    from avs.io.features import FeatureStore

    root = tmp_path_factory.mktemp("sim")
    coll = root / "coll"
    args = ["synth", coll, "--shots", "10000", "--seed", "3", "--train-videos", "50"]
    args += ["--captions", "1", "--quiet"]
    for year in YEARS:
        args += ["--topics", REPO / "topics" / f"{year}.txt"]
    proc = run_avs(*args)
    assert proc.returncode == 0, proc.stderr
    with FeatureStore(coll / "shots.h5") as store:
        ids = store.ids
    runs = []
    for year in YEARS:
        runs += simulated_runs(coll / "truth" / f"{year}.qrels", ids, root, year, seed=5)
    return coll, runs


def qrels_of(coll: Path) -> dict[str, Path]:
    return {y: coll / "qrels" / f"{y}.qrels" for y in YEARS}


def test_fast_infap_is_avs_evals(second_run: Path) -> None:
    """The search's vectorised infAP equals avs eval's per topic, for several weights."""
    inputs = load_inputs([f"A={RUCMM}", f"B={second_run}"])
    _, years, _ = _group(inputs, {"2021": QRELS})
    problem = _Problem(years, 60, 1000)
    year = years[0]
    for method, norm in (("wsum", "minmax"), ("wsum", "zscore"), ("rrf", "none")):
        for w in ((0.5, 0.5), (0.9, 0.1), (0.0, 1.0)):
            weights = np.array(w)
            exact = problem.exact(year, weights, method, norm, None)
            for t in problem.topics(year, method, norm):
                from avs.fusion.learn import _order
                from avs.fusion.methods import combine

                order = _order(t, combine(t.matrix, weights, method), 1000)
                assert fast_infap(t, order) == pytest.approx(exact[t.topic], abs=1e-12)


def test_exact_figure_is_what_avs_eval_prints_for_the_fused_run(
    tmp_path: Path, second_run: Path
) -> None:
    recipe = tmp_path / "recipe.json"
    result = learn_files([f"A={RUCMM}", f"B={second_run}"], [f"2021={QRELS}"], recipe, folds=4)
    r = read_recipe(recipe)
    assert set(r.weights) == {"A", "B"} and r.method == "wsum"
    assert result.cv_kind == "topic folds (4)" and len(result.estimates) == 4
    fused = fuse_files([f"A={RUCMM}", f"B={second_run}"], tmp_path / "f.parquet", recipe=recipe)
    [evaluation] = evaluate_files(QRELS, [fused.path])
    assert evaluation.evaluation.all["infAP"] == pytest.approx(result.in_sample, abs=1e-15)
    assert result.in_sample >= result.equal  # equal weights are a candidate
    meta = fused.meta["fusion"]
    assert meta["recipe"]["path"] == str(recipe) and meta["models"] == ["A", "B"]


@pytest.mark.slow
def test_learnt_weights_beat_equal_weights_on_held_out_simulated_years(simulated) -> None:
    coll, runs = simulated
    result = learn(load_inputs([str(p) for p in runs]), qrels_of(coll))
    assert result.cv_kind == "leave-one-year-out"
    assert [e.part for e in result.estimates] == list(YEARS)
    for e in result.estimates:
        # each held-out year, with weights learnt on the two others only
        assert e.cross_validated > e.equal + 0.01, e
        assert e.cross_validated >= e.best_single - 0.005, e
    assert result.cross_validated > result.equal
    weights = list(result.recipe.weights.values())
    assert weights[0] == max(weights)  # the best system gets the largest weight
    assert result.recipe.extra["simulated"] is True
    assert result.seconds < 60


@pytest.mark.slow
def test_cli_learn_then_fuse_the_new_year(simulated, tmp_path: Path) -> None:
    coll, runs = simulated
    learning = [p for p in runs if not p.name.endswith("2021.parquet")]
    recipe = tmp_path / "recipe.json"
    args = ["fuse-learn", *learning, "--out", recipe]
    args += [f"--qrels={y}={coll}/qrels/{y}.qrels" for y in YEARS[:2]]
    proc = run_avs(*args)
    assert proc.returncode == 0, proc.stderr
    assert "cross-validated (leave-one-year-out)" in proc.stdout
    assert "SIMULATED" in proc.stdout
    new_year = [p for p in runs if p.name.endswith("2021.parquet")]
    out = tmp_path / "fused-2021.parquet"
    proc = run_avs("fuse", "--recipe", recipe, *new_year, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED" in proc.stdout
    fused, *singles = evaluate_files(coll / "qrels" / "2021.qrels", [out, *new_year])
    assert fused.evaluation.all["infAP"] > max(s.evaluation.all["infAP"] for s in singles)
    data = json.loads(recipe.read_text())
    assert data["learnt_on"]["years"] == ["2019", "2020"]
    assert data["figures"]["cross_validation"] == "leave-one-year-out"


def test_recipe_naming_an_absent_model(tmp_path: Path, second_run: Path) -> None:
    recipe = tmp_path / "r.json"
    learn_files([f"A={RUCMM}", f"B={second_run}"], [str(QRELS)], recipe, folds=2)
    with pytest.raises(AvsError, match=r"recipe names model\(s\) B but no run given"):
        fuse_files([f"A={RUCMM}"], tmp_path / "f.parquet", recipe=recipe)
    with pytest.raises(AvsError, match="model 'C' is not in the recipe"):
        fuse_files([f"A={RUCMM}", f"C={second_run}"], tmp_path / "f.parquet", recipe=recipe)
    with pytest.raises(AvsError, match="does not say which model"):
        fuse_files([RUCMM, f"B={second_run}"], tmp_path / "f.parquet", recipe=recipe)
    with pytest.raises(AvsError, match="--recipe sets method"):
        fuse_files([RUCMM], tmp_path / "f.parquet", recipe=recipe, method="rrf")


def test_bad_recipe_names_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "r.json"
    bad.write_text(
        json.dumps(
            {
                "format": "avs-fusion-recipe",
                "version": 1,
                "method": "wsum",
                "norm": "minmax",
                "weights": {"A": -1},
            }
        )  # fmt: skip
    )
    proc = run_avs("fuse", "--recipe", bad, f"A={RUCMM}", "--out", tmp_path / "f.parquet")
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"Error: {bad}, field 'weights.A': must be a number >= 0"


def test_learn_problems_are_listed(tmp_path: Path, second_run: Path) -> None:
    out = tmp_path / "r.json"
    with pytest.raises(AvsError, match="does not say which model"):
        learn_files([RUCMM, second_run], [str(QRELS)], out)
    with pytest.raises(AvsError, match="at least 2 models"):
        learn_files([f"A={RUCMM}"], [str(QRELS)], out)
    with pytest.raises(AvsError, match=r"no qrels for 2021 .*--qrels 2021=PATH"):
        learn_files([f"A={RUCMM}", f"B={second_run}"], [], out, workspace=_NoQrels())
    assert not out.exists()


class _NoQrels:
    """A workspace naming no qrels."""

    def year_config(self, year):  # noqa: ANN001, ANN201
        from types import SimpleNamespace

        return SimpleNamespace(qrels=None)


def test_search_over_methods(tmp_path: Path, second_run: Path) -> None:
    inputs = load_inputs([f"A={RUCMM}", f"B={second_run}"])
    result = learn(inputs, {"2021": QRELS}, methods=("wsum", "rrf"), norms=("minmax", "rank"))
    assert (result.recipe.method, result.recipe.norm) in {
        ("wsum", "minmax"),
        ("wsum", "rank"),
        ("rrf", "none"),
    }
    single = [
        evaluate(_group(inputs, {"2021": QRELS})[1][0].judgements, inp.run.topics).all["infAP"]
        for inp in inputs
    ]
    assert result.in_sample > max(single)
