"""Where a collection directory keeps its shot features.

A collection directory (written by ``avs synth``, or a team's own in the same shape) holds
``collection.json`` and ``shots.h5``; every command that takes COLLECTION also takes a
feature store itself (an HDF5 file, a BigFile or a RUC FeatureData directory)."""

from __future__ import annotations

from pathlib import Path

from avs.errors import AvsError

__all__ = ["SHOTS_FILE", "shots_store"]

SHOTS_FILE = "shots.h5"


def shots_store(collection: str | Path) -> Path:
    """The shot feature store of ``collection``: its ``shots.h5``, or the path itself when
    it is a feature store. AvsError when nothing is there."""
    path = Path(collection)
    if not path.exists():
        raise AvsError(f"collection not found: {path}")
    if path.is_dir() and (path / SHOTS_FILE).is_file():
        return path / SHOTS_FILE
    if path.is_dir() and (path / "collection.json").is_file():
        raise AvsError(f"{path}: no {SHOTS_FILE}; pass the shot feature store itself")
    return path
