"""Reader of the native HDF5 feature store.

Layout (docs/design.md):

    /                      attrs: format="avs-features", version=1, simulated, collection
    /ids                   (N,) fixed-length ASCII bytes; row i = id i
    /features/<name>       (N, D) float16 or float32, chunked by rows (~1 MiB chunks)
    /frames/<name>/values  (M, D) frame-level features
    /frames/<name>/offsets (N+1,) int64; frames of row i are values[offsets[i]:offsets[i+1]]

:class:`FeatureStore` validates a file on open and reads it;
:class:`avs.io.features.writer.FeatureStoreWriter` writes it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from avs.errors import AvsError, FormatError
from avs.io.features.h5check import check_hdf5, same_file, store_datasets
from avs.io.features.ids import decode_id, first_duplicate
from avs.io.features.reader import FeatureReader
from avs.io.textfile import check_regular

__all__ = ["FORMAT", "VERSION", "FeatureStore"]

FORMAT = "avs-features"
VERSION = 1
READ_BYTES = 64 << 20  # largest contiguous read read_rows makes
# A dataset may declare far more bytes than the file holds (unwritten chunks read as
# fill values). Reading one must not allocate gigabytes from a small hostile file:
# datasets declaring more than CHECKED_BYTES must hold at least 1/MAX_RATIO of it.
CHECKED_BYTES = 64 << 20
MAX_RATIO = 1024  # beyond what deflate reaches on real ids or features
# What h5py raises for a damaged file (bad B-tree, checksum, truncated chunk...).
H5_ERRORS = (OSError, RuntimeError, KeyError, ValueError)


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
        check_regular(self.path, "HDF5 feature store")  # libhdf5 would block on a FIFO
        checked = check_hdf5(self.path)  # ...and can loop on damaged metadata: a child first
        try:
            self._f = h5py.File(self.path, "r")
        except OSError as err:
            raise FormatError(self.path, f"not a readable HDF5 file ({err})") from None
        try:
            same_file(self.path, checked, self._f.id.get_vfd_handle())
            self._validate()
        except H5_ERRORS as err:
            self._f.close()
            raise FormatError(self.path, f"damaged HDF5 file ({err})") from None
        except BaseException:
            self._f.close()
            raise

    def _validate(self) -> None:
        f, path = self._f, self.path
        _refuse_virtual(path, f)
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
            raise FormatError(path, f"dataset /ids repeats id {decode_id(dup)!r}")
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

    def frame_count(self, name: str) -> int:
        """Number of frame-level rows (M, all shots together) of ``name``."""
        if name not in self.frame_names:
            raise AvsError(f"{self.path}: no frame-level features for {name!r}")
        return int(self._f["frames"][name]["values"].shape[0])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._f.close()


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


def _refuse_virtual(path: Path, f: h5py.File) -> None:
    """A virtual dataset takes its rows from other files (any path, a FIFO even), which
    nothing here has checked: refused before a single row is read."""
    for name in store_datasets(f):
        ds = f.get(name)
        if isinstance(ds, h5py.Dataset) and ds.is_virtual:
            raise FormatError(
                path,
                f"dataset /{name} is a virtual dataset (rows from other files): "
                "not supported in a feature store; copy it into a plain dataset",
            )
