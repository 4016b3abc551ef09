"""``avs train``: fit a (multi-head) LAFF model on a collection's captions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from avs.cli.options import device_option
from avs.errors import AvsError


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


@click.command("train")
@click.argument("collection", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--video-features", required=True, help="Comma-separated extractors, e.g. clip,motion,scene."
)
@click.option("--text-features", default="bow,gru", show_default=True,
              help="Comma-separated text encoders: bow, gru, minilm, precomputed:FEATURE@PATH.")  # fmt: skip
@click.option("--fusion", type=click.Choice(["laff", "laff-ml", "mean", "mhsa", "concat"]),
              default="laff", show_default=True,
              help="How features are fused: LAFF, frame-level LAFF, or a baseline.")  # fmt: skip
@click.option("--preset", default="paper", show_default=True,
              help="Defaults for the options below: 'paper' (8x512, 50 epochs) or 'demo' (8x64, 10 epochs, lr 1e-3, 2-core friendly).")  # fmt: skip
@click.option("--heads", type=int, help="Heads (paper: 8).")
@click.option("--dim", type=int, help="Embedding size = heads x head size (paper: 4096).")
@click.option(
    "--epochs", type=int, help="Maximum epochs (early stop after 10 without improvement)."
)
@click.option("--batch-size", type=int, help="Captions per batch.")
@click.option("--lr", type=float, help="RMSprop learning rate (paper: 1e-4).")
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Model directory, e.g. models/NAME.",
)
@device_option("training runs")
@click.option(
    "--resume", is_flag=True, help="Continue an interrupted run in --out with the same options."
)
@click.option(
    "--overwrite", is_flag=True, help="Replace a model or training state already in --out."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of initialisation and batches."
)
@click.option("--frame-norm", type=click.Choice(["none", "batch"]), default=None,
              help="laff-ml: BatchNorm after each video-level transform, as the released multi-level code (default none).")  # fmt: skip
@click.option("--select-top", type=int, default=None,
              help="Then retrain with the K features per side with most average attention; report the mAP loss.")  # fmt: skip
@click.option("--threads", type=int, default=0,
              help="CPU threads for torch (0: torch's default). 1 is often fastest on a busy machine.")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the test-split metrics as JSON, not a table."
)
def command(
    collection: Path,
    video_features: str,
    text_features: str,
    fusion: str,
    preset: str,
    heads: int | None,
    dim: int | None,
    epochs: int | None,
    batch_size: int | None,
    lr: float | None,
    out: Path,
    device: str,
    resume: bool,
    overwrite: bool,
    seed: int,
    frame_norm: str | None,
    select_top: int | None,
    threads: int,
    quiet: bool,
    as_json: bool,
) -> None:
    """Train a text-to-video model on COLLECTION (avs collection or RUC VisualSearch layout).

    \b
    Examples:
      avs train collections/sim --video-features clip,motion,scene --preset demo --out models/demo
      avs train VisualSearch/msrvtt --video-features clip --text-features bow,gru,minilm \\
          --out models/laff --device cuda
    """
    from avs.cli.train_progress import RichProgress, print_result
    from avs.model.config import check_train_settings
    from avs.train.loop import TrainOptions, check_out, train
    from avs.train.select import selected_out

    if threads > 0:
        import torch

        torch.set_num_threads(threads)
    from avs.model.config import load_preset

    settings = load_preset(preset)
    given = {"heads": heads, "dim": dim, "epochs": epochs, "batch_size": batch_size, "lr": lr}
    settings.update({k: v for k, v in given.items() if v is not None})
    problems = []
    if not _split(video_features):
        problems.append("--video-features is empty")
    if not _split(text_features):
        problems.append("--text-features is empty")
    if select_top is not None and select_top < 1:
        problems.append("--select-top must be at least 1")
    if select_top is not None and fusion not in ("laff", "laff-ml"):
        problems.append("--select-top needs attention weights: use --fusion laff or laff-ml")
    problems += check_train_settings(settings)
    if resume and overwrite:
        problems.append("--resume and --overwrite exclude each other")
    if problems:
        raise AvsError("; ".join(problems))
    # Refuse before hours of training, not after: the selected model's directory too.
    check_out(out, resume, overwrite)
    if select_top:
        check_out(selected_out(str(out), select_top), False, overwrite)
    opts = TrainOptions(
        collection=str(collection),
        out=str(out),
        video_features=_split(video_features),
        text_features=_split(text_features),
        fusion=fusion,
        seed=seed,
        device=device,
        **settings,
    )
    if frame_norm is not None:
        opts.model_options = {**opts.model_options, "frame_norm": frame_norm}
    with RichProgress(enabled=not quiet) as progress:
        result = train(opts, resume=resume, callback=progress, overwrite=overwrite)
    if as_json:
        summary = {
            "model": str(out),
            "fingerprint": result.fingerprint,
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "test": result.test,
        }
        click.echo(json.dumps(summary))
    else:
        print_result(opts, result)
    if select_top:
        from avs.train.select import select_and_retrain

        with RichProgress(enabled=not quiet) as progress:
            select_and_retrain(opts, result, select_top, callback=progress, overwrite=overwrite)
