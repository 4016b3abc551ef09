"""Bag of words over the training vocabulary (W2VV++'s BoW text feature)."""

from __future__ import annotations

from typing import Any

import torch

from avs.errors import AvsError
from avs.text.base import TextEncoder, Vocabulary

# Function words carry no visual content; dropping them keeps the vector about concepts.
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "with",
        "by",
        "from",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "there",
        "their",
        "his",
        "her",
        "he",
        "she",
        "they",
        "them",
        "one",
        "some",
        "any",
        "as",
        "into",
        "onto",
        "over",
        "while",
        "who",
        "which",
        "what",
        "where",
        "when",
        "than",
        "then",
        "there's",
        "it's",
    ]
)


class BowEncoder(TextEncoder):
    """Word counts over words seen ``min_count`` times in training captions, stop words removed.

    ``prepare`` returns padded word ids (cheap to cache); ``forward`` turns them into counts."""

    kind = "bow"

    def __init__(self, name: str, min_count: int = 2, words: list[str] | None = None) -> None:
        super().__init__(name)
        self.min_count = min_count
        self.vocab = Vocabulary(words or [])
        self.dim = len(self.vocab)

    def fit(self, texts: list[str]) -> None:
        self.vocab = Vocabulary.build(texts, self.min_count, STOP_WORDS)
        self.dim = len(self.vocab)
        if self.dim == 0:
            raise AvsError(
                f"text feature {self.name!r}: empty vocabulary (no word occurs {self.min_count} "
                f"times in {len(texts)} training captions); lower the count threshold or add captions"
            )

    def state(self) -> dict[str, Any]:
        return {**super().state(), "min_count": self.min_count, "words": self.vocab.words}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> BowEncoder:
        return cls(state["name"], int(state["min_count"]), list(state["words"]))

    def prepare(self, texts: list[str], keys: list[str] | None = None) -> torch.Tensor:
        return self.vocab.ids(texts)

    def forward(self, prepared: torch.Tensor) -> torch.Tensor:
        counts = torch.zeros(
            (prepared.shape[0], self.dim + 1), dtype=torch.float32, device=prepared.device
        )
        counts.scatter_add_(1, prepared, torch.ones_like(prepared, dtype=torch.float32))
        return counts[:, 1:]  # column 0 collected the padding

    def known(self, texts: list[str]) -> list[bool]:
        return self.vocab.known(texts)
