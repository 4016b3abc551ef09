"""Text encoders: each turns a list of texts into one fixed-size feature per text.

Every encoder works in two steps so training can cache the expensive, frozen part:
``prepare(texts) -> Tensor`` (token ids, or frozen sentence embeddings) and
``forward(prepared) -> Tensor (B, dim)`` (cheap, possibly trainable). Encoders with a
vocabulary are fitted on the training captions and carry it in ``state()``, which is
saved in the model's config.json, so captions and topics are encoded identically.
"""

import os

# avs never reaches for a model hub (MiniLM's weights ship in its package). Hub libraries
# read these once, when first imported, so they are set here, before any encoder module
# can import one (issue #15).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from avs.text.base import TextEncoder, build_encoder, encoder_from_state, tokenize  # noqa: E402

__all__ = ["TextEncoder", "build_encoder", "encoder_from_state", "tokenize"]
