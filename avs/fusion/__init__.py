"""Late fusion of runs (``avs fuse``) and fusion weights learnt on earlier years
(``avs fuse-learn``). numpy only: no torch, no dask (docs/fusion.md).

Modules: ``inputs`` (runs of any kind, ``FILE.xml#RUNID``, ``MODEL=PATH``), ``methods``
(normalisations and CombSUM/CombMNZ/weighted sum/RRF/Borda per topic), ``fuse`` (the
library call behind ``avs fuse``), ``recipe`` (the JSON recipe), ``learn`` (weight
search and cross-validation).
"""

from avs.fusion.fuse import FuseResult, FusionSpec, fuse_files, fuse_inputs
from avs.fusion.methods import METHODS, NORMS

__all__ = ["METHODS", "NORMS", "FuseResult", "FusionSpec", "fuse_files", "fuse_inputs"]
