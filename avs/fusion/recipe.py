"""Fusion recipes: the JSON file ``avs fuse-learn`` writes and ``avs fuse --recipe`` applies.

Example::

    {"format": "avs-fusion-recipe", "version": 1,
     "method": "wsum", "norm": "minmax", "rrf_k": 60,
     "weights": {"demo": 0.7, "demo2": 0.3},          # model name -> weight
     "learnt_on": {"years": ["2021"], "topics": {"2021": [661, ...]},
                   "qrels": {"2021": "collections/sim/qrels/2021.qrels"}, "runs": [...]},
     "figures": {"measure": "infAP", "in_sample": 0.31, "cross_validated": 0.30, ...},
     "simulated": true, "date": "...", "avs_version": "0.1.0"}

Runs are matched to weights by model name: the ``model`` in a run's metadata
(``models/demo`` -> ``demo``) or the ``MODEL=`` prefix of its argument.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from avs.errors import AvsError, FormatError
from avs.fusion.inputs import FusionInput
from avs.fusion.methods import DEFAULT_RRF_K, METHODS, NORMS, check_method

__all__ = ["FORMAT", "Recipe", "read_recipe", "write_recipe"]

FORMAT = "avs-fusion-recipe"
VERSION = 1


@dataclass(frozen=True)
class Recipe:
    """A fusion recipe: method, normalisation and one weight per model."""

    method: str
    norm: str
    weights: dict[str, float]  # model name -> weight, in the order runs are expected
    rrf_k: float = DEFAULT_RRF_K
    extra: dict[str, Any] = field(default_factory=dict)  # learnt_on, figures, simulated...

    def to_json(self) -> dict[str, Any]:
        """The recipe as the JSON object written to disk."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "method": self.method,
            "norm": self.norm,
            "rrf_k": self.rrf_k,
            "weights": dict(self.weights),
            **self.extra,
        }

    def spec_for(self, inputs: Sequence[FusionInput], *, k: int = 1000):
        """A :class:`~avs.fusion.fuse.FusionSpec` with one weight per input, by model.

        AvsError when an input's model is unknown or not in the recipe, when a model
        of the recipe has no input, or when two inputs come from the same model."""
        from avs.fusion.fuse import FusionSpec

        problems = []
        seen: dict[str, str] = {}
        for inp in inputs:
            if inp.model is None:
                problems.append(
                    f"{inp.label}: the run does not say which model it comes from; "
                    "write it as MODEL=PATH"
                )
            elif inp.model not in self.weights:
                problems.append(
                    f"{inp.label}: model {inp.model!r} is not in the recipe "
                    f"(its models: {', '.join(self.weights)})"
                )
            elif inp.model in seen:
                problems.append(
                    f"{inp.label}: model {inp.model!r} already given by {seen[inp.model]}"
                )
            else:
                seen[inp.model] = inp.label
        absent = [m for m in self.weights if m not in seen]
        if absent:
            given = ", ".join(sorted({i.model for i in inputs if i.model})) or "none"
            problems.append(
                f"the recipe names model(s) {', '.join(absent)} but no run given comes from "
                f"them (the runs' models: {given})"
            )
        if problems:
            raise AvsError("; ".join(problems))
        weights = tuple(self.weights[inp.model] for inp in inputs)  # type: ignore[index]
        # a recipe always carries weights: combsum with weights is wsum
        method = "wsum" if self.method == "combsum" else self.method
        return FusionSpec(method, self.norm, weights, self.rrf_k, k)


def write_recipe(path: str | Path, recipe: Recipe, *, overwrite: bool = False) -> Path:
    """Write ``recipe`` as JSON, atomically; an existing file needs ``overwrite``."""
    from avs.io.atomic import write_text_atomic

    path = Path(path)
    if path.exists() and not overwrite:
        raise AvsError(f"{path}: exists; pass --overwrite to replace it")
    write_text_atomic(path, json.dumps(recipe.to_json(), indent=2) + "\n")
    return path


def read_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe; FormatError naming the field at fault."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(path, "no such recipe file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FormatError(path, f"not a JSON recipe ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FormatError(path, f"not an avs fusion recipe (format must be {FORMAT!r})")
    if data.get("version") != VERSION:
        raise FormatError(path, f"unsupported version {data.get('version')!r}", field="version")
    method = data.get("method")
    if method not in METHODS:
        raise FormatError(path, f"must be one of {', '.join(METHODS)}", field="method")
    norm = data.get("norm")
    if norm not in NORMS:
        raise FormatError(path, f"must be one of {', '.join(NORMS)}", field="norm")
    try:
        norm = check_method(method, norm)
    except AvsError as err:
        raise FormatError(path, str(err).replace("--", ""), field="norm") from None
    rrf_k = data.get("rrf_k", DEFAULT_RRF_K)
    if not _number(rrf_k) or rrf_k < 0:
        raise FormatError(path, "must be a number >= 0", field="rrf_k")
    weights = data.get("weights")
    if not isinstance(weights, dict) or not weights:
        raise FormatError(path, "must map model names to weights", field="weights")
    for model, weight in weights.items():
        if not _number(weight) or weight < 0:
            raise FormatError(path, "must be a number >= 0", field=f"weights.{model}")
    if not any(w > 0 for w in weights.values()):
        raise FormatError(path, "at least one weight must be above 0", field="weights")
    known = {"format", "version", "method", "norm", "rrf_k", "weights"}
    extra = {k: v for k, v in data.items() if k not in known}
    return Recipe(method, norm, {str(m): float(w) for m, w in weights.items()}, rrf_k, extra)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
