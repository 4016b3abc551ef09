"""The one progress interface of avs: library functions take ``progress=``, a callable
``progress(label, done, total)``, and never draw anything themselves.

``label`` names the piece of work ("scoring", "embedding shots", an extractor...), ``done``
and ``total`` count its units (``total`` None while unknown). The command line turns these
calls into Rich bars (avs/cli/progress.py); tests and notebooks pass their own callable or
None.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["ProgressFn", "report"]

ProgressFn = Callable[[str, int, int | None], None]


def report(progress: ProgressFn | None, label: str, done: int, total: int | None) -> None:
    """Call ``progress`` if there is one (a falsy value means nobody is watching)."""
    if progress:
        progress(label, done, total)
