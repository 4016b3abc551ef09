"""The text-encoder interface, tokenisation and the spec parser (``bow``, ``gru``, ...)."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import torch
from torch import nn

from avs.errors import AvsError

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens; the one tokeniser every vocabulary encoder uses."""
    return _TOKEN.findall(text.lower())


class TextEncoder(nn.Module):
    """One named text feature of fixed size ``dim``.

    Subclasses set ``kind``, ``dim`` and ``open_vocabulary`` (True when any text gets a
    meaningful feature, so no text is ever "unknown")."""

    kind: str = ""
    open_vocabulary: bool = False

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name
        self.dim = 0

    def fit(self, texts: list[str]) -> None:
        """Learn what the encoder needs from the training captions (default: nothing)."""

    def state(self) -> dict[str, Any]:
        """JSON-serialisable state (vocabulary, sizes) saved in the model's config.json."""
        return {"kind": self.kind, "name": self.name, "dim": self.dim}

    def prepare(self, texts: list[str], keys: list[str] | None = None) -> torch.Tensor:
        """The frozen, cacheable part of encoding (token ids or frozen embeddings)."""
        raise NotImplementedError

    def forward(self, prepared: torch.Tensor) -> torch.Tensor:  # noqa: D401
        """(B, dim) features from the output of :meth:`prepare`."""
        return prepared

    def known(self, texts: list[str]) -> list[bool]:
        """Whether each text has at least one token this encoder can represent."""
        return [True] * len(texts)


class Vocabulary:
    """Word -> id with 0 reserved for padding; unknown words are dropped."""

    def __init__(self, words: list[str]) -> None:
        self.words = list(words)
        self.index = {w: i + 1 for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(
        cls, texts: list[str], min_count: int, stop: frozenset[str] = frozenset()
    ) -> Vocabulary:
        """Words seen at least ``min_count`` times, most frequent first (ties: alphabetical)."""
        counts = Counter(t for text in texts for t in tokenize(text) if t not in stop)
        words = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(words)

    def ids(self, texts: list[str]) -> torch.Tensor:
        """(B, L) int64 ids, right-padded with 0; L >= 1 so an empty row is all padding."""
        rows = [[self.index[t] for t in tokenize(text) if t in self.index] for text in texts]
        width = max([1, *(len(r) for r in rows)])
        out = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            if r:
                out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
        return out

    def known(self, texts: list[str]) -> list[bool]:
        return [any(t in self.index for t in tokenize(text)) for text in texts]


def build_encoder(spec: str, options: dict[str, Any] | None = None) -> TextEncoder:
    """An unfitted encoder from a user spec: ``bow``, ``gru``, ``minilm`` or
    ``precomputed:FEATURE@PATH`` (features extracted elsewhere, e.g. CLIP text)."""
    options = options or {}
    kind = spec.split(":", 1)[0]
    if kind == "bow":
        from avs.text.bow import BowEncoder

        return BowEncoder(spec, min_count=int(options.get("bow_min_count", 2)))
    if kind == "gru":
        from avs.text.gru import GruEncoder

        return GruEncoder(
            spec,
            min_count=int(options.get("gru_min_count", 1)),
            word_dim=int(options.get("gru_word_dim", 300)),
            hidden=int(options.get("gru_hidden", 512)),
        )
    if kind == "minilm":
        from avs.text.minilm import MiniLMEncoder

        return MiniLMEncoder(spec)
    if kind == "precomputed":
        from avs.text.precomputed import PrecomputedEncoder

        feature, sep, path = spec.partition(":")[2].partition("@")
        if not sep or not feature or not path:
            raise AvsError(
                f"text feature {spec!r}: write precomputed features as precomputed:FEATURE@PATH "
                "(a feature store or BigFile whose ids are caption ids and topic numbers)"
            )
        return PrecomputedEncoder(spec, feature=feature, path=path)
    raise AvsError(
        f"unknown text feature {spec!r}: choose from bow, gru, minilm, precomputed:FEATURE@PATH"
    )


def encoder_from_state(state: dict[str, Any]) -> TextEncoder:
    """Rebuild a fitted encoder from :meth:`TextEncoder.state` (trainable weights come
    from the model's weights file afterwards)."""
    kind = state.get("kind")
    if kind == "bow":
        from avs.text.bow import BowEncoder

        return BowEncoder.from_state(state)
    if kind == "gru":
        from avs.text.gru import GruEncoder

        return GruEncoder.from_state(state)
    if kind == "minilm":
        from avs.text.minilm import MiniLMEncoder

        return MiniLMEncoder(state["name"])
    if kind == "precomputed":
        from avs.text.precomputed import PrecomputedEncoder

        return PrecomputedEncoder(state["name"], state["feature"], state["path"], dim=state["dim"])
    raise AvsError(f"text encoder state has unknown kind {kind!r}")
