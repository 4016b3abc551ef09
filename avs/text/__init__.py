"""Text encoders: each turns a list of texts into one fixed-size feature per text.

Every encoder works in two steps so training can cache the expensive, frozen part:
``prepare(texts) -> Tensor`` (token ids, or frozen sentence embeddings) and
``forward(prepared) -> Tensor (B, dim)`` (cheap, possibly trainable). Encoders with a
vocabulary are fitted on the training captions and carry it in ``state()``, which is
saved in the model's config.json, so captions and topics are encoded identically.
"""

from avs.text.base import TextEncoder, build_encoder, encoder_from_state, tokenize

__all__ = ["TextEncoder", "build_encoder", "encoder_from_state", "tokenize"]
