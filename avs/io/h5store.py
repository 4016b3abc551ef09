"""The native HDF5 feature store, and one reader interface over HDF5 and BigFile.

Layout (docs/design.md):

    /                      attrs: format="avs-features", version=1, simulated, collection
    /ids                   (N,) fixed-length ASCII bytes; row i = id i
    /features/<name>       (N, D) float16 or float32, chunked by rows (~1 MiB chunks)
    /frames/<name>/values  (M, D) frame-level features
    /frames/<name>/offsets (N+1,) int64; frames of row i are values[offsets[i]:offsets[i+1]]

:class:`FeatureStore` reads it, :class:`FeatureStoreWriter` streams it to disk, and
:func:`open_features` opens an HDF5 store, a BigFile directory or a RUC
``FeatureData`` directory behind the same interface.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from avs.errors import AvsError, FormatError
from avs.io.atomic import disk_full_as_error, tmp_path_for
from avs.io.bigfile import BigFile, is_bigfile

__all__ = [
    "FORMAT",
    "META_FILE",
    "BigFileStore",
    "FeatureReader",
    "FeatureStore",
    "FeatureStoreWriter",
    "open_features",
]

FORMAT = "avs-features"
VERSION = 1
# Written next to BigFiles by `avs features convert`, so "simulated" survives a round trip.
META_FILE = "avs-features.json"
CHUNK_BYTES = 1 << 20
READ_BYTES = 64 << 20  # largest contiguous read read_rows makes
# The writer hands what it wrote to the disk and drops it from the page cache as it
# goes, CACHE_LAG bytes behind the end of the file (HDF5 reads back the last partial
# chunks), every CACHE_STEP bytes. A stream of many GB then neither fills memory with
# dirty pages nor leaves seconds of flushing to the final fsync, and the kernel keeps
# reusing the same cache pages: writing 10 GB took 2-4x less system CPU that way on a
# 2-core VM. Small stores never reach the lag.
CACHE_LAG = 128 << 20
CACHE_STEP = 64 << 20
DTYPES = ("float16", "float32")
# A dataset may declare far more bytes than the file holds (unwritten chunks read as
# fill values). Reading one must not allocate gigabytes from a small hostile file:
# datasets declaring more than CHECKED_BYTES must hold at least 1/MAX_RATIO of it.
CHECKED_BYTES = 64 << 20
MAX_RATIO = 1024  # beyond what deflate reaches on real ids or features
# What h5py raises for a damaged file (bad B-tree, checksum, truncated chunk...).
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError)


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
            raise AvsError(f"{self.path}: id {err.args[0]!r} not in the store") from None

    def close(self) -> None:
        """Release the underlying files."""

    def __enter__(self) -> FeatureReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        dims = ", ".join(f"{k}={v}" for k, v in self.dims.items())
        return f"{type(self).__name__}({str(self.path)!r}, n={self.n}, {dims})"


def _chunk_rows(dim: int, itemsize: int, n: int) -> int:
    return max(1, min(max(n, 1), CHUNK_BYTES // max(1, dim * itemsize)))


class FeatureStore(FeatureReader):
    """Reader of an HDF5 feature store; validated on open.

    Raises :class:`FormatError` naming the file (and dataset) when it is not HDF5,
    /ids is missing or repeats an id, or a dataset's row count differs from len(ids)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise AvsError(f"{self.path}: no such feature store")
        if self.path.is_dir():
            raise AvsError(
                f"{self.path}: is a directory; open BigFile directories with open_features"
            )
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as err:
            raise FormatError(self.path, f"not a readable HDF5 file ({err})") from None
        try:
            self._validate()
        except H5_ERRORS as err:
            self._f.close()
            raise FormatError(self.path, f"damaged HDF5 file ({err})") from None
        except BaseException:
            self._f.close()
            raise

    def _validate(self) -> None:
        f, path = self._f, self.path
        if "ids" not in f or not isinstance(f["ids"], h5py.Dataset):
            raise FormatError(path, "dataset /ids is missing: not an avs feature store")
        ids = f["ids"]
        if ids.ndim != 1 or ids.dtype.kind not in "SO":
            raise FormatError(
                path, f"/ids must be a 1-d string dataset, got {ids.dtype} {ids.shape}"
            )
        _check_allocated(path, ids, "/ids")
        raw = ids[()]
        if raw.dtype.kind == "O":  # variable-length strings (other tools write these)
            raw = np.array(
                [x if isinstance(x, bytes) else str(x).encode() for x in raw], dtype=bytes
            )
        self._raw_ids = raw
        self.n = len(self._raw_ids)
        dup = first_duplicate(self._raw_ids)
        if dup is not None:
            raise FormatError(path, f"dataset /ids repeats id {_decode(dup)!r}")
        self.attrs = {k: _plain(v) for k, v in f.attrs.items()}
        self.simulated = bool(self.attrs.get("simulated", False))
        group = f.get("features")
        if not isinstance(group, h5py.Group):
            raise FormatError(path, "group /features is missing: not an avs feature store")
        self.names, self.dims, self.dtypes = [], {}, {}
        for name, ds in group.items():
            where = f"/features/{name}"
            if not isinstance(ds, h5py.Dataset) or ds.ndim != 2:
                raise FormatError(path, f"dataset {where} must be a 2-d array")
            if ds.shape[0] != self.n:
                raise FormatError(
                    path, f"dataset {where} has {ds.shape[0]} rows but /ids has {self.n}"
                )
            if ds.dtype.kind != "f":
                raise FormatError(path, f"dataset {where} has dtype {ds.dtype}, expected float")
            _check_allocated(path, ds, where)
            self.names.append(name)
            self.dims[name] = int(ds.shape[1])
            self.dtypes[name] = str(ds.dtype)
        self.frame_names = []
        frames = f.get("frames")
        if isinstance(frames, h5py.Group):
            for name, grp in frames.items():
                where = f"/frames/{name}"
                values = grp.get("values") if isinstance(grp, h5py.Group) else None
                offsets = grp.get("offsets") if isinstance(grp, h5py.Group) else None
                if (
                    not isinstance(values, h5py.Dataset)
                    or not isinstance(offsets, h5py.Dataset)
                    or values.ndim != 2
                    or values.dtype.kind != "f"
                    or offsets.dtype.kind not in "iu"
                ):
                    raise FormatError(
                        path, f"{where} needs 2-d float 'values' and integer 'offsets' datasets"
                    )
                _check_allocated(path, values, f"{where}/values")
                if offsets.shape != (self.n + 1,):
                    raise FormatError(
                        path,
                        f"dataset {where}/offsets has {offsets.shape[0]} entries, expected N+1 = {self.n + 1}",
                    )
                off = offsets[()].astype(np.int64)
                if off[0] != 0 or (np.diff(off) < 0).any():
                    raise FormatError(
                        path, f"dataset {where}/offsets must start at 0 and never decrease"
                    )
                if int(off[-1]) != values.shape[0]:
                    raise FormatError(
                        path,
                        f"dataset {where}/offsets ends at {int(offsets[-1])} but values has {values.shape[0]} rows",
                    )
                self.frame_names.append(name)

    @property
    def ids(self) -> list[str]:
        """Row ids as str (decoded once, on first use)."""
        if not hasattr(self, "_ids"):
            try:
                self._ids = self._raw_ids.astype(str).tolist()
            except UnicodeDecodeError:
                raise FormatError(self.path, "dataset /ids holds non-ASCII bytes") from None
        return self._ids

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        self._check_name(name)
        start, stop = self._range(start, stop)
        with self._damaged(f"/features/{name}"):
            return np.asarray(self._f["features"][name][start:stop], dtype=np.float32)

    @contextlib.contextmanager
    def _damaged(self, where: str) -> Iterator[None]:
        """A dataset whose chunks cannot be read (damaged file) -> FormatError."""
        try:
            yield
        except (OSError, RuntimeError) as err:
            raise FormatError(
                self.path, f"cannot read dataset {where}: damaged file ({err})"
            ) from None

    def read_rows(self, name: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        self._check_name(name)
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if rows.size == 0:
            return np.zeros((0, self.dims[name]), dtype=np.float32)
        if rows.min() < 0 or rows.max() >= self.n:
            raise AvsError(f"{self.path}: row index outside 0:{self.n}")
        # h5py's point selection needs increasing unique indices
        uniq, inverse = np.unique(rows, return_inverse=True)
        with self._damaged(f"/features/{name}"):
            return self._read_unique(name, uniq)[inverse]

    def _read_unique(self, name: str, uniq: np.ndarray) -> np.ndarray:
        ds = self._f["features"][name]
        out = np.empty((len(uniq), self.dims[name]), dtype=np.float32)
        window = max(1, READ_BYTES // (4 * self.dims[name]))  # bounds memory per read
        i = 0
        while i < len(uniq):
            lo = int(uniq[i])
            j = int(np.searchsorted(uniq, lo + window, side="left"))
            hi = int(uniq[j - 1]) + 1
            if hi - lo <= 4 * (j - i) + 1024:
                # dense enough: one contiguous read beats a point selection
                out[i:j] = ds[lo:hi][uniq[i:j] - lo]
            else:
                out[i:j] = ds[uniq[i:j]]
            i = j
        return out

    def read_frames(
        self, name: str, start: int = 0, stop: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        if name not in self.frame_names:
            raise AvsError(f"{self.path}: no frame-level features for {name!r}")
        start, stop = self._range(start, stop)
        grp = self._f["frames"][name]
        with self._damaged(f"/frames/{name}"):
            offsets = np.asarray(grp["offsets"][start : stop + 1], dtype=np.int64)
            values = np.asarray(grp["values"][offsets[0] : offsets[-1]], dtype=np.float32)
        return values, offsets - offsets[0]

    def frame_dim(self, name: str) -> int:
        """Dimension of the frame-level features of ``name``."""
        if name not in self.frame_names:
            raise AvsError(f"{self.path}: no frame-level features for {name!r}")
        return int(self._f["frames"][name]["values"].shape[1])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._f.close()


def first_duplicate(raw: np.ndarray) -> bytes | None:
    """The first id (in row order) of a fixed-length bytes array that occurs twice,
    or None. Hashes rows to uint64 and sorts those: several times faster than
    np.unique on strings, which matters because every open checks 1.5M ids."""
    n = len(raw)
    if n < 2:
        return None
    width = raw.dtype.itemsize
    padded = np.zeros((n, width + (-width % 8)), dtype=np.uint8)
    padded[:, :width] = np.ascontiguousarray(raw).view(np.uint8).reshape(n, width)
    words = padded.view(np.uint64)
    h = np.full(n, 0xCBF29CE484222325, dtype=np.uint64)
    for j in range(words.shape[1]):  # FNV-style mixing, 8 bytes at a time
        h ^= words[:, j]
        h *= np.uint64(0x100000001B3)
        h ^= h >> np.uint64(29)
    order = np.argsort(h, kind="stable")
    sorted_h = h[order]
    same = np.flatnonzero(sorted_h[1:] == sorted_h[:-1])
    if not same.size:
        return None
    # equal hashes: compare the actual ids of those rows only, in row order
    candidates = np.unique(np.concatenate([order[same], order[same + 1]]))
    seen: set[bytes] = set()
    for value in raw[candidates].tolist():
        if value in seen:
            return value
        seen.add(value)
    return None


def _check_allocated(path: Path, ds: h5py.Dataset, where: str) -> None:
    """FormatError when ``ds`` declares far more bytes than the file stores for it."""
    declared = int(ds.size) * ds.dtype.itemsize
    if declared <= CHECKED_BYTES:
        return
    stored = int(ds.id.get_storage_size())
    if stored * MAX_RATIO < declared:
        raise FormatError(
            path,
            f"dataset {where} declares shape {ds.shape} ({declared:,} bytes) but the file "
            f"stores {stored:,} bytes of it: damaged or not written to the end",
        )


def _decode(b: bytes | str) -> str:
    return b.decode("ascii") if isinstance(b, bytes) else str(b)


def _plain(value: Any) -> Any:
    """HDF5 attribute -> plain Python (numpy scalars and bytes are awkward in JSON)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)  # h5py.Empty, references...: shown, never interpreted


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


class BigFileStore(FeatureReader):
    """One or more BigFiles with the same ids behind the :class:`FeatureReader`
    interface: a single BigFile directory (one extractor named after it) or a RUC
    ``FeatureData`` directory (one extractor per BigFile subdirectory)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise AvsError(f"{self.path}: no such directory")
        if is_bigfile(self.path):
            files = [BigFile(self.path)]
        else:
            subdirs = sorted(p for p in self.path.iterdir() if is_bigfile(p))
            if not subdirs:
                raise FormatError(
                    self.path,
                    "not a feature store: expected an HDF5 file, a BigFile directory "
                    "(feature.bin, id.txt, shape.txt) or a directory of BigFiles",
                )
            files = [BigFile(p) for p in subdirs]
        ids = files[0].ids
        for other in files[1:]:
            if other.ids != ids:
                raise FormatError(
                    other.path / "id.txt",
                    f"ids differ from {files[0].path / 'id.txt'}; every extractor must list the same ids in the same order",
                )
        self._files = {bf.name: bf for bf in files}
        self._ids = ids
        self.n = len(ids)
        self.names = list(self._files)
        self.dims = {name: bf.dim for name, bf in self._files.items()}
        self.dtypes = dict.fromkeys(self.names, "float32")
        self.frame_names = []
        self.attrs = self._read_meta()
        self.simulated = bool(self.attrs.get("simulated", False))

    def _read_meta(self) -> dict[str, Any]:
        meta = self.path / META_FILE
        if not meta.is_file():
            return {}
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise FormatError(meta, f"not valid JSON ({err})") from None
        if not isinstance(data, dict):
            raise FormatError(meta, "expected a JSON object")
        return data

    @property
    def ids(self) -> list[str]:
        return self._ids

    def read(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        self._check_name(name)
        start, stop = self._range(start, stop)
        return self._files[name].read(start, stop)

    def read_rows(self, name: str, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        self._check_name(name)
        return self._files[name].read_rows(np.asarray(rows, dtype=np.int64).reshape(-1))

    def close(self) -> None:
        for bf in self._files.values():
            bf.close()


def open_features(path: str | Path) -> FeatureReader:
    """Open a feature store: an HDF5 file, a BigFile directory or a RUC ``FeatureData``
    directory of BigFiles. All give the :class:`FeatureReader` interface."""
    path = Path(path)
    if path.is_dir():
        return BigFileStore(path)
    return FeatureStore(path)
