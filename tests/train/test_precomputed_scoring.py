"""Precomputed text features (e.g. CLIP text) from train to score (issue #15, defect 1):
training looks them up by caption id, scoring by topic number."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from avs.cli import main
from avs.io.runs import read_run
from tests.support.files import write_bigfile


def test_train_index_score_with_a_precomputed_text_feature(
    tiny_collection: Path, tmp_path: Path
) -> None:
    captions = (tiny_collection / "train" / "captions.txt").read_text().split("\n")
    keys = [line.split(" ", 1)[0] for line in captions if line]
    store = tmp_path / "cliptext"
    write_bigfile(store, [*keys, "701", "702"], 16, seed=3)  # no key is a topic's text
    runner = CliRunner()
    model = tmp_path / "model"
    res = runner.invoke(main, [
        "train", str(tiny_collection), "--video-features", "objfeat",
        "--text-features", f"precomputed:cliptext@{store}", "--preset", "demo", "--dim", "16",
        "--heads", "2", "--epochs", "1", "--out", str(model), "-q", "--device", "cpu",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    index = tmp_path / "index"
    feats = tiny_collection / "train" / "features.h5"
    res = runner.invoke(main, ["index", str(feats), "--model", str(model), "--out", str(index),
                               "--device", "cpu", "-q"])  # fmt: skip
    assert res.exit_code == 0, res.output
    topics = tmp_path / "2022.txt"
    topics.write_text("701 A man with a white beard\n702 a dog is running\n")
    res = runner.invoke(main, [
        "score", "--topics", str(topics), "--model", str(model), "--index", str(index),
        "--runs", str(tmp_path / "runs"), "--run-name", "pre", "--k", "5", "--device", "cpu", "-q",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    run = read_run(tmp_path / "runs" / "pre.parquet")
    assert run.topics == [701, 702] and len(run.shot_id) == 10
    # A topic number the store lacks is named in the error, not searched for as text.
    topics.write_text("703 a boat\n")
    res = runner.invoke(main, [
        "score", "--topics", str(topics), "--model", str(model), "--index", str(index),
        "--runs", str(tmp_path / "runs"), "--run-name", "missing", "--device", "cpu", "-q",
    ])  # fmt: skip
    assert res.exit_code == 1 and "'703'" in res.output and "Traceback" not in res.output
