"""LAFF text-to-video models: fusion blocks, the model, its loss and its files.

Importable without the training stack (``avs.train``), so ``avs index`` and
``avs score`` only need :func:`load_model`.
"""

from avs.model.config import LaffConfig
from avs.model.io import load_model, save_model
from avs.model.model import AvsModel

__all__ = ["AvsModel", "LaffConfig", "load_model", "save_model"]
