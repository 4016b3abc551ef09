"""A trainable GRU over word embeddings, mean-pooled over the words (as in W2VV++)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from avs.errors import AvsError
from avs.text.base import TextEncoder, Vocabulary


class GruEncoder(TextEncoder):
    """Embedding -> unidirectional GRU -> mean over the text's words -> (B, hidden).

    Unidirectional so right padding never reaches a real word's state (no packing needed)."""

    kind = "gru"

    def __init__(
        self,
        name: str,
        min_count: int = 1,
        word_dim: int = 300,
        hidden: int = 512,
        words: list[str] | None = None,
    ) -> None:
        super().__init__(name)
        self.min_count = min_count
        self.word_dim = word_dim
        self.hidden = hidden
        self.dim = hidden
        self._build(Vocabulary(words or []))

    def _build(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.embed = nn.Embedding(len(vocab) + 1, self.word_dim, padding_idx=0)
        self.rnn = nn.GRU(self.word_dim, self.hidden, batch_first=True)

    def fit(self, texts: list[str]) -> None:
        vocab = Vocabulary.build(texts, self.min_count)
        if len(vocab) == 0:
            raise AvsError(
                f"text feature {self.name!r}: empty vocabulary from {len(texts)} training captions"
            )
        self._build(vocab)

    def state(self) -> dict[str, Any]:
        return {
            **super().state(),
            "min_count": self.min_count,
            "word_dim": self.word_dim,
            "hidden": self.hidden,
            "words": self.vocab.words,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> GruEncoder:
        return cls(
            state["name"],
            int(state["min_count"]),
            int(state["word_dim"]),
            int(state["hidden"]),
            list(state["words"]),
        )

    def prepare(self, texts: list[str], keys: list[str] | None = None) -> torch.Tensor:
        return self.vocab.ids(texts)

    def forward(self, prepared: torch.Tensor) -> torch.Tensor:
        mask = (prepared > 0).unsqueeze(-1).float()
        out, _ = self.rnn(self.embed(prepared))
        # A text with no known word has no states to average: it maps to zeros.
        return (out * mask).sum(1) / mask.sum(1).clamp(min=1.0)

    def known(self, texts: list[str]) -> list[bool]:
        return self.vocab.known(texts)
