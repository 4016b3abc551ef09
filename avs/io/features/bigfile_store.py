"""BigFile directories behind the feature-store reader interface."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError, FormatError
from avs.io.bigfile import BigFile, is_bigfile
from avs.io.features.reader import FeatureReader
from avs.io.textfile import read_json

__all__ = ["META_FILE", "BigFileStore"]

# Written next to BigFiles by `avs features convert`, so "simulated" survives a round trip.
META_FILE = "avs-features.json"


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
        if not meta.exists() and not meta.is_symlink():
            return {}
        try:
            data = read_json(meta, "BigFile metadata")
        except AvsError as err:
            raise FormatError(meta, str(err).removeprefix(f"{meta}: ")) from None
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
