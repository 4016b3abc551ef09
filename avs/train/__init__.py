"""Training stack (``avs train``, ``avs explain``): data, loop, metrics, explanations.

Never imported by ``avs.model``, ``avs index`` or ``avs score``."""
