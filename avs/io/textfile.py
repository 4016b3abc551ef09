"""Reading the small text files of a TRECVID year (topics, qrels, runs, captions) and
avs's own JSON files (manifests, configs, checkpoints' job files, recipes).

One place for what every reader needs: only a regular file is opened (a FIFO, a device or
a directory in its place is an error, never a hang or an endless read), at most a bounded
number of bytes is read, the text is UTF-8 (BOM dropped), and every failure is one clear
error naming the file; field quotes that stay short whatever a hostile file holds; and the
collector paused while building records.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from avs.errors import AvsError, FormatError

#: Largest text file read whole (a V3C2 ids.txt is ~25 MB, MSR-VTT captions ~15 MB).
MAX_TEXT_BYTES = 1 << 30
#: Largest JSON file of avs's own (manifests, configs, recipes are a few KB to a few MB).
MAX_JSON_BYTES = 64 << 20


def check_regular(path: Path, what: str) -> None:
    """AvsError unless ``path`` is a regular file (follows links). For formats that other
    libraries open (numpy, h5py, pyarrow): a FIFO would block them forever."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise AvsError(f"{path}: no such {what} file") from None
    except OSError as err:
        raise AvsError(f"{path}: cannot read the {what} file ({err.strerror})") from None
    if stat.S_ISDIR(mode):
        raise AvsError(f"{path}: is a directory, expected a {what} file")
    if not stat.S_ISREG(mode):
        raise AvsError(f"{path}: not a regular file (a FIFO or device?), expected a {what} file")


def read_bytes(path: Path, what: str, limit: int = MAX_TEXT_BYTES) -> bytes:
    """The whole of a regular file, at most ``limit`` bytes; ``what`` names the kind of file
    in the error message. Opening never blocks: a FIFO is refused, not waited on."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise AvsError(f"{path}: no such {what} file") from None
    except IsADirectoryError:
        raise AvsError(f"{path}: is a directory, expected a {what} file") from None
    except OSError as err:
        raise AvsError(f"{path}: cannot open the {what} file ({err.strerror})") from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise AvsError(f"{path}: is a directory, expected a {what} file")
        if not stat.S_ISREG(mode):
            raise AvsError(
                f"{path}: not a regular file (a FIFO or device?), expected a {what} file"
            )
        chunks, size = [], 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise AvsError(f"{path}: {what} file larger than {_size(limit)}; not read")
        return b"".join(chunks)
    except OSError as err:  # /proc/self/mem and friends: EIO, EINVAL
        raise AvsError(f"{path}: cannot read the {what} file ({err.strerror})") from None
    finally:
        os.close(fd)


def read_text(path: Path, what: str, limit: int = MAX_TEXT_BYTES) -> str:
    """The whole file as text (see :func:`read_bytes`); bad UTF-8 is a FormatError with
    its line."""
    return decode_text(read_bytes(path, what, limit), path)


def decode_text(data: bytes, path: Path) -> str:
    """``data`` read from ``path`` as UTF-8 text, a BOM dropped; FormatError with the line
    of the first bad byte."""
    try:
        return data.decode("utf-8-sig")  # utf-8-sig drops a BOM if there is one
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise FormatError(path, "not UTF-8 text", line=line) from None


def read_json(path: Path, what: str, limit: int = MAX_JSON_BYTES) -> Any:
    """A JSON file of avs's own; AvsError naming the file when it is not valid JSON."""
    text = read_text(path, what, limit)
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise AvsError(f"{path}: not a valid {what} file ({err})") from None


def text_lines(text: str) -> list[str]:
    """``text`` split into lines at LF, CRLF or a CR alone (old Mac editors: read as one
    line, a whole file became one record). Not str.splitlines, which also breaks on form
    feeds and U+2028 that may stand inside a topic's or caption's text."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


# C0 and C1 control characters and DEL: escape sequences would recolour, move or clear
# the user's terminal (or hide text) when a hostile name or topic text is printed.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: object, markup: bool = True) -> str:
    """``text`` safe to print on a terminal: control characters become spaces (so a name
    stays one line), and with ``markup`` Rich markup is escaped, so that ``[/bold]`` in a
    run name or topic text is shown as written instead of crashing Rich or restyling the
    output. Use it on every name, path or text from files that Rich prints."""
    clean = _CONTROL.sub(" ", str(text))
    if not markup:
        return clean
    from rich.markup import escape  # lazily: most readers never print

    return escape(clean)


def _size(n: int) -> str:
    return f"{n / (1 << 30):g} GiB" if n >= 1 << 30 else f"{n / (1 << 20):g} MiB"


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
