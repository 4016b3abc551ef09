"""Recalibrating the centring of the MHSA baseline on the training set.

:class:`avs.model.baselines.Centre` subtracts the batch mean in training and its
``running_mean`` at inference. That running mean is an exponential average of batch
means taken while the weights were still moving, so after training it lags behind the
final weights - by enough to cost retrieval accuracy, since every embedding is shifted
by the lag before its per-head normalisation. As for BatchNorm statistics
("precise BN"), the fix is one pass over the training data with the final weights in
eval mode, storing the exact mean as the running mean.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from avs.model.baselines import Centre, centres
from avs.model.model import AvsModel
from avs.train.data import Split

if TYPE_CHECKING:
    from avs.train.loop import Batcher


def has_centring(model: AvsModel) -> bool:
    """True when ``model`` has an enabled :class:`Centre` (an MHSA fusion)."""
    return any(c.enabled for c in centres(model))


@torch.no_grad()
def recalibrate_centres(
    model: AvsModel, batcher: Batcher, split: Split, name: str = "train", bs: int = 1024
) -> dict[str, torch.Tensor]:
    """Set the ``running_mean`` of every enabled :class:`Centre` of ``model`` to the exact
    mean of its input over ``split`` (normally the training split), computed with the
    current weights in eval mode (no dropout): the video-side centre over the split's
    distinct videos (each once, as an index sees them), the text-side centre over its
    captions. ``batcher`` must hold the split's prepared texts under ``name``.

    Accumulates in float64, so the result does not depend on ``bs``. Restores the
    model's train/eval mode. Returns the new means by module name (empty when the model
    has no enabled centre, e.g. every fusion but mhsa)."""
    targets = {c: n for n, c in model.named_modules() if isinstance(c, Centre) and c.enabled}
    if not targets:
        return {}
    sums: dict[Centre, torch.Tensor] = {}
    counts: dict[Centre, int] = dict.fromkeys(targets, 0)

    def hook(module: Centre, args: tuple[torch.Tensor, ...]) -> None:
        x = args[0].detach().to(torch.float64)
        sums[module] = sums[module] + x.sum(0) if module in sums else x.sum(0)
        counts[module] += x.shape[0]

    was_training = model.training
    model.eval()
    handles = [c.register_forward_pre_hook(hook) for c in targets]
    try:
        videos = torch.from_numpy(split.videos)
        for i in range(0, len(videos), bs):
            model.video_embed(*batcher.video(videos[i : i + bs]))
        for i in range(0, len(split.texts), bs):
            idx = torch.arange(i, min(i + bs, len(split.texts)))
            model.text_embed(batcher.text_inputs(name, idx))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    out = {}
    for c, n in targets.items():
        if counts[c]:  # a side with no samples keeps its running mean
            c.running_mean.copy_((sums[c] / counts[c]).to(c.running_mean.dtype))
            out[n] = c.running_mean.clone()
    return out


__all__ = ["has_centring", "recalibrate_centres"]
