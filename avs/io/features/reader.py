"""The reader interface every feature store offers (HDF5 file, BigFile directories).

Storage-independent: row ranges, shards, blocks and id lookups are written once here
on top of ``read``/``read_rows``, which each store provides.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError, short

__all__ = ["FeatureReader"]


class FeatureReader:
    """What every feature store offers; subclasses provide the storage.

    Attributes: ``path``, ``ids`` (list[str]), ``n``, ``names`` (extractors),
    ``dims`` ({name: D}), ``dtypes`` ({name: "float16" | "float32"}), ``simulated``,
    ``attrs`` (root attributes), ``frame_names``."""

    path: Path
    names: list[str]
    dims: dict[str, int]
    dtypes: dict[str, str]
    simulated: bool
    attrs: dict[str, Any]
    frame_names: list[str]
    n: int

    _row: dict[str, int] | None = None

    @property
    def ids(self) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` of extractor ``name`` as float32 (rows, D)."""
        raise NotImplementedError  # pragma: no cover

    def read_rows(self, name: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The given rows (any order, repeats allowed) as float32 (len(rows), D)."""
        raise NotImplementedError  # pragma: no cover

    def has_frames(self, name: str) -> bool:
        """True if extractor ``name`` has frame-level features."""
        return name in self.frame_names

    def read_frames(
        self, name: str, start: int = 0, stop: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Frames of rows ``start:stop``: (values float32 (M, D), offsets int64 (rows+1,))
        with offsets rebased to 0, so row ``start+i`` has values[offsets[i]:offsets[i+1]]."""
        raise AvsError(f"{self.path}: no frame-level features for {name!r}")

    def frame_dim(self, name: str) -> int:
        """Dimension of the frame-level features of ``name``."""
        raise AvsError(f"{self.path}: no frame-level features for {name!r}")

    def frame_count(self, name: str) -> int:
        """Number of frame-level rows (all rows together) of ``name``."""
        raise AvsError(f"{self.path}: no frame-level features for {name!r}")

    def _check_name(self, name: str) -> None:
        if name not in self.dims:
            have = ", ".join(self.names) or "none"
            raise AvsError(f"{self.path}: no extractor {name!r} (has: {have})")

    def _range(self, start: int, stop: int | None) -> tuple[int, int]:
        stop = self.n if stop is None else int(stop)
        start = int(start)
        if not 0 <= start <= stop <= self.n:
            raise AvsError(f"{self.path}: row range {start}:{stop} outside 0:{self.n}")
        return start, stop

    def shard_range(self, shard: tuple[int, int] | None = None) -> tuple[int, int]:
        """Rows ``[start, stop)`` of shard ``(nsplit, rank)``: contiguous, sizes differ
        by at most one, and together they cover every row once."""
        if shard is None:
            return 0, self.n
        nsplit, rank = shard
        if nsplit < 1 or not 0 <= rank < nsplit:
            raise AvsError(f"bad shard {shard}: need (nsplit >= 1, 0 <= rank < nsplit)")
        return self.n * rank // nsplit, self.n * (rank + 1) // nsplit

    def iter_blocks(
        self, name: str, block_rows: int, shard: tuple[int, int] | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(start, block)`` pairs covering extractor ``name`` (or shard
        ``(nsplit, rank)`` of it) in row order; ``block`` is float32 (<= block_rows, D)
        and holds rows ``start:start+len(block)``. Memory stays bounded by one block."""
        self._check_name(name)
        if block_rows < 1:
            raise AvsError(f"block_rows must be at least 1, got {block_rows}")
        lo, hi = self.shard_range(shard)
        for start in range(lo, hi, block_rows):
            yield start, self.read(name, start, min(start + block_rows, hi))

    def row_of(self, ids: Sequence[str]) -> np.ndarray:
        """Row numbers (int64) of the given ids; an unknown id is an :class:`AvsError`."""
        if self._row is None:
            self._row = {id_: i for i, id_ in enumerate(self.ids)}
        row = self._row
        try:
            return np.fromiter((row[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as err:
            raise AvsError(f"{self.path}: id {short(str(err.args[0]))} not in the store") from None

    def close(self) -> None:
        """Release the underlying files."""

    def __enter__(self) -> FeatureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        return f"{type(self).__name__}({str(self.path)!r}, n={self.n}, {dims})"
