"""The library call behind ``avs fuse``: runs of any kind -> one fused Parquet run.

Topics are matched as ``avs eval`` matches them (qrels ids: 701 and 1701 are the same
topic). The fused run covers the union of the inputs' topics; a run lacking some of
them is named in a warning and adds nothing to those topics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs import __version__
from avs.errors import AvsError
from avs.fusion.inputs import FusionInput, distinct_ranking, load_inputs, sha256_file
from avs.fusion.methods import (
    DEFAULT_RRF_K,
    Ranking,
    check_method,
    fuse_topic,
)
from avs.io.records import avs_topic

__all__ = ["FusionSpec", "FuseResult", "fuse_files", "fuse_inputs", "missing_topics", "rankings"]

DEFAULT_METHOD = "combsum"  # with min-max normalisation: docs/fusion.md says why


@dataclass(frozen=True)
class FusionSpec:
    """How to fuse: method, normalisation, one weight per input (None: equal)."""

    method: str = DEFAULT_METHOD
    norm: str | None = None  # None: the method's default (minmax; none for rrf/borda)
    weights: tuple[float, ...] | None = None
    rrf_k: float = DEFAULT_RRF_K
    k: int = 1000

    def resolved(self, n_runs: int) -> tuple[str, np.ndarray]:
        """(normalisation, weights) after checking them against ``n_runs`` inputs."""
        norm = check_method(self.method, self.norm)
        if self.k < 1:
            raise AvsError(f"--k must be at least 1, got {self.k}")
        if self.rrf_k < 0 and self.method == "rrf":
            raise AvsError(f"--rrf-k must not be negative, got {self.rrf_k}")
        if self.weights is None:
            if self.method == "wsum":
                raise AvsError("wsum needs --weights (one per run) or --recipe")
            return norm, np.ones(n_runs)
        if self.method == "combsum":
            raise AvsError("combsum takes no weights: use --method wsum with --weights")
        weights = np.asarray(self.weights, dtype=np.float64)
        if len(weights) != n_runs:
            raise AvsError(f"--weights: {len(weights)} weight(s) for {n_runs} run(s)")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
            raise AvsError(
                "--weights must be finite, not negative and not all 0, got "
                + ",".join(f"{w:g}" for w in weights)
            )
        return norm, weights


@dataclass(frozen=True)
class FuseResult:
    """What :func:`fuse_files` wrote."""

    path: Path
    topics: int
    shots: int  # ranked shots over all topics
    meta: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def topic_key(topic: str) -> tuple[int, int | str]:
    """Sort key for topic ids: numeric ids in numeric order, others after them."""
    return (0, int(topic)) if topic.isdigit() else (1, topic)


def rankings(inputs: Sequence[FusionInput]) -> tuple[list[str], list[dict[str, Ranking]]]:
    """(union of the topics in numeric order, each input's distinct ranking per topic)."""
    per_input = [
        {topic: distinct_ranking(records) for topic, records in inp.run.topics.items()}
        for inp in inputs
    ]
    topics = sorted({t for r in per_input for t in r}, key=topic_key)
    return topics, per_input


def missing_topics(
    inputs: Sequence[FusionInput], topics: Sequence[str], per_input: Sequence[dict]
) -> list[str]:
    """One warning per input that lacks some of ``topics``, naming them."""
    warnings = []
    for inp, ranked in zip(inputs, per_input, strict=True):
        lacking = [t for t in topics if t not in ranked]
        if lacking:
            warnings.append(
                f"{inp.label} lacks {len(lacking)} of the {len(topics)} topics: "
                f"{', '.join(lacking)} (fused from the other runs there)"
            )
    return warnings


def fuse_inputs(
    inputs: Sequence[FusionInput], spec: FusionSpec
) -> tuple[dict[str, Ranking], list[str]]:
    """Fuse loaded inputs: (qrels topic id -> top-k (shots, float32 scores), warnings)."""
    norm, weights = spec.resolved(len(inputs))
    topics, per_input = rankings(inputs)
    warnings = missing_topics(inputs, topics, per_input)
    fused = {
        topic: fuse_topic(
            [r.get(topic) for r in per_input],
            weights,
            spec.method,
            norm,
            rrf_k=spec.rrf_k,
            k=spec.k,
        )
        for topic in topics
    }
    return fused, warnings


def _common(values: list[Any]) -> Any:
    """The value every input agrees on, else None."""
    distinct = {v for v in values if v is not None}
    return distinct.pop() if len(distinct) == 1 and None not in values else None


def summed_elapsed(inputs: Sequence[FusionInput], topics: Sequence[str]) -> dict[str, float]:
    """Per AVS topic, the sum of the inputs' recorded seconds: a fused run costs all of
    its inputs (fusing itself takes milliseconds). Empty unless every input records a
    time for every topic: then ``avs submit`` asks for ``--elapsed``."""
    out: dict[str, float] = {}
    for topic in topics:
        try:
            number = str(avs_topic(topic))
        except ValueError:  # not a TRECVID id: write_fused says so
            return {}
        values = [inp.run.meta.get("elapsed", {}).get(number) for inp in inputs]
        if any(v is None for v in values):
            return {}
        out[number] = float(sum(values))
    return out


def fused_meta(
    inputs: Sequence[FusionInput],
    spec: FusionSpec,
    *,
    name: str,
    topics: Sequence[str] = (),
    recipe: Path | None = None,
) -> dict[str, Any]:
    """The fused run's metadata: every input, the method, normalisation, weights, recipe,
    and the summed elapsed times when every input records them."""
    norm, weights = spec.resolved(len(inputs))
    runs = [inp.run for inp in inputs]
    meta: dict[str, Any] = {
        "run_name": name,
        "fusion": {
            "method": spec.method,
            "norm": norm,
            "weights": [float(w) for w in weights],
            "rrf_k": spec.rrf_k if spec.method == "rrf" else None,
            "models": [inp.model for inp in inputs],
            "recipe": None
            if recipe is None
            else {"path": str(recipe), "sha256": sha256_file(recipe)},
        },
        "inputs": [inp.record() for inp in inputs],
        # A fused run is simulated when any input is; unknown provenance stays visible
        # per input in "inputs".
        "simulated": any(r.simulated for r in runs),
        "year": _common([r.year for r in runs]),
        "collection": _common([r.meta.get("collection") for r in runs]),
        "k": spec.k,
        "elapsed": summed_elapsed(inputs, topics) or None,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "avs_version": __version__,
    }
    return {k: v for k, v in meta.items() if v is not None}


def write_fused(
    out: Path, fused: dict[str, Ranking], meta: dict[str, Any], *, overwrite: bool
) -> int:
    """Write the fused topics as a Parquet run; returns the number of ranked shots."""
    from avs.io.runs import write_run  # pyarrow only when writing

    if out.exists() and not overwrite:
        raise AvsError(f"{out}: exists; pass --overwrite to replace it")
    try:
        numbers = {t: avs_topic(t) for t in fused}
    except ValueError as err:
        raise AvsError(f"cannot write a Parquet run: {err} (expected ids like 1701)") from None
    topic, rank, shot, score = [], [], [], []
    for t, (shots, scores) in fused.items():
        topic.append(np.full(len(shots), numbers[t]))
        rank.append(np.arange(1, len(shots) + 1))
        shot.append(shots)
        score.append(scores)
    total = sum(len(s) for s in shot)
    if total == 0:
        raise AvsError("nothing to write: the fused run ranks no shot")
    write_run(
        out,
        np.concatenate(topic),
        np.concatenate(rank),
        np.concatenate(shot),
        np.concatenate(score),
        meta,
    )
    return total


def fuse_files(
    runs: Sequence[str | Path],
    out: str | Path,
    *,
    method: str | None = None,
    norm: str | None = None,
    weights: Sequence[float] | None = None,
    rrf_k: float = DEFAULT_RRF_K,
    k: int = 1000,
    recipe: str | Path | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> FuseResult:
    """``avs fuse``: read ``runs`` (``[MODEL=]PATH[#RUNID]``), fuse, write ``out``.

    With ``recipe``, method, normalisation and weights come from the recipe, matched to
    the runs by model (:mod:`avs.fusion.recipe`); giving them as well is an error."""
    out = Path(out)
    if out.exists() and not overwrite:  # before reading anything
        raise AvsError(f"{out}: exists; pass --overwrite to replace it")
    recipe_path = None if recipe is None else Path(recipe)
    spec = None
    if recipe_path is None:
        spec = FusionSpec(
            method=method or DEFAULT_METHOD,
            norm=norm,
            weights=None if weights is None else tuple(float(w) for w in weights),
            rrf_k=rrf_k,
            k=k,
        )
        spec.resolved(len(runs))  # option errors before the (slower) reading of runs
    elif method is not None or norm is not None or weights is not None:
        raise AvsError("--recipe sets method, normalisation and weights; give none of them")
    else:
        from avs.fusion.recipe import read_recipe

        recipe_read = read_recipe(recipe_path)
    inputs = load_inputs(runs)
    if spec is None:
        spec = recipe_read.spec_for(inputs, k=k)
    fused, warnings = fuse_inputs(inputs, spec)
    name = name or out.name.removesuffix(".parquet")
    meta = fused_meta(inputs, spec, name=name, topics=list(fused), recipe=recipe_path)
    total = write_fused(out, fused, meta, overwrite=overwrite)
    return FuseResult(out, len(fused), total, meta, warnings)
