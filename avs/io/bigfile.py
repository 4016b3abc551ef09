"""BigFile, the feature directory layout the RUC/AVS community ships features in.

    NAME/feature.bin   float32, native byte order, row-major N x D, no header
    NAME/id.txt        N ids separated by spaces or newlines; row i = id i
    NAME/shape.txt     "N D"

:class:`BigFile` memory-maps ``feature.bin`` and checks the three files against each
other before any row is read; :class:`BigFileWriter` streams rows into a temporary
directory renamed into place on success.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from avs.errors import AvsError, FormatError, short
from avs.io.atomic import disk_full_as_error
from avs.io.textfile import read_bytes, read_text

__all__ = ["BigFile", "BigFileWriter", "is_bigfile", "replace_dir"]

FILES = ("feature.bin", "id.txt", "shape.txt")
MAX_SHAPE_BYTES = 256  # "N D" fits in a few bytes
MAX_DIGITS = 18  # N and D below 10^18 (int() of a long digit string raises ValueError)


def is_bigfile(path: str | Path) -> bool:
    """True if ``path`` is a directory holding any of the BigFile files (so that a
    half-copied one is opened and reported, not silently skipped)."""
    path = Path(path)
    return path.is_dir() and any((path / name).is_file() for name in FILES)


def _read_shape(path: Path) -> tuple[int, int]:
    shape_file = path / "shape.txt"
    if not shape_file.exists() and not shape_file.is_symlink():
        raise FormatError(path, "not a BigFile directory: shape.txt is missing")
    try:  # a regular file only, and a huge shape.txt is not read whole
        raw = read_bytes(shape_file, "BigFile shape", MAX_SHAPE_BYTES)
    except AvsError as err:
        raise FormatError(shape_file, f"expected 'N D' (two integers): {err}") from None
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise FormatError(shape_file, "expected 'N D' (two integers)") from None
    parts = text.split()
    if (
        len(raw) > MAX_SHAPE_BYTES
        or len(parts) != 2
        or not all(p.isdigit() and len(p) <= MAX_DIGITS for p in parts)
    ):
        raise FormatError(shape_file, f"expected 'N D' (two integers), got {text.strip()[:40]!r}")
    n, d = int(parts[0]), int(parts[1])
    if d == 0:
        raise FormatError(shape_file, "dimension D is 0")
    return n, d


class BigFile:
    """Read-only view of one BigFile directory; rows come from a memory map.

    Attributes: ``path``, ``name`` (the directory name, i.e. the extractor),
    ``n``, ``dim``, ``ids`` (list[str]). Raises :class:`FormatError` naming the file
    when shape.txt is malformed, feature.bin's size is not N*D*4 bytes, id.txt does
    not hold N ids, or an id repeats."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if not path.is_dir():
            raise AvsError(f"{path}: no such BigFile directory")
        self.path = path
        self.name = path.resolve().name
        self.n, self.dim = _read_shape(path)
        bin_file = path / "feature.bin"
        if not bin_file.exists():
            raise FormatError(path, "not a BigFile directory: feature.bin is missing")
        if not bin_file.is_file():
            raise FormatError(bin_file, "is not a regular file")
        size = bin_file.stat().st_size
        # Check the size before mapping anything: a wrong shape.txt must not allocate.
        expected = self.n * self.dim * 4
        if size != expected:
            raise FormatError(
                bin_file,
                f"size {size} bytes disagrees with shape.txt ({self.n} x {self.dim} float32 "
                f"= {expected} bytes); the file is truncated or shape.txt is wrong",
            )
        self.ids = _read_ids(path / "id.txt", self.n)
        self._row: dict[str, int] | None = None
        if self.n:
            self._data = np.memmap(bin_file, dtype=np.float32, mode="r", shape=(self.n, self.dim))
        else:
            self._data = np.zeros((0, self.dim), dtype=np.float32)

    def __repr__(self) -> str:
        return f"BigFile({str(self.path)!r}, n={self.n}, dim={self.dim})"

    def read(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``start:stop`` as a float32 (rows, D) array (a copy, not a view)."""
        stop = self.n if stop is None else stop
        if not 0 <= start <= stop <= self.n:
            raise AvsError(f"{self.path}: row range {start}:{stop} outside 0:{self.n}")
        return np.array(self._data[start:stop], dtype=np.float32)

    def read_rows(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """The given rows, in the given order, as float32 (len(rows), D)."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= self.n):
            raise AvsError(f"{self.path}: row index outside 0:{self.n}")
        return np.array(self._data[rows], dtype=np.float32)

    def row_of(self, ids: Sequence[str]) -> np.ndarray:
        """Row numbers of ``ids`` (int64); an unknown id is an :class:`AvsError`."""
        if self._row is None:
            self._row = {id_: i for i, id_ in enumerate(self.ids)}
        try:
            return np.fromiter((self._row[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError as err:
            raise AvsError(f"{self.path}: id {short(str(err.args[0]))} not in id.txt") from None

    def read_ids(self, ids: Sequence[str]) -> np.ndarray:
        """Rows of the given ids, in the given order, as float32 (len(ids), D)."""
        return self.read_rows(self.row_of(ids))

    def close(self) -> None:
        """Drop the memory map (also done when the object is garbage collected)."""
        self._data = np.zeros((0, self.dim), dtype=np.float32)

    def __enter__(self) -> BigFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_ids(id_file: Path, n: int) -> list[str]:
    if not id_file.exists() and not id_file.is_symlink():
        raise FormatError(id_file.parent, "not a BigFile directory: id.txt is missing")
    text = read_text(id_file, "BigFile id")
    ids = text.split()
    if len(ids) != n:
        raise FormatError(id_file, f"holds {len(ids)} ids but shape.txt says {n} rows")
    if len(set(ids)) != n:
        seen: set[str] = set()
        for i, id_ in enumerate(ids):
            if id_ in seen:
                raise FormatError(
                    id_file, f"id {id_[:60]!r} repeated (second time at position {i})"
                )
            seen.add(id_)
    return ids


class BigFileWriter:
    """Stream rows into a new BigFile directory, atomically.

    Rows go into a temporary sibling directory; on successful exit of the ``with``
    block id.txt and shape.txt are written and the directory is renamed to ``path``
    (replacing an existing one). On an exception the temporary directory is removed.
    Every row must have been written by then."""

    def __init__(self, path: str | Path, ids: Sequence[str], dim: int) -> None:
        self.path = Path(path)
        self.ids = [str(i) for i in ids]
        self.n = len(self.ids)
        self.dim = int(dim)
        if self.dim <= 0:
            raise AvsError(f"{self.path}: dimension must be positive, got {dim}")
        bad = [i for i in self.ids if not i or any(c.isspace() for c in i)]
        if bad:
            raise AvsError(f"{self.path}: BigFile ids cannot be empty or hold spaces: {bad[0]!r}")
        if len(set(self.ids)) != self.n:
            raise AvsError(f"{self.path}: ids repeat; every row needs a unique id")
        self._tmp: Path | None = None
        self._fh = None
        self._written = np.zeros(self.n, dtype=bool)

    def __enter__(self) -> BigFileWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(
            tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        )
        try:
            self._fh = open(self._tmp / "feature.bin", "wb")  # noqa: SIM115 - closed in __exit__
            # Sized up front (sparse), so rows can arrive in any order.
            with disk_full_as_error(self.path):
                self._fh.truncate(self.n * self.dim * 4)
        except BaseException:
            if self._fh is not None:
                self._fh.close()
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise
        return self

    def write(self, start: int, array: np.ndarray) -> None:
        """Write rows ``start:start+len(array)``; values are stored as float32."""
        if self._fh is None:
            raise RuntimeError("BigFileWriter.write outside its with-block")
        array = np.asarray(array)
        if array.ndim != 2 or array.shape[1] != self.dim:
            raise AvsError(
                f"{self.path}: expected rows of dimension {self.dim}, got shape {array.shape}"
            )
        stop = start + array.shape[0]
        if not 0 <= start <= stop <= self.n:
            raise AvsError(f"{self.path}: rows {start}:{stop} outside 0:{self.n}")
        self._fh.seek(start * self.dim * 4)
        with disk_full_as_error(self.path):
            self._fh.write(np.ascontiguousarray(array, dtype=np.float32).tobytes())
        self._written[start:stop] = True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        tmp, fh = self._tmp, self._fh
        if tmp is None or fh is None:
            return  # __enter__ failed before anything was created
        self._fh = None
        try:
            if exc_type is None:
                missing = np.flatnonzero(~self._written)
                if missing.size:
                    raise AvsError(
                        f"{self.path}: {missing.size} rows never written (first: row {missing[0]})"
                    )
                with disk_full_as_error(self.path):
                    fh.flush()
                    os.fsync(fh.fileno())
                    fh.close()
                    ids = "".join(f"{i}\n" for i in self.ids)
                    (tmp / "id.txt").write_text(ids, encoding="utf-8")
                    (tmp / "shape.txt").write_text(f"{self.n} {self.dim}\n", encoding="ascii")
                replace_dir(tmp, self.path)
        finally:
            # closing flushes: on a full disk that fails again, and the error is known
            with contextlib.suppress(OSError):
                fh.close()
            shutil.rmtree(tmp, ignore_errors=True)


def replace_dir(tmp: Path, final: Path) -> None:
    """Rename directory ``tmp`` to ``final``; an existing ``final`` is moved aside
    first and removed only after the new one is in place."""
    if not final.exists():
        os.replace(tmp, final)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
    old.rmdir()
    os.replace(final, old)
    try:
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            os.replace(old, final)
        raise
    if old.is_dir():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()
