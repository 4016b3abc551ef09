"""LAFF blocks, baselines and the multi-head similarity."""

from __future__ import annotations

import pytest
import torch

from avs.model.baselines import ConcatFusion, MeanFusion, MhsaFusion
from avs.model.laff import FrameLaff, LaffFusion, head_normalize, multihead_similarity


def _feats(b: int = 5, dims: tuple[int, ...] = (7, 11, 3), seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, d, generator=g) for d in dims]


@pytest.mark.parametrize("heads", [1, 4])
def test_laff_weights_sum_to_one(heads: int) -> None:
    torch.manual_seed(0)
    block = LaffFusion([7, 11, 3], heads=heads, dim=16, dropout=0.0).eval()
    emb, w = block(_feats())
    assert w.shape == (5, heads, 3)
    assert torch.allclose(w.sum(-1), torch.ones(5, heads))
    assert (w > 0).all()
    # each head's slice is unit length
    norms = emb.reshape(5, heads, -1).norm(dim=-1)
    assert torch.allclose(norms, torch.ones_like(norms), atol=1e-6)


def test_mean_fusion_equals_laff_with_uniform_weights() -> None:
    torch.manual_seed(0)
    laff = LaffFusion([7, 11, 3], heads=2, dim=8, dropout=0.0).eval()
    mean = MeanFusion([7, 11, 3], heads=2, dim=8, dropout=0.0).eval()
    mean.transform.load_state_dict(laff.transform.state_dict())
    with torch.no_grad():
        laff.att_weight.zero_()  # equal logits -> softmax gives 1/k
        laff.att_bias.zero_()
    e_laff, w_laff = laff(_feats())
    e_mean, w_mean = mean(_feats())
    assert torch.allclose(w_laff, torch.full_like(w_laff, 1 / 3))
    assert torch.allclose(w_mean, w_laff)
    assert torch.allclose(e_laff, e_mean, atol=1e-6)


def test_multihead_similarity_is_scaled_dot_of_normalised_heads() -> None:
    g = torch.Generator().manual_seed(1)
    heads = 4
    t = head_normalize(torch.randn(6, 32, generator=g), heads)
    v = head_normalize(torch.randn(9, 32, generator=g), heads)
    per_head = torch.stack(
        [
            torch.nn.functional.cosine_similarity(
                t.reshape(6, heads, -1)[:, h, None, :],
                v.reshape(9, heads, -1)[None, :, h, :],
                dim=-1,
            )
            for h in range(heads)
        ]
    ).mean(0)
    assert torch.allclose(multihead_similarity(t, v, heads), per_head, atol=1e-6)
    assert torch.allclose(t @ v.T / heads, per_head, atol=1e-6)


def test_masked_frames_get_zero_weight() -> None:
    torch.manual_seed(0)
    block = FrameLaff(4)
    values = torch.randn(6, 4)
    offsets = torch.tensor([0, 1, 4, 4, 6])  # 1, 3, 0 and 2 frames
    fused, w = block(values, offsets)
    assert w.shape == (4, 3)
    assert torch.equal(w[0, 1:], torch.zeros(2))
    assert torch.equal(w[3, 2:], torch.zeros(1))
    assert torch.equal(w[2], torch.zeros(3))  # no frames: zero weights, zero feature
    assert torch.equal(fused[2], torch.zeros(4))
    for row, n in ((0, 1), (1, 3), (3, 2)):
        assert torch.allclose(w[row, :n].sum(), torch.tensor(1.0))
    # padding does not change the result: a row alone equals the row in a batch
    alone, _ = block(values[1:4], torch.tensor([0, 3]))
    assert torch.allclose(alone[0], fused[1], atol=1e-6)


def test_frame_offsets_may_be_absolute() -> None:
    torch.manual_seed(0)
    block = FrameLaff(3)
    values = torch.randn(5, 3)
    a, _ = block(values, torch.tensor([0, 2, 5]))
    b, _ = block(values, torch.tensor([10, 12, 15]))
    assert torch.allclose(a, b)


@pytest.mark.parametrize("cls", [MhsaFusion, ConcatFusion])
def test_baselines_give_per_head_unit_embeddings(cls: type) -> None:
    torch.manual_seed(0)
    block = cls([7, 11, 3], heads=2, dim=8, dropout=0.0).eval()
    emb, w = block(_feats())
    assert w is None
    assert emb.shape == (5, 8)
    assert torch.allclose(emb.reshape(5, 2, 4).norm(dim=-1), torch.ones(5, 2), atol=1e-6)
