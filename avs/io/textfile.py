"""Reading the small text files of a TRECVID year (topics, qrels, runs, captions).

One place for what every text parser needs: the file read as UTF-8 (BOM dropped) with
one clear error for a missing file, a directory or bad bytes; field quotes that stay
short whatever a hostile file holds; and the collector paused while building records.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path

from avs.errors import AvsError, FormatError


def read_text(path: Path, what: str) -> str:
    """The whole file as text; ``what`` names the kind of file in the error message."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise AvsError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise AvsError(f"{path}: is a directory, expected a {what} file") from None
    try:
        return data.decode("utf-8-sig")  # utf-8-sig drops a BOM if there is one
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise FormatError(path, "not UTF-8 text", line=line) from None


def short(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut to about ``limit`` characters: a message quoting a field of
    a hostile file must stay one readable line."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: building 100k+ small tuples otherwise
    triggers repeated full collections that cost more than the parsing itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
