"""What avs explain refuses (issue #15, defect 3): models without learnt weights."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from avs.cli import main


def test_explain_refuses_a_mean_fusion_model(tiny_collection: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    model = tmp_path / "mean"
    res = runner.invoke(main, [
        "train", str(tiny_collection), "--video-features", "objfeat,motion", "--fusion", "mean",
        "--text-features", "bow", "--preset", "demo", "--dim", "16", "--heads", "2",
        "--epochs", "1", "--out", str(model), "-q", "--device", "cpu",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    topics = tmp_path / "t.txt"
    topics.write_text("701 a dog running\n")
    for extra in (
        ["--topics", str(topics), "--html", str(tmp_path / "x.html")],
        ["--split", "val"],
    ):
        res = runner.invoke(main, ["explain", "--model", str(model), *extra])
        assert res.exit_code == 1 and "mean fusion" in res.output, res.output
        assert not (tmp_path / "x.html").exists()


def test_select_top_keeps_a_frame_feature_for_laff_ml(
    tiny_collection: Path, tmp_path: Path, monkeypatch
) -> None:
    """Issue #15, defect 2: the top-K by attention may hold no frame-level feature."""
    import avs.train.select as select
    from avs.model.io import load_model
    from avs.train.loop import TrainOptions, train

    opts = TrainOptions(str(tiny_collection), str(tmp_path / "ml"), ["objfeat", "motion"],
                        ["bow"], fusion="laff-ml", heads=2, dim=16, epochs=1, batch_size=64,
                        lr=1e-3, device="cpu")  # fmt: skip
    full = train(opts)
    # objfeat (no frames) ranked first: the top-1 selection alone could not train laff-ml.
    ranking = {"video": {"objfeat": 0.7, "motion": 0.3}, "text": {"bow": 1.0}}
    monkeypatch.setattr(select, "average_weights", lambda *a, **k: ranking)
    out = select.select_and_retrain(opts, full, 1)
    assert load_model(out["out"], "cpu").video_features == ["motion"]


def test_frame_norm_batch_adds_batchnorm_to_laff_ml_only(tiny_collection: Path, tmp_path: Path):
    """Issue #15, defect 6: the released multi-level code's BatchNorm, as an option."""
    import torch

    from avs.model.io import load_model

    runner = CliRunner()
    base = ["train", str(tiny_collection), "--video-features", "objfeat,motion",
            "--text-features", "bow", "--preset", "demo", "--dim", "16", "--heads", "2",
            "--epochs", "1", "-q", "--device", "cpu"]  # fmt: skip
    res = runner.invoke(main, [*base, "--fusion", "laff-ml", "--frame-norm", "batch",
                               "--out", str(tmp_path / "bn")])  # fmt: skip
    assert res.exit_code == 0, res.output
    model = load_model(tmp_path / "bn", "cpu")
    norms = [m for m in model.video_fusion.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(norms) == 2 and not any(
        isinstance(m, torch.nn.BatchNorm1d) for m in model.text_fusion.modules()
    )
    res = runner.invoke(main, [*base, "--frame-norm", "batch", "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "only used with --fusion laff-ml" in res.output


def test_explain_a_runs_own_shots_with_judgements(tiny_collection: Path, tmp_path: Path) -> None:
    """Issue #15, defect 4: --run explains the run's top shots, --qrels marks them; the page
    has a table of contents, a summary, head labels and one colour per feature."""
    import re

    runner = CliRunner()
    model = tmp_path / "laff"
    res = runner.invoke(main, [
        "train", str(tiny_collection), "--video-features", "objfeat,motion",
        "--text-features", "bow,gru", "--preset", "demo", "--dim", "16", "--heads", "2",
        "--epochs", "1", "--out", str(model), "-q", "--device", "cpu",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    topics = tmp_path / "t.txt"
    topics.write_text("701 a dog running\n702 a boat\n")
    run = tmp_path / "run.trec"
    run.write_text("1701 0 video5 1 0.9 t\n1701 0 video3 2 0.8 t\n1702 0 video7 1 0.5 t\n")
    qrels = tmp_path / "q"
    qrels.write_text("1701 0 video5 1 1\n1701 0 video3 1 0\n")
    html = tmp_path / "x.html"
    res = runner.invoke(main, [
        "explain", "--model", str(model), "--topics", str(topics), "--html", str(html),
        "--collection", str(tiny_collection / "train" / "features.h5"), "--run", str(run),
        "--qrels", str(qrels), "--top", "2",
    ])  # fmt: skip
    assert res.exit_code == 0, res.output
    page = html.read_text()
    first = page.index("1. video5")
    assert first < page.index("2. video3") < page.index("1. video7")  # the run's order
    assert "&#10003; relevant" in page and "not relevant" in page and "? unjudged" in page
    assert 'href="#t701"' in page and "Summary: mean weight" in page and ">h2</text>" in page
    legends = re.findall(r'<p class="legend"><b>(\w+):</b>(.*?)</p>', page)
    colours = [re.findall(r"background:([^\"]+)", body) for _, body in legends]
    assert len(colours) == 2 and not set(colours[0]) & set(colours[1])
    # A shot the feature store does not hold is named, nothing is written.
    run.write_text("1701 0 ghost1 1 0.9 t\n1702 0 video7 1 0.5 t\n")
    html.unlink()
    res = runner.invoke(main, [
        "explain", "--model", str(model), "--topics", str(topics), "--html", str(html),
        "--collection", str(tiny_collection / "train" / "features.h5"), "--run", str(run),
    ])  # fmt: skip
    assert res.exit_code == 1 and "'ghost1'" in res.output and not html.exists()
