"""The simulated collection behind `avs synth`: a V3C-like world with known truth.

Modules: ``vocab`` (concepts from topic texts), ``world`` (topics, videos, which
concepts each shot shows, planted relevant shots), ``extractors`` (simulated video
features), ``captions`` (MSR-VTT-like training captions), ``judgements`` (NIST-style
pooled and sampled qrels) and ``collection`` (the streaming writer).

Everything it writes is marked simulated; see docs/design.md for the layout.
"""

from avs.synth.collection import make_collection, synthesize

__all__ = ["make_collection", "synthesize"]
