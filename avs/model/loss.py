"""Hardest-negative triplet ranking loss (VSE++), per head, text-to-video."""

from __future__ import annotations

import torch
from torch import nn


class TripletLoss(nn.Module):
    """For each caption i with video v(i): max(0, margin + max_j s_h(i, j) - s_h(i, v(i)))
    summed over the batch and over the heads h, where s_h is head h's cosine and j runs
    over the batch's videos that are *not* v(i). Captions of the same video in one batch
    are therefore never negatives of each other (the released code treats them as such).
    Text-to-video only, as the released code trains."""

    def __init__(self, margin: float = 0.2, heads: int = 1) -> None:
        super().__init__()
        self.margin = margin
        self.heads = heads

    def forward(
        self, text: torch.Tensor, video: torch.Tensor, video_ids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``text`` and ``video`` (B, dim) are per-head normalised, row i of each a positive
        pair; ``video_ids`` (B,) identifies the video of row i. Returns ``{"loss": ...}``."""
        b = text.shape[0]
        t = text.float().reshape(b, self.heads, -1)
        v = video.float().reshape(b, self.heads, -1)
        sims = torch.einsum("ihd,jhd->hij", t, v)  # (H, B, B)
        pos = sims.diagonal(dim1=1, dim2=2)  # (H, B)
        same = video_ids[:, None] == video_ids[None, :]
        # Cosines are >= -1, so -10 is never the hardest negative; rows without any
        # negative contribute 0.
        neg = sims.masked_fill(same, -10.0).amax(dim=2)
        loss = (self.margin + neg - pos).clamp(min=0).sum()
        return {"loss": loss}
