"""The LAFF block (Hu et al., ECCV 2022), its multi-head form and the frame-level block.

Every fusion module maps a list of per-feature tensors ``[(B, d_i)]`` to
``(embedding (B, dim), weights (B, heads, k) or None)``; the embedding is L2-normalised
per head, so the multi-head similarity is ``(1 / heads) * dot(e_text, e_video)``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def head_normalize(x: torch.Tensor, heads: int) -> torch.Tensor:
    """L2-normalise each of the ``heads`` equal slices of the last dimension of ``x``."""
    b = x.shape[:-1]
    y = F.normalize(x.reshape(*b, heads, -1), dim=-1, eps=1e-8)
    return y.reshape(*b, -1)


def multihead_similarity(text: torch.Tensor, video: torch.Tensor, heads: int) -> torch.Tensor:
    """Mean over heads of the per-head cosine similarities: (Bt, dim) x (Bv, dim) -> (Bt, Bv).

    Computed head by head (the definition); equals ``text @ video.T / heads`` for
    per-head normalised inputs, which is what search uses."""
    t = F.normalize(text.reshape(text.shape[0], heads, -1), dim=-1, eps=1e-8)
    v = F.normalize(video.reshape(video.shape[0], heads, -1), dim=-1, eps=1e-8)
    return torch.einsum("ihd,jhd->hij", t, v).mean(0)


class FeatureTransform(nn.Module):
    """Per feature: Linear(d_i -> dim) (or nothing, for pass-through), tanh, dropout, and
    with ``batch_norm`` a BatchNorm1d(dim) per feature (the released multi-level code's).

    Returns the transformed features stacked as (B, k, dim)."""

    def __init__(
        self,
        dims: list[int],
        dim: int,
        dropout: float,
        pass_through: list[bool] | None = None,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        pass_through = pass_through or [False] * len(dims)
        layers: list[nn.Module] = []
        for d, skip in zip(dims, pass_through, strict=True):
            if skip:
                layers.append(nn.Identity())
                continue
            lin = nn.Linear(d, dim)
            nn.init.xavier_uniform_(lin.weight)
            nn.init.zeros_(lin.bias)
            layers.append(lin)
        self.linears = nn.ModuleList(layers)
        self.dropout = nn.Dropout(dropout)
        norms = [nn.BatchNorm1d(dim) if batch_norm else nn.Identity() for _ in dims]
        self.norms = nn.ModuleList(norms)

    def forward(self, feats: list[torch.Tensor]) -> torch.Tensor:
        parts = zip(self.linears, self.norms, feats, strict=True)
        return torch.stack([norm(self.dropout(torch.tanh(lin(f)))) for lin, norm, f in parts], 1)


class LaffFusion(nn.Module):
    """Multi-head LAFF: shared per-feature transform to ``dim``, split into ``heads`` slices
    of ``dim / heads``; per head a Linear(d_head -> 1) scores each feature, a softmax over
    the k features weights them, the weighted sum is L2-normalised.

    ``uniform=True`` gives the attention-free (mean) baseline: a_i = 1/k."""

    def __init__(
        self,
        dims: list[int],
        heads: int,
        dim: int,
        dropout: float = 0.2,
        pass_through: list[bool] | None = None,
        uniform: bool = False,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.k = len(dims)
        self.transform = FeatureTransform(dims, dim, dropout, pass_through, batch_norm)
        self.uniform = uniform
        if not uniform:
            d_head = dim // heads
            bound = 1.0 / math.sqrt(d_head)
            # One Linear(d_head -> 1) per head, stored as (heads, d_head) + (heads,).
            self.att_weight = nn.Parameter(torch.empty(heads, d_head).uniform_(-bound, bound))
            self.att_bias = nn.Parameter(torch.zeros(heads))

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.transform(feats)  # (B, k, dim)
        b = x.shape[0]
        x = x.reshape(b, self.k, self.heads, -1)  # (B, k, H, d_head)
        if self.uniform:
            a = x.new_full((b, self.heads, self.k), 1.0 / self.k)
        else:
            logits = torch.einsum("bkhd,hd->bhk", x, self.att_weight) + self.att_bias[:, None]
            a = logits.softmax(dim=-1)  # over features, per head
        fused = torch.einsum("bhk,bkhd->bhd", a, x)
        return F.normalize(fused, dim=-1, eps=1e-8).reshape(b, -1), a


def pad_frames(values: torch.Tensor, offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Ragged frames (values (M, D), offsets (B+1,)) -> padded (B, T, D) and mask (B, T)."""
    offsets = offsets.to(values.device, torch.long)
    offsets = offsets - offsets[0]  # a row-range read may carry absolute offsets
    counts = offsets[1:] - offsets[:-1]
    width = max(int(counts.max().item()) if counts.numel() else 0, 1)
    steps = torch.arange(width, device=values.device)
    mask = steps[None, :] < counts[:, None]
    index = (offsets[:-1, None] + steps[None, :]).clamp(max=max(values.shape[0] - 1, 0))
    if values.shape[0] == 0:
        padded = values.new_zeros((counts.shape[0], width, values.shape[1]))
    else:
        padded = values[index] * mask.unsqueeze(-1)
    return padded, mask


class FrameLaff(nn.Module):
    """LAFF over the frames of one extractor (LAFF-ml's lower level): Linear(D -> 1)
    scores each frame, softmax over the shot's real frames only (padding is masked to
    -inf, fixing the released code's leak), weighted sum of the raw frame features.
    A row without frames gets a zero feature and zero weights."""

    def __init__(self, dim_in: int) -> None:
        super().__init__()
        self.att = nn.Linear(dim_in, 1)
        nn.init.zeros_(self.att.bias)

    def forward(
        self, values: torch.Tensor, offsets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        padded, mask = pad_frames(values, offsets)
        logits = self.att(padded).squeeze(-1).masked_fill(~mask, float("-inf"))
        a = torch.nan_to_num(logits.softmax(dim=-1), nan=0.0)  # all-masked rows -> 0
        return torch.einsum("bt,btd->bd", a, padded), a
