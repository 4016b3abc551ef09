"""Stream a new HDF5 feature store to disk (layout: :mod:`avs.io.features.hdf5`)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from avs.errors import AvsError
from avs.io.atomic import disk_full_as_error, tmp_path_for
from avs.io.features.hdf5 import FORMAT, VERSION
from avs.io.features.ids import first_duplicate

__all__ = ["DTYPES", "FeatureStoreWriter"]

CHUNK_BYTES = 1 << 20
# The writer hands what it wrote to the disk and drops it from the page cache as it
# goes, CACHE_LAG bytes behind the end of the file (HDF5 reads back the last partial
# chunks), every CACHE_STEP bytes. A stream of many GB then neither fills memory with
# dirty pages nor leaves seconds of flushing to the final fsync, and the kernel keeps
# reusing the same cache pages: writing 10 GB took 2-4x less system CPU that way on a
# 2-core VM. Small stores never reach the lag.
CACHE_LAG = 128 << 20
CACHE_STEP = 64 << 20
DTYPES = ("float16", "float32")


def _chunk_rows(dim: int, itemsize: int, n: int) -> int:
    return max(1, min(max(n, 1), CHUNK_BYTES // max(1, dim * itemsize)))


class FeatureStoreWriter:
    """Stream a new HDF5 feature store to disk.

    ``FeatureStoreWriter(path, ids, dims, dtype="float16", frames=None, attrs=None)``:
    ``dims`` maps extractor -> D, ``frames`` maps extractor -> frame-level D, ``attrs``
    adds root attributes (``simulated``, ``collection``, ...). Use as a context
    manager: rows go to a temporary file renamed to ``path`` on successful exit and
    removed on an exception. Every row of every dataset must be written by then.
    Only one block is ever held in memory."""

    def __init__(
        self,
        path: str | Path,
        ids: Sequence[str],
        dims: dict[str, int],
        dtype: str = "float16",
        frames: dict[str, int] | None = None,
        attrs: dict[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise AvsError(f"{self.path}: is a directory; a feature store is one HDF5 file")
        if str(dtype) not in DTYPES and dtype not in (np.float16, np.float32):
            raise AvsError(f"feature dtype must be float16 or float32, got {dtype!r}")
        self.dtype = np.dtype(dtype)
        try:
            self._raw_ids = np.array([str(i).encode("ascii") for i in ids], dtype=bytes)
        except UnicodeEncodeError:
            bad = next(i for i in ids if not str(i).isascii())
            raise AvsError(f"{self.path}: ids must be ASCII, got {bad!r}") from None
        self.n = len(self._raw_ids)
        if first_duplicate(self._raw_ids) is not None:  # np.unique: ~10x slower at 1.5M ids
            raise AvsError(f"{self.path}: ids repeat; every row needs a unique id")
        if not self.n:
            self._raw_ids = np.zeros(0, dtype="S1")
        self.dims = {str(k): int(v) for k, v in dims.items()}
        self.frames = {str(k): int(v) for k, v in (frames or {}).items()}
        for name, d in {**self.dims, **self.frames}.items():
            if d <= 0 or not name or "/" in name:
                raise AvsError(f"bad extractor {name!r} with dimension {d}")
        self.attrs = {"format": FORMAT, "version": VERSION, "simulated": False, "collection": ""}
        self.attrs.update(attrs or {})
        self._f: h5py.File | None = None
        self._tmp: Path | None = None
        self._fd: int | None = None  # for dropping written data from the page cache
        self._released = 0
        self._written = {name: np.zeros(self.n, dtype=bool) for name in self.dims}
        self._next_frame_row = dict.fromkeys(self.frames, 0)

    def __enter__(self) -> FeatureStoreWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = tmp_path_for(self.path)
        try:
            # No chunk cache: every write reaches the file at once, so a full disk fails
            # in write() as OSError. With a cache the failure surfaces while h5py frees
            # objects (ignored) and closing the file can then crash the interpreter.
            f = self._f = h5py.File(self._tmp, "w", rdcc_nbytes=0)
            if hasattr(os, "posix_fadvise") and f.driver == "sec2":
                with contextlib.suppress(Exception):
                    self._fd = int(f.id.get_vfd_handle())
            for key, value in self.attrs.items():
                # HDF5 attributes hold scalars and strings; keep anything else as JSON
                ok = isinstance(value, (bool, int, float, str, np.generic))
                f.attrs[key] = value if ok else json.dumps(value)
            f.create_dataset("ids", data=self._raw_ids)
            group = f.create_group("features")
            for name, d in self.dims.items():
                rows = _chunk_rows(d, self.dtype.itemsize, self.n)
                group.create_dataset(
                    name, shape=(self.n, d), dtype=self.dtype, chunks=(rows, d) if self.n else None
                )
            fgroup = f.create_group("frames")
            for name, d in self.frames.items():
                g = fgroup.create_group(name)
                rows = _chunk_rows(d, self.dtype.itemsize, 1 << 30)
                g.create_dataset(
                    "values", shape=(0, d), maxshape=(None, d), dtype=self.dtype, chunks=(rows, d)
                )
                offsets = g.create_dataset("offsets", shape=(self.n + 1,), dtype=np.int64)
                offsets[0] = 0
        except BaseException:
            self._abort()
            raise
        return self

    def write(self, name: str, start: int, array: np.ndarray) -> None:
        """Write rows ``start:start+len(array)`` of extractor ``name`` (cast to the store dtype)."""
        f = self._open()
        if name not in self.dims:
            raise AvsError(
                f"{self.path}: no extractor {name!r} declared (have {', '.join(self.dims)})"
            )
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] != self.dims[name]:
            raise AvsError(
                f"{self.path}: {name!r} expects (rows, {self.dims[name]}), got {array.shape}"
            )
        stop = start + array.shape[0]
        if not 0 <= start <= stop <= self.n:
            raise AvsError(f"{self.path}: rows {start}:{stop} outside 0:{self.n}")
        with disk_full_as_error(self.path):
            f["features"][name][start:stop] = array.astype(self.dtype, copy=False)
        self._written[name][start:stop] = True
        self._release_cache()

    def write_frames(
        self, name: str, start_row: int, values: np.ndarray, counts: Sequence[int] | np.ndarray
    ) -> None:
        """Append frame-level features of rows ``start_row:start_row+len(counts)``;
        row ``start_row+i`` has ``counts[i]`` consecutive rows of ``values``. Rows must
        arrive in order (each call starts where the previous one stopped)."""
        f = self._open()
        if name not in self.frames:
            raise AvsError(f"{self.path}: no frame-level extractor {name!r} declared")
        if start_row != self._next_frame_row[name]:
            raise AvsError(
                f"{self.path}: frames of {name!r} must be written in row order: "
                f"expected start_row {self._next_frame_row[name]}, got {start_row}"
            )
        values = np.asarray(values)
        counts = np.asarray(counts, dtype=np.int64).reshape(-1)
        d = self.frames[name]
        if values.ndim != 2 or values.shape[1] != d:
            raise AvsError(f"{self.path}: frames of {name!r} expect (M, {d}), got {values.shape}")
        if (counts < 0).any() or int(counts.sum()) != values.shape[0]:
            raise AvsError(
                f"{self.path}: frame counts sum to {int(counts.sum())} but {values.shape[0]} values given"
            )
        stop_row = start_row + len(counts)
        if stop_row > self.n:
            raise AvsError(f"{self.path}: frame rows {start_row}:{stop_row} outside 0:{self.n}")
        grp = f["frames"][name]
        vds, ods = grp["values"], grp["offsets"]
        base = int(ods[start_row])
        with disk_full_as_error(self.path):
            vds.resize(base + values.shape[0], axis=0)
            vds[base:] = values.astype(self.dtype, copy=False)
            ods[start_row + 1 : stop_row + 1] = base + np.cumsum(counts)
        self._next_frame_row[name] = stop_row
        self._release_cache()

    def _release_cache(self) -> None:
        """Start writing out, and drop from the page cache, all but the last
        CACHE_LAG bytes of the file (see CACHE_LAG). Only an optimisation: errors are
        ignored here (a real write error still surfaces in write() or at close)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            upto = os.fstat(self._fd).st_size - CACHE_LAG
            if upto - self._released >= CACHE_STEP:
                os.posix_fadvise(self._fd, 0, upto, os.POSIX_FADV_DONTNEED)
                self._released = upto

    def _open(self) -> h5py.File:
        if self._f is None:
            raise RuntimeError("FeatureStoreWriter used outside its with-block")
        return self._f

    def _abort(self) -> None:
        self._fd = None
        if self._f is not None:
            with contextlib.suppress(Exception):
                self._f.close()
            self._f = None
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            for name, done in self._written.items():
                missing = np.flatnonzero(~done)
                if missing.size:
                    raise AvsError(
                        f"{self.path}: {missing.size} rows of {name!r} never written (first: row {missing[0]})"
                    )
            for name, row in self._next_frame_row.items():
                if row != self.n:
                    raise AvsError(
                        f"{self.path}: frames of {name!r} written for {row} of {self.n} rows"
                    )
            f = self._open()
            with disk_full_as_error(self.path):
                f.flush()  # HDF5 caches chunks: a full disk may show only here
                self._fd = None
                f.close()
                self._f = None
                with open(self._tmp, "rb+") as fh:
                    os.fsync(fh.fileno())
            os.replace(self._tmp, self.path)
        except BaseException:
            self._abort()
            raise
