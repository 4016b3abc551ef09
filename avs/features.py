"""Inspect and convert feature stores (the library behind ``avs features``).

Both functions stream: they read one block of rows at a time, so memory stays
bounded whatever the collection size.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avs.errors import AvsError
from avs.io.atomic import check_free_space, disk_full_as_error
from avs.io.bigfile import BigFileWriter, is_bigfile, replace_dir
from avs.io.features import (
    META_FILE,
    FeatureReader,
    FeatureStore,
    FeatureStoreWriter,
    open_features,
)

__all__ = [
    "ConvertResult",
    "ExtractorInfo",
    "FeatureInfo",
    "convert_features",
    "feature_info",
]

# rows per block are chosen so a float32 block is about this many bytes
BLOCK_BYTES = 32 << 20
HDF5_SUFFIXES = (".h5", ".hdf5")

Progress = Callable[[str, int, int], None]  # (extractor, rows done, rows total)


@dataclass
class ExtractorInfo:
    """Summary of one extractor's matrix."""

    name: str
    dim: int
    dtype: str
    nan: int = 0  # NaN values
    inf: int = 0  # +-Inf values
    bad_rows: int = 0  # rows holding any NaN or Inf
    first_bad_row: int | None = None
    frame_dim: int | None = None  # dimension of frame-level features, if any


@dataclass
class FeatureInfo:
    """What ``avs features info`` reports."""

    path: str
    kind: str  # "hdf5", "bigfile" or "featuredata"
    n: int
    first_ids: list[str]
    simulated: bool
    attrs: dict
    extractors: list[ExtractorInfo] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain data for JSON output."""
        return {
            "path": self.path,
            "kind": self.kind,
            "n": self.n,
            "first_ids": self.first_ids,
            "simulated": self.simulated,
            "attrs": self.attrs,
            "extractors": [vars(e) for e in self.extractors],
        }


def _kind(path: Path) -> str:
    if path.is_dir():
        return "bigfile" if is_bigfile(path) else "featuredata"
    return "hdf5"


def _block_rows(dim: int, block_rows: int | None) -> int:
    if block_rows is not None:
        if block_rows < 1:
            raise AvsError(f"block rows must be at least 1, got {block_rows}")
        return block_rows
    return max(1, BLOCK_BYTES // (4 * max(1, dim)))


def feature_info(
    path: str | Path,
    *,
    scan: bool = True,
    first: int = 5,
    block_rows: int | None = None,
    progress: Progress | None = None,
) -> FeatureInfo:
    """Describe the store at ``path``; with ``scan`` count NaN/Inf values per
    extractor, streaming through every row."""
    path = Path(path)
    with open_features(path) as store:
        info = FeatureInfo(
            path=str(path),
            kind=_kind(path),
            n=store.n,
            first_ids=list(store.ids[:first]),
            simulated=store.simulated,
            attrs=dict(store.attrs),
        )
        for name in store.names:
            ext = ExtractorInfo(name, store.dims[name], store.dtypes[name])
            if isinstance(store, FeatureStore) and store.has_frames(name):
                ext.frame_dim = store.frame_dim(name)
            if scan:
                _scan(store, ext, block_rows, progress)
            info.extractors.append(ext)
    return info


def _scan(
    store: FeatureReader, ext: ExtractorInfo, block_rows: int | None, progress: Progress | None
) -> None:
    rows = _block_rows(ext.dim, block_rows)
    for start, block in store.iter_blocks(ext.name, rows):
        nan = np.isnan(block)
        inf = np.isinf(block)
        ext.nan += int(nan.sum())
        ext.inf += int(inf.sum())
        bad = np.flatnonzero((nan | inf).any(axis=1))
        if bad.size:
            ext.bad_rows += int(bad.size)
            if ext.first_bad_row is None:
                ext.first_bad_row = start + int(bad[0])
        if progress is not None:
            progress(ext.name, start + len(block), store.n)


@dataclass
class ConvertResult:
    """What ``convert_features`` wrote."""

    src: str
    dst: str
    dst_kind: str  # "hdf5" or "featuredata"
    n: int
    extractors: dict[str, int]  # name -> dim
    dtype: str
    skipped_frames: list[str]  # frame-level features a BigFile cannot hold


def convert_features(
    src: str | Path,
    dst: str | Path,
    *,
    allow_nan: bool = False,
    dtype: str | None = None,
    overwrite: bool = False,
    block_rows: int | None = None,
    progress: Progress | None = None,
) -> ConvertResult:
    """Convert a feature store, streaming and atomically.

    ``dst`` ending in .h5/.hdf5 gets an HDF5 store (``dtype`` float16/float32;
    default: float32, or the source dtype for HDF5 sources; frame-level features are
    copied). Any other ``dst`` becomes a directory with one BigFile per extractor
    (``dst/<name>/feature.bin, id.txt, shape.txt``), always float32; frame-level
    features are not written and are listed in ``skipped_frames``.

    A row with NaN or Inf (or a value that overflows float16) stops the conversion
    with an :class:`AvsError` naming the extractor and the first bad row, unless
    ``allow_nan``. Nothing is left under ``dst`` when it fails."""
    src, dst = Path(src), Path(dst)
    if dst.exists() and not overwrite:
        raise AvsError(f"{dst}: already exists; pass --force to replace it")
    if dst.resolve() == src.resolve():
        raise AvsError(f"{dst}: source and destination are the same")
    with open_features(src) as store, disk_full_as_error(dst):
        if dst.suffix.lower() in HDF5_SUFFIXES:
            if dst.is_dir():
                raise AvsError(f"{dst}: is a directory; an HDF5 destination must be a file")
            if dtype is None:
                dtypes = set(store.dtypes.values())
                dtype = dtypes.pop() if len(dtypes) == 1 else "float32"
            check_free_space(dst, _estimate_bytes(store, np.dtype(dtype).itemsize))
            return _to_hdf5(store, src, dst, dtype, allow_nan, block_rows, progress)
        if dtype not in (None, "float32"):
            raise AvsError("BigFile stores float32 only; drop --dtype or write a .h5 file")
        if not store.names:  # a FeatureData directory without a BigFile cannot be opened
            raise AvsError(f"{src}: has no extractors; nothing to write as BigFiles")
        check_free_space(dst, _estimate_bytes(store, 4, frames=False))
        return _to_bigfiles(store, src, dst, allow_nan, block_rows, progress)


def _estimate_bytes(store: FeatureReader, itemsize: int, frames: bool = True) -> int:
    """Bytes the converted store will take (values and ids; headers are noise)."""
    total = store.n * sum(store.dims.values()) * itemsize
    total += sum(len(i) + 1 for i in store.ids)
    if frames and isinstance(store, FeatureStore):
        for name in store.frame_names:
            total += store.frame_count(name) * store.frame_dim(name) * itemsize
    return total


def _check_block(
    block: np.ndarray, name: str, start: int, src: Path, dtype: str, allow_nan: bool
) -> None:
    if allow_nan:
        return
    finite = np.isfinite(block).all(axis=1)
    if not finite.all():
        row = start + int(np.flatnonzero(~finite)[0])
        raise AvsError(
            f"{src}: extractor {name!r} has NaN/Inf values, first in row {row}; "
            "fix the features or pass --allow-nan to copy them as they are"
        )
    if dtype == "float16":
        over = (np.abs(block) > np.finfo(np.float16).max).any(axis=1)
        if over.any():
            row = start + int(np.flatnonzero(over)[0])
            raise AvsError(
                f"{src}: extractor {name!r} row {row} overflows float16; use --dtype float32"
            )


def _to_hdf5(
    store: FeatureReader,
    src: Path,
    dst: Path,
    dtype: str,
    allow_nan: bool,
    block_rows: int | None,
    progress: Progress | None,
) -> ConvertResult:
    frames: dict[str, int] = {}
    if isinstance(store, FeatureStore):
        frames = {name: store.frame_dim(name) for name in store.frame_names}
    attrs = {k: v for k, v in store.attrs.items() if k not in ("format", "version")}
    attrs["simulated"] = bool(store.simulated)
    with FeatureStoreWriter(dst, store.ids, store.dims, dtype, frames or None, attrs) as out:
        for name in store.names:
            rows = _block_rows(store.dims[name], block_rows)
            for start, block in store.iter_blocks(name, rows):
                _check_block(block, name, start, src, dtype, allow_nan)
                out.write(name, start, block)
                if progress is not None:
                    progress(name, start + len(block), store.n)
        for name in frames:  # only an HDF5 FeatureStore has frames
            rows = _block_rows(frames[name] * 8, block_rows)
            for start in range(0, store.n, rows):
                stop = min(start + rows, store.n)
                values, offsets = store.read_frames(name, start, stop)
                _check_block(values, f"{name} (frames)", start, src, dtype, allow_nan)
                out.write_frames(name, start, values, np.diff(offsets))
    return ConvertResult(str(src), str(dst), "hdf5", store.n, dict(store.dims), dtype, [])


def _to_bigfiles(
    store: FeatureReader,
    src: Path,
    dst: Path,
    allow_nan: bool,
    block_rows: int | None,
    progress: Progress | None,
) -> ConvertResult:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    try:
        _write_bigfiles(store, src, tmp, allow_nan, block_rows, progress)
        meta = {k: v for k, v in store.attrs.items() if _jsonable(v)}
        meta.update(format="avs-features", simulated=bool(store.simulated), source=str(src))
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        replace_dir(tmp, dst)
    except AvsError as err:
        # the writers name their temporary directory; the user knows only dst
        raise AvsError(str(err).replace(str(tmp), str(dst))) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)
    return ConvertResult(
        str(src), str(dst), "featuredata", store.n, dict(store.dims), "float32", store.frame_names
    )


def _write_bigfiles(
    store: FeatureReader,
    src: Path,
    tmp: Path,
    allow_nan: bool,
    block_rows: int | None,
    progress: Progress | None,
) -> None:
    for name in store.names:
        rows = _block_rows(store.dims[name], block_rows)
        with BigFileWriter(tmp / name, store.ids, store.dims[name]) as out:
            for start, block in store.iter_blocks(name, rows):
                _check_block(block, name, start, src, "float32", allow_nan)
                out.write(start, block)
                if progress is not None:
                    progress(name, start + len(block), store.n)


def _jsonable(value: object) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
