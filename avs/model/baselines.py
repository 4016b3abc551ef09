"""The paper's fusion baselines behind LaffFusion's interface: attention-free mean,
multi-head self-attention (MHSA) and W2VV++-style concatenation."""

from __future__ import annotations

import torch
from torch import nn

from avs.model.laff import FeatureTransform, LaffFusion, head_normalize


def MeanFusion(  # noqa: N802 - a constructor in all but name
    dims: list[int],
    heads: int,
    dim: int,
    dropout: float = 0.2,
    pass_through: list[bool] | None = None,
) -> LaffFusion:
    """Attention-free fusion: the mean of the transformed features (LAFF with a_i = 1/k)."""
    return LaffFusion(dims, heads, dim, dropout, pass_through, uniform=True)


class Centre(nn.Module):
    """Subtract the mean over samples: the batch mean in training (gradients flow through
    it, as in BatchNorm), ``running_mean`` at inference. No scaling.

    During training ``running_mean`` follows the batch means with ``momentum``, so at the
    end it lags behind the final weights; training (``avs.train.loop.train``) therefore
    overwrites it with the exact training-set mean of the current weights before every
    validation (``avs.train.calibrate.recalibrate_centres``), as precise-BatchNorm does.

    ``enabled = False`` makes the module the identity in training and inference (and
    leaves ``running_mean`` alone, at zero for a fresh module): the uncentred ablation of
    the MHSA baseline. A model saved that way still loads as a plain centred one whose
    zero running mean changes nothing at inference. See :func:`set_centring`."""

    def __init__(self, dim: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum = momentum
        self.enabled = True
        self.register_buffer("running_mean", torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return x
        if not self.training:
            return x - self.running_mean
        mean = x.mean(dim=0)
        with torch.no_grad():
            self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), self.momentum)
        return x - mean


def centres(module: nn.Module) -> list[Centre]:
    """The :class:`Centre` modules inside ``module`` (empty unless it has an MHSA fusion)."""
    return [m for m in module.modules() if isinstance(m, Centre)]


def set_centring(module: nn.Module, enabled: bool) -> int:
    """Switch every :class:`Centre` inside ``module`` on or off; returns how many there
    are. Switching off before training gives the uncentred MHSA of the paper's
    description, which collapses under the hardest-negative loss (tests/model/test_mhsa.py)."""
    found = centres(module)
    for c in found:
        c.enabled = enabled
    return len(found)


class MhsaFusion(nn.Module):
    """Transform each feature, one nn.MultiheadAttention layer over the k features with a
    residual and LayerNorm, then the mean over features, centred, normalised per head.

    The centring (:class:`Centre`) is not in the paper's description; without it the block
    collapses under the hardest-negative triplet loss: identical embeddings cost only the
    margin per caption, less than at initialisation, and the attention's value/output
    projections (linear maps after the tanh, followed only by scale-invariant LayerNorm
    and L2) reach that minimum in a few steps by amplifying the component every sample
    shares. That component says nothing about which caption matches which video; removing
    it removes the collapse (tests/model/test_mhsa.py). Training recalibrates the
    centring's inference mean on the training set (avs.train.calibrate)."""

    def __init__(
        self,
        dims: list[int],
        heads: int,
        dim: int,
        dropout: float = 0.2,
        pass_through: list[bool] | None = None,
        mhsa_heads: int = 4,
    ) -> None:
        super().__init__()
        self.heads = heads
        self.transform = FeatureTransform(dims, dim, dropout, pass_through)
        self.attn = nn.MultiheadAttention(dim, mhsa_heads, batch_first=True)
        self.norm = nn.LayerNorm(dim)
        self.centre = Centre(dim)

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, None]:
        x = self.transform(feats)
        y, _ = self.attn(x, x, x, need_weights=False)
        y = self.centre(self.norm(x + y).mean(dim=1))
        return head_normalize(y, self.heads), None


class ConcatFusion(nn.Module):
    """W2VV++: concatenate the raw features, one Linear to ``dim``, tanh, dropout."""

    def __init__(self, dims: list[int], heads: int, dim: int, dropout: float = 0.2) -> None:
        super().__init__()
        self.heads = heads
        self.transform = FeatureTransform([sum(dims)], dim, dropout)

    def forward(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, None]:
        y = self.transform([torch.cat(feats, dim=1)])[:, 0]
        return head_normalize(y, self.heads), None
