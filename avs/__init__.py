"""avs: TRECVID Ad-hoc Video Search as one batch tool.

features -> embeddings -> ranked lists -> scores -> reports / XML, each stage a file
(HDF5, Parquet, XML, HTML). Heavy libraries (torch, dask) are imported only by the
stages that need them, so ``avs eval`` and ``avs submit`` start fast.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
