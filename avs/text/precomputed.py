"""Text features extracted elsewhere (e.g. CLIP text), read from a feature store by id."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from avs.errors import AvsError
from avs.text.base import TextEncoder


class PrecomputedEncoder(TextEncoder):
    """Rows of feature ``feature`` in the store at ``path`` (HDF5 or BigFile), looked up
    by key: caption ids (``video7#0``) in training, topic numbers (``701``) for topics.
    Without keys the text itself is the id."""

    kind = "precomputed"
    open_vocabulary = True

    def __init__(self, name: str, feature: str, path: str, dim: int | None = None) -> None:
        super().__init__(name)
        self.feature = feature
        self.path = path
        self._rows: dict[str, int] | None = None
        self.dim = dim if dim is not None else self._open_dims()

    def _store(self) -> Any:
        from avs.io.features import open_features

        return open_features(self.path)

    def _open_dims(self) -> int:
        with self._store() as store:
            if self.feature not in store.dims:
                raise AvsError(
                    f"{self.path}: no feature {self.feature!r} (has {', '.join(store.names)})"
                )
            return int(store.dims[self.feature])

    def state(self) -> dict[str, Any]:
        return {**super().state(), "feature": self.feature, "path": self.path}

    def prepare(self, texts: list[str], keys: list[str] | None = None) -> torch.Tensor:
        keys = list(keys) if keys is not None else list(texts)
        with self._store() as store:
            if self._rows is None:
                self._rows = {k: i for i, k in enumerate(store.ids)}
            missing = [k for k in keys if k not in self._rows]
            if missing:
                raise AvsError(
                    f"{self.path}: {len(missing)} text(s) have no {self.feature!r} feature, "
                    f"e.g. {missing[:3]}"
                )
            rows = np.array([self._rows[k] for k in keys], dtype=np.int64)
            values = store.read_rows(self.feature, rows) if len(rows) else np.zeros((0, self.dim))
        return torch.from_numpy(np.asarray(values, dtype=np.float32))
