"""Feature selection by average attention (the paper's Sec. 4.4): keep the K features per
side with the largest mean weight, retrain, and compare test mAP with the full model."""

from __future__ import annotations

import dataclasses
from typing import Any

from rich.console import Console

from avs.io.textfile import printable
from avs.model.io import load_model
from avs.train.data import load_training_data
from avs.train.explain import average_weights
from avs.train.loop import Callback, TrainOptions, TrainResult, train


def selected_out(out: str, k: int) -> str:
    """Where the model retrained on the top ``k`` features goes."""
    return f"{out}-top{k}"


def select_and_retrain(
    opts: TrainOptions,
    full: TrainResult,
    k: int,
    callback: Callback | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Rank features of the trained model in ``opts.out`` on the validation split, retrain
    with the top ``k`` per side into ``OUT-topK`` and report both test mAPs."""
    model = load_model(opts.out, opts.device)
    data = load_training_data(
        opts.collection, model.video_features, model.frame_features, opts.seed
    )
    avg = average_weights(model, data, "val")
    video = list(avg["video"])[:k]
    text = list(avg["text"])[:k]
    note = ""
    framed = [f for f in avg["video"] if f in model.frame_features]
    if opts.fusion == "laff-ml" and framed and not any(f in framed for f in video):
        # laff-ml fuses over frames: without a frame-level feature it cannot be trained, so
        # the best-ranked one takes the last place of the selection.
        video = [*video[: k - 1], framed[0]]
        note = f"  (kept {framed[0]!r}, the best frame-level feature: laff-ml needs one)\n"
    # keep the user's order so the config reads naturally
    sub = dataclasses.replace(
        opts,
        out=selected_out(opts.out, k),
        video_features=[f for f in opts.video_features if f in video],
        text_features=[f for f in opts.text_features if f in text],
    )
    result = train(sub, callback=callback, overwrite=overwrite)
    loss = full.test["map"] - result.test["map"]
    rel = 100 * loss / full.test["map"] if full.test["map"] else 0.0
    Console().print(
        printable(
            f"feature selection (top {k} by average attention on val):\n"
            f"  video {avg['video']}\n  text  {avg['text']}\n{note}"
            f"  full model test mAP {full.test['map']:.4f}; top-{k} ({', '.join(sub.video_features)} | "
            f"{', '.join(sub.text_features)}) mAP {result.test['map']:.4f}: loss {loss:.4f} ({rel:.1f} %) "
            f"-> {sub.out}"
        )
    )
    return {"ranking": avg, "full": full.test, "selected": result.test, "out": sub.out}
