"""LaffConfig: everything needed to rebuild a model, saved as JSON in config.json."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs.errors import AvsError
from avs.io.textfile import read_json
from avs.resources import resource_dir

FUSIONS = ("laff", "laff-ml", "mean", "mhsa", "concat")
# Bump when a change makes old weights or configs mean something else.
MODEL_FORMAT_VERSION = 1


@dataclass
class LaffConfig:
    """A text-to-video model: which features enter each side and how they are fused."""

    # Video extractors, in order; their names in the feature store.
    video_features: list[str] = field(default_factory=list)
    # Input size of each video extractor, parallel to video_features.
    video_dims: list[int] = field(default_factory=list)
    # Text encoder specs ("bow", "gru", "minilm", "precomputed:F@PATH"), in order.
    text_features: list[str] = field(default_factory=list)
    # Output size of each text encoder, parallel to text_features (known after fitting).
    text_dims: list[int] = field(default_factory=list)
    # laff | laff-ml | mean | mhsa | concat (laff-ml: frame-level LAFF on the video side).
    fusion: str = "laff"
    # Number of heads h; each head is its own latent space, similarity = mean of h cosines.
    heads: int = 8
    # Total embedding size d = heads * d_head (paper: 4096 = 8 x 512).
    dim: int = 4096
    # Dropout after tanh in each per-feature transform (paper: 0.2).
    dropout: float = 0.2
    # Video features entering as frames (laff-ml only): fused over frames first.
    frame_features: list[str] = field(default_factory=list)
    # laff-ml only: "batch" adds a BatchNorm1d after each video-level transform, as the
    # released multi-level code does; "none" (default) keeps the plain LAFF transform.
    frame_norm: str = "none"
    # Features (either side) already in the target space: no Linear, only tanh (size must be dim).
    pass_through: list[str] = field(default_factory=list)
    # Heads of nn.MultiheadAttention in the mhsa baseline (must divide dim).
    mhsa_heads: int = 4
    # Bag-of-words count threshold: words seen fewer times in training captions are dropped.
    bow_min_count: int = 2
    # GRU encoder: count threshold, word-embedding size and hidden (= output) size.
    gru_min_count: int = 1
    gru_word_dim: int = 300
    gru_hidden: int = 512
    # Triplet margin of the hardest-negative loss (paper: 0.2).
    margin: float = 0.2

    @property
    def d_head(self) -> int:
        """Size of one head's embedding."""
        return self.dim // self.heads

    def check(self) -> None:
        """Raise AvsError listing every inconsistency at once."""
        problems = []
        if self.fusion not in FUSIONS:
            problems.append(f"fusion {self.fusion!r} is not one of {', '.join(FUSIONS)}")
        if self.heads < 1 or self.dim < 1 or self.dim % self.heads:
            problems.append(f"dim {self.dim} must be a positive multiple of heads {self.heads}")
        if not self.video_features:
            problems.append("no video features given")
        if not self.text_features:
            problems.append("no text features given")
        if len(self.video_dims) != len(self.video_features):
            problems.append("video_dims must list one size per video feature")
        if len(set(self.video_features)) != len(self.video_features):
            problems.append("a video feature is listed twice")
        if len(set(self.text_features)) != len(self.text_features):
            problems.append("a text feature is listed twice")
        extra = set(self.frame_features) - set(self.video_features)
        if extra:
            problems.append(f"frame features {sorted(extra)} are not video features")
        if self.frame_norm not in ("none", "batch"):
            problems.append(f"frame_norm {self.frame_norm!r} is not one of none, batch")
        if self.frame_norm == "batch" and self.fusion != "laff-ml":
            problems.append("--frame-norm batch is only used with --fusion laff-ml")
        if self.frame_features and self.fusion != "laff-ml":
            problems.append("frame features are only used with --fusion laff-ml")
        if self.fusion == "mhsa" and (self.dim % self.mhsa_heads):
            problems.append(f"mhsa_heads {self.mhsa_heads} must divide dim {self.dim}")
        if problems:
            raise AvsError("invalid model configuration: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LaffConfig:
        """Build from JSON, refusing unknown keys (they mean another avs version)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise AvsError(f"model config has unknown fields {unknown} (another avs version?)")
        return cls(**data)


#: Largest embedding size accepted (the paper's is 4096; beyond this a model is a typo).
MAX_DIM = 1 << 16
#: Training settings that must be positive integers, and their largest sensible value.
_INT_SETTINGS = {"heads": 1024, "dim": MAX_DIM, "epochs": 100_000, "batch_size": 1 << 20}


def check_train_settings(settings: dict[str, Any]) -> list[str]:
    """Problems with the numeric training settings (preset merged with the options), each
    naming its option: a NaN/Inf or negative learning rate trains a NaN model that still
    "succeeds", a zero batch size loops on nothing, a huge --dim exhausts memory."""
    import math

    problems = []
    for key, top in _INT_SETTINGS.items():
        value = settings.get(key)
        if value is None:
            continue
        if type(value) is not int or not 1 <= value <= top:
            problems.append(
                f"--{key.replace('_', '-')} must be an integer in 1..{top:,}, not {value!r}"
            )
    lr = settings.get("lr")
    if lr is not None and (
        isinstance(lr, bool)
        or not isinstance(lr, int | float)
        or not math.isfinite(lr)
        or not 0 < lr <= 1e3
    ):
        problems.append(f"--lr must be a finite number in (0, 1000], not {lr!r}")
    return problems


def load_preset(name: str) -> dict[str, Any]:
    """Training settings of the shipped preset ``laff-NAME.json`` (``paper``, ``demo``), or
    of a JSON file when ``name`` ends in ``.json``."""
    if name.endswith(".json"):
        path = Path(name)
        if not path.is_file():
            raise AvsError(f"--preset {name}: no such file")
    else:
        root = resource_dir("configs")
        path = root / f"laff-{name}.json"
        if not path.is_file():
            have = sorted(p.stem.removeprefix("laff-") for p in root.glob("laff-*.json"))
            raise AvsError(f"--preset: no preset {name!r} (have: {', '.join(have)})")
    try:
        data = read_json(path, "--preset")
    except AvsError as err:
        raise AvsError(f"--preset: {err}") from None
    if not isinstance(data, dict):
        raise AvsError(f"--preset {path}: expected a JSON object of settings")
    data.pop("_doc", None)
    return data
