"""Per-shard partial results of one ``avs score`` run, kept for ``--resume``.

Layout: ``runs/.NAME.partial/job.json`` (the job's signature: what must match for old
results to be reused) and ``shard-XXXXX.npz`` (``scores``, ``rows``, ``seconds``; never
pickle), each written under a temporary name and renamed. The directory is deleted when the
run is written.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError
from avs.io.atomic import atomic_open, write_text_atomic
from avs.io.textfile import check_regular, read_json
from avs.search.merge import TopK

__all__ = ["CheckpointStore", "partial_dir"]


def partial_dir(runs_dir: Path, name: str) -> Path:
    """Where per-shard partial results of run ``name`` are kept until it finishes."""
    return runs_dir / f".{name}.partial"


class CheckpointStore:
    """The partial results of one job, identified by ``signature`` (a JSON-able dict)."""

    def __init__(self, directory: Path, signature: dict[str, Any]) -> None:
        self.directory = directory
        self.signature = signature

    def _file(self, shard: int) -> Path:
        return self.directory / f"shard-{shard:05d}.npz"

    def start(
        self,
        resume: bool,
        widths: list[int],
        topics: int,
        spans: list[tuple[int, int]] | None = None,
    ) -> dict[int, tuple[TopK, float]]:
        """Open the store for this job and return what can be reused: shard -> (partial
        top-k, seconds). Without ``resume`` old results are deleted; with it, results of a
        different job are refused and unreadable or wrongly shaped shards are scored again.
        ``widths[i]`` is the number of columns shard ``i``'s result must have; ``spans[i]``
        (when given) the global rows ``[start, stop)`` its rows must lie in. A result with
        NaN/Inf scores or rows out of its shard (a damaged file) is scored again."""
        done: dict[int, tuple[TopK, float]] = {}
        if resume and (self.directory / "job.json").is_file():
            try:
                old = read_json(self.directory / "job.json", "checkpoint job")
            except AvsError:  # damaged: reported below as a different job
                old = {}
            if not isinstance(old, dict) or old != self.signature:
                old = old if isinstance(old, dict) else {}
                diff = sorted(k for k in self.signature if old.get(k) != self.signature[k])
                raise AvsError(
                    f"--resume: partial results in {self.directory} belong to a different job "
                    f"({', '.join(diff)} differ); run without --resume to start over"
                )
            for i, width in enumerate(widths):
                loaded = self._load(self._file(i))
                if loaded is not None and _plausible(loaded[0], topics, width, spans, i):
                    done[i] = loaded
        else:
            shutil.rmtree(self.directory, ignore_errors=True)
        self.directory.mkdir(parents=True, exist_ok=True)
        write_text_atomic(self.directory / "job.json", json.dumps(self.signature, indent=2))
        return done

    def save(self, shard: int, part: TopK, seconds: float) -> None:
        """Keep shard ``shard``'s partial top-k (atomically)."""
        with atomic_open(self._file(shard), "wb") as fh:
            np.savez(fh, scores=part[0], rows=part[1], seconds=np.float64(seconds))

    def discard(self) -> None:
        """Delete every partial result (the run is written)."""
        shutil.rmtree(self.directory, ignore_errors=True)

    @staticmethod
    def _load(path: Path) -> tuple[TopK, float] | None:
        try:
            check_regular(path, "checkpoint")  # np.load would block on a FIFO
            with np.load(path, allow_pickle=False) as z:
                return (z["scores"], z["rows"]), float(z["seconds"])
        except (AvsError, OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None  # unreadable checkpoint: score that shard again


def _plausible(
    part: TopK, topics: int, width: int, spans: list[tuple[int, int]] | None, i: int
) -> bool:
    """A reusable partial result: its shape, finite scores, integer rows of its shard."""
    scores, rows = part
    if scores.shape != (topics, width) or rows.shape != (topics, width):
        return False
    if scores.dtype.kind != "f" or rows.dtype.kind not in "iu" or not np.isfinite(scores).all():
        return False
    if spans is None or rows.size == 0:
        return True
    start, stop = spans[i]
    return bool(rows.min() >= start and rows.max() < stop)
