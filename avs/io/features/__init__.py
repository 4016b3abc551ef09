"""Feature stores: one reader interface over the native HDF5 store and BigFiles.

    reader.py         FeatureReader, the interface every store offers
    hdf5.py           FeatureStore, reader of the native HDF5 store (layout there)
    writer.py         FeatureStoreWriter, streams a new HDF5 store to disk
    bigfile_store.py  BigFileStore, BigFile / RUC FeatureData directories as a reader
    ids.py            first_duplicate (fast duplicate-id check), decode_id

:func:`open_features` picks the reader for a path. Only numpy and h5py are imported
(``avs features info/convert`` run without torch or dask).
"""

from __future__ import annotations

from pathlib import Path

from avs.io.features.bigfile_store import META_FILE, BigFileStore
from avs.io.features.hdf5 import FORMAT, VERSION, FeatureStore
from avs.io.features.ids import decode_id, first_duplicate
from avs.io.features.reader import FeatureReader
from avs.io.features.writer import DTYPES, FeatureStoreWriter

__all__ = [
    "DTYPES",
    "FORMAT",
    "META_FILE",
    "VERSION",
    "BigFileStore",
    "FeatureReader",
    "FeatureStore",
    "FeatureStoreWriter",
    "decode_id",
    "first_duplicate",
    "open_features",
]


def open_features(path: str | Path) -> FeatureReader:
    """Open a feature store: an HDF5 file, a BigFile directory or a RUC ``FeatureData``
    directory of BigFiles. All give the :class:`FeatureReader` interface."""
    path = Path(path)
    if path.is_dir():
        return BigFileStore(path)
    return FeatureStore(path)
