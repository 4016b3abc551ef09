"""Runs as fusion, conversion and submission take them: any kind ``avs eval`` reads.

A run is named by its path; one run of a submission XML holding several is named
``FILE.xml#RUNID`` (the NIST run id ``avs eval`` prints, e.g.
``sub.xml#F_M_C_D_TEAM.21_1``). An argument ``MODEL=PATH`` also says which model the run
comes from (for ``avs fuse-learn`` and recipes), overriding the run's metadata.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from avs.errors import AvsError
from avs.eval.runs import LoadedRun, load_run_address, split_run_address

__all__ = [
    "FusionInput",
    "distinct_ranking",
    "load_input",
    "load_inputs",
    "load_run_spec",
    "model_name",
    "sha256_file",
]


def load_run_spec(spec: str | Path) -> LoadedRun:
    """The one run ``spec`` names (see the module docstring).

    An XML file with several runs needs ``#RUNID``; an unknown run id is an error that
    lists the ids the file holds."""
    runs = load_run_address(spec)
    if len(runs) > 1:
        path = split_run_address(spec)[0]
        ids = ", ".join(r.name for r in runs)
        raise AvsError(
            f"{path}: holds {len(runs)} runs ({ids}); name one as {path}#RUNID "
            f"(e.g. {path}#{runs[0].name})"
        )
    return runs[0]


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (recorded so a fused run names exactly its inputs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_name(run: LoadedRun) -> str | None:
    """The model a run comes from: the last part of its ``model`` metadata
    (``models/demo`` -> ``demo``), or None when the run does not say (TREC, XML)."""
    model = run.meta.get("model")
    if isinstance(model, str) and model.strip():
        return Path(model.rstrip("/")).name or model
    return None


@dataclass(frozen=True)
class FusionInput:
    """One input run with what the fused run's metadata records about it."""

    spec: str  # the argument as given (path, or FILE.xml#RUNID)
    run: LoadedRun
    sha256: str
    model: str | None  # MODEL= override, else from the run's metadata

    @property
    def name(self) -> str:
        """The run's name (Parquet run_name, TREC file name, XML run id)."""
        return self.run.name

    @property
    def label(self) -> str:
        """How messages name this input."""
        return self.spec

    def record(self) -> dict:
        """The input as recorded in a fused run's metadata."""
        entry = {
            "path": str(self.spec),
            "sha256": self.sha256,
            "run_name": self.run.name,
            "kind": self.run.kind,
            "model": self.model,
            "model_fingerprint": self.run.meta.get("model_fingerprint"),
            "year": self.run.year,
            "provenance": self.run.provenance,
        }
        return {k: v for k, v in entry.items() if v is not None}


def _split_model(arg: str) -> tuple[str | None, str]:
    """``"A=runs/a.parquet"`` -> ("A", "runs/a.parquet"); a plain path -> (None, path)."""
    name, sep, rest = arg.partition("=")
    if sep and rest and name and "/" not in name and not Path(arg).exists():
        return name, rest
    return None, arg


def load_input(arg: str | Path) -> FusionInput:
    """Load one ``[MODEL=]PATH[#RUNID]`` argument."""
    override, spec = _split_model(str(arg))
    run = load_run_spec(spec)
    if not any(run.topics.values()):
        raise AvsError(f"{spec}: empty run (no ranked shots)")
    path, _ = split_run_address(spec)
    return FusionInput(spec, run, sha256_file(path), override or model_name(run))


def load_inputs(args: Sequence[str | Path]) -> list[FusionInput]:
    """Load every argument; at least one is needed."""
    if not args:
        raise AvsError("no runs given")
    return [load_input(a) for a in args]


def distinct_ranking(records: Sequence[tuple[str, float]]) -> tuple[np.ndarray, np.ndarray]:
    """(shots, scores) of one topic's records as ``avs eval`` ranks them: a shot listed
    twice is one shot with the later record's score; order by the tie rule.

    Shots come back as a numpy string array (sorting and set operations on it are much
    faster than on Python objects)."""
    if not len(records):
        return np.zeros(0, dtype="U1"), np.zeros(0)
    names = [r[0] for r in records]
    shots = np.array(names, dtype=str)
    scores = np.array([r[1] for r in records], dtype=np.float64)
    if len(set(names)) == len(names) and _in_tie_order(shots, scores):
        return shots, scores  # the usual case (avs writes runs so): nothing to do
    unique, inverse = np.unique(shots, return_inverse=True)
    if len(unique) < len(shots):
        last = np.full(len(unique), -1)
        np.maximum.at(last, inverse, np.arange(len(shots)))  # the later record wins
        shots, scores, inverse = unique, scores[last], np.arange(len(unique))
    # the tie rule (avs.ties) with the shot ids' sorted positions as the second key
    order = np.lexsort((-inverse, -scores))
    return shots[order], scores[order]


def _in_tie_order(shots: np.ndarray, scores: np.ndarray) -> bool:
    """True if distinct ``shots`` already follow the tie rule."""
    if not np.all(scores[:-1] >= scores[1:]):
        return False
    tied = scores[:-1] == scores[1:]
    return bool(np.all(shots[:-1][tied] > shots[1:][tied]))
