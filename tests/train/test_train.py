"""Training on a tiny collection: improves over an untrained model, reproducible,
resumable, clear errors for bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from avs.cli import main
from avs.errors import AvsError
from avs.model import load_model
from avs.train.data import load_training_data
from avs.train.loop import Batcher, _make_model, evaluate, train
from avs.train.metrics import ranks_of_truth, retrieval_metrics
from tests.support.training import options


def test_metrics_known_values() -> None:
    sims = torch.tensor([[0.9, 0.1, 0.5], [0.2, 0.3, 0.4], [0.1, 0.1, 0.0]])
    ranks = ranks_of_truth(sims, torch.tensor([0, 0, 2]))
    assert ranks.tolist() == [1, 3, 3]
    m = retrieval_metrics(ranks)
    assert m["r1"] == pytest.approx(100 / 3) and m["r5"] == 100.0 and m["medr"] == 3
    assert m["map"] == pytest.approx((1 + 1 / 3 + 1 / 3) / 3)


@pytest.mark.slow
def test_training_improves_over_random_and_is_reproducible(
    tiny_collection: Path, tmp_path: Path
) -> None:
    opts = options(tiny_collection, tmp_path / "m")
    torch.manual_seed(0)
    data = load_training_data(tiny_collection, opts.video_features)
    untrained = _make_model(opts, data, []).eval()
    before = evaluate(untrained, Batcher(untrained, data, "cpu"), data.splits["test"], "test")
    result = train(opts)
    assert result.test["map"] > before["map"] + 0.15
    saved = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert saved["test"]["map"] == pytest.approx(result.test["map"])
    assert load_model(tmp_path / "m").fingerprint == result.fingerprint
    again = train(options(tiny_collection, tmp_path / "m2"))
    assert again.fingerprint == result.fingerprint  # seeded: bit-identical on CPU


@pytest.mark.slow
def test_resume_continues_to_the_same_model(tiny_collection: Path, tmp_path: Path) -> None:
    full = train(options(tiny_collection, tmp_path / "full", epochs=2, fusion="laff-ml"))
    train(options(tiny_collection, tmp_path / "part", epochs=1, fusion="laff-ml"))
    resumed = train(
        options(tiny_collection, tmp_path / "part", epochs=2, fusion="laff-ml"), resume=True
    )
    assert resumed.history == full.history
    assert resumed.fingerprint == full.fingerprint
    with pytest.raises(AvsError, match="different options"):
        train(options(tiny_collection, tmp_path / "part", epochs=3, heads=4), resume=True)


def test_missing_feature_is_a_clear_error(tiny_collection: Path) -> None:
    with pytest.raises(AvsError, match="no video feature 'clip'.*objfeat"):
        load_training_data(tiny_collection, ["objfeat", "clip"])


def test_caption_without_video_features_is_a_clear_error(
    tiny_collection: Path, tmp_path: Path
) -> None:
    coll = tmp_path / "c"
    shutil.copytree(tiny_collection, coll)
    with open(coll / "train" / "captions.txt", "a") as fh:
        fh.write("ghost99#0 a dog is running\n")
    with pytest.raises(AvsError, match="1 caption.*ghost99#0"):
        load_training_data(coll, ["objfeat"])


def test_cli_train_and_explain(tiny_collection: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    args = ["train", str(tiny_collection), "--video-features", "objfeat,motion",
            "--text-features", "bow", "--preset", "demo", "--dim", "32", "--heads", "2",
            "--epochs", "1", "--out", str(out), "--quiet", "--device", "cpu"]  # fmt: skip
    res = runner.invoke(main, args)
    assert res.exit_code == 0, res.output
    assert (out / "config.json").is_file() and (out / "metrics.json").is_file()
    topics = tmp_path / "t.txt"
    topics.write_text("701 a dog running\n702 a boat\n")
    html = tmp_path / "x.html"
    res = runner.invoke(main, ["explain", "--model", str(out), "--topics", str(topics), "--html",
                               str(html), "--collection", str(tiny_collection / "train" / "features.h5"),
                               "--split", "val"])  # fmt: skip
    assert res.exit_code == 0, res.output
    page = html.read_text()
    assert "<svg" in page and "701" in page and "<script" not in page
    res = runner.invoke(main, ["train", str(tiny_collection), "--video-features", "nope",
                               "--out", str(tmp_path / "bad"), "--quiet"])  # fmt: skip
    assert res.exit_code != 0 and "no video feature 'nope'" in res.output
    assert "Traceback" not in res.output
