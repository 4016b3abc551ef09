"""AvsModel: a video side and a text side mapping into the same multi-head space."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from avs.errors import AvsError
from avs.model.baselines import ConcatFusion, MeanFusion, MhsaFusion
from avs.model.config import LaffConfig
from avs.model.laff import FrameLaff, LaffFusion, multihead_similarity
from avs.text.base import TextEncoder

Frames = dict[str, tuple[torch.Tensor, torch.Tensor]]


def build_fusion(config: LaffConfig, fusion: str, names: list[str], dims: list[int]) -> nn.Module:
    """The fusion block ``fusion`` over features ``names`` of sizes ``dims``."""
    passing = [n in config.pass_through for n in names]
    for n, d, p in zip(names, dims, passing, strict=True):
        if p and d != config.dim:
            raise AvsError(
                f"pass-through feature {n!r} has size {d}, not the model dim {config.dim}"
            )
    if fusion in ("laff", "laff-ml"):
        # BatchNorm only on laff-ml's video side, where the released multi-level code has it.
        norm = fusion == "laff-ml" and config.frame_norm == "batch"
        return LaffFusion(dims, config.heads, config.dim, config.dropout, passing, batch_norm=norm)
    if fusion == "mean":
        return MeanFusion(dims, config.heads, config.dim, config.dropout, passing)
    if fusion == "mhsa":
        return MhsaFusion(
            dims, config.heads, config.dim, config.dropout, passing, config.mhsa_heads
        )
    if fusion == "concat":
        return ConcatFusion(dims, config.heads, config.dim, config.dropout)
    raise AvsError(f"unknown fusion {fusion!r}")


class AvsModel(nn.Module):
    """Text-to-video model. ``encode_video`` and ``encode_text`` return (B, dim) embeddings,
    L2-normalised per head, so ``similarity = (1 / heads) * text @ video.T``.

    The public ``encode_*`` methods are inference-only (no gradients); training goes
    through :meth:`video_embed` and :meth:`text_embed`."""

    def __init__(self, config: LaffConfig, encoders: list[TextEncoder]) -> None:
        super().__init__()
        config.check()
        if [e.name for e in encoders] != list(config.text_features):
            raise AvsError("text encoders do not match config.text_features")
        self.config = config
        self.fingerprint = ""  # set by save_model / load_model
        self.video_features = list(config.video_features)
        self.frame_features = list(config.frame_features)
        self.heads = config.heads
        self.dim = config.dim
        self.text_encoders = nn.ModuleList(encoders)
        self.frame_blocks = nn.ModuleList(
            [
                FrameLaff(config.video_dims[self.video_features.index(n)])
                for n in self.frame_features
            ]
        )
        self.video_fusion = build_fusion(
            config, config.fusion, self.video_features, list(config.video_dims)
        )
        text_fusion = "laff" if config.fusion == "laff-ml" else config.fusion
        self.text_fusion = build_fusion(
            config, text_fusion, list(config.text_features), [e.dim for e in encoders]
        )
        self.register_buffer("_anchor", torch.zeros(0), persistent=False)

    @property
    def device(self) -> torch.device:
        return self._anchor.device

    # ----- video side -------------------------------------------------------------
    def _video_inputs(
        self, features: dict[str, torch.Tensor], frames: Frames | None
    ) -> tuple[list[torch.Tensor], dict[str, torch.Tensor]]:
        frames = frames or {}
        problems, inputs, frame_weights = [], [], {}
        for name, dim in zip(self.video_features, self.config.video_dims, strict=True):
            if name in self.frame_features:
                if name not in frames:
                    problems.append(f"frame-level features of {name!r} are missing")
                    continue
                values, offsets = frames[name]
                values = torch.as_tensor(values, dtype=torch.float32, device=self.device)
                x = values
            elif name not in features:
                problems.append(f"video feature {name!r} is missing")
                continue
            else:
                x = torch.as_tensor(features[name], dtype=torch.float32, device=self.device)
            if x.ndim != 2 or x.shape[1] != dim:
                problems.append(
                    f"video feature {name!r} has shape {tuple(x.shape)}, model expects (*, {dim})"
                )
                continue
            if name in self.frame_features:
                block = self.frame_blocks[self.frame_features.index(name)]
                x, frame_weights[name] = block(x, torch.as_tensor(offsets, device=self.device))
            inputs.append(x)
        if problems:
            raise AvsError(f"model {self.fingerprint[:12] or '(unsaved)'}: " + "; ".join(problems))
        sizes = {x.shape[0] for x in inputs}
        if len(sizes) > 1:
            raise AvsError(f"video features have different row counts {sorted(sizes)}")
        return inputs, frame_weights

    def video_embed(
        self, features: dict[str, torch.Tensor], frames: Frames | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None, dict[str, torch.Tensor]]:
        """(embedding (B, dim), feature weights (B, heads, k) or None, frame weights per
        frame feature (B, T)); differentiable."""
        inputs, frame_weights = self._video_inputs(features, frames)
        emb, weights = self.video_fusion(inputs)
        return emb, weights, frame_weights

    @torch.no_grad()
    def encode_video(
        self, features: dict[str, torch.Tensor], frames: Frames | None = None
    ) -> torch.Tensor:
        """Shot embeddings (B, dim) from video-level features ``{name: (B, D_i)}`` and, for
        LAFF-ml models, frame features ``{name: (values (M, D), offsets (B+1,))}``."""
        return self.video_embed(features, frames)[0]

    # ----- text side --------------------------------------------------------------
    def prepare_text(self, texts: list[str], keys: list[str] | None = None) -> list[torch.Tensor]:
        """The frozen, cacheable encoder inputs of ``texts`` (one tensor per encoder, on CPU)."""
        return [enc.prepare(list(texts), keys) for enc in self.text_encoders]

    def text_embed(self, prepared: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(embedding (B, dim), text-feature weights (B, heads, k) or None); differentiable."""
        feats = [
            enc(p.to(self.device)) for enc, p in zip(self.text_encoders, prepared, strict=True)
        ]
        return self.text_fusion(feats)

    @torch.no_grad()
    def encode_text(self, texts: list[str], keys: list[str] | None = None) -> torch.Tensor:
        """Text embeddings (B, dim). ``keys`` (caption ids or topic numbers) are needed only
        by ``precomputed`` text features."""
        return self.text_embed(self.prepare_text(texts, keys))[0]

    def unknown_texts(self, texts: list[str]) -> list[int]:
        """Indices of texts that no text encoder can represent: none of their words is in
        any vocabulary. Always empty when an open-vocabulary encoder (minilm,
        precomputed) is part of the model."""
        if any(e.open_vocabulary for e in self.text_encoders):
            return []
        known = np.zeros(len(texts), dtype=bool)
        for enc in self.text_encoders:
            known |= np.array(enc.known(list(texts)), dtype=bool)
        return [i for i, k in enumerate(known) if not k]

    def similarity(self, text: torch.Tensor, video: torch.Tensor) -> torch.Tensor:
        """Mean of the per-head cosine similarities (Bt, Bv)."""
        return multihead_similarity(text, video, self.heads)
