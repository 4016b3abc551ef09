"""Errors a user can cause. The CLI prints them as one line and exits non-zero.

Raise these (never ``assert``) for anything wrong with input files, options or the
workspace; a traceback means a bug in avs, not in the user's data.
"""

from __future__ import annotations

import re
from pathlib import Path


class AvsError(Exception):
    """A problem the user can fix; ``str(err)`` says what and, where possible, how."""


class FormatError(AvsError):
    """Malformed input file, located by path and (when known) line and field."""

    def __init__(
        self,
        path: str | Path,
        message: str,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.message = message
        where = self.path
        if line is not None:
            where += f", line {line}"
        if field is not None:
            where += f", field {short(field)}"
        super().__init__(f"{where}: {message}")


class FormatErrors(AvsError):
    """Several problems found in one pass, reported together (e.g. XML validation)."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s):\n{lines}")


_OS_HINTS = {
    "EROFS": "the file system is read-only; write somewhere else",
    "EACCES": "permission denied; write somewhere you may write, or fix the permissions",
    "EPERM": "operation not permitted here",
    "ENAMETOOLONG": "the name is too long for the file system",
    "ENOTDIR": "a part of the path is a file, not a directory",
    "EISDIR": "a directory stands where a file was expected",
    "ENOSPC": "no space left on device; free some space and rerun",
    "EDQUOT": "disk quota exceeded",
    "EFBIG": "file too large for this file system or `ulimit -f`",
}


def os_error_message(err: OSError) -> str:
    """One line for an operating-system error on a user's path (read-only disk, no
    permission, name too long...), naming the path and what to do."""
    import errno

    name = errno.errorcode.get(err.errno or 0, "")
    where = err.filename if err.filename is not None else "avs"
    what = err.strerror or str(err)
    hint = _OS_HINTS.get(name)
    return f"{where}: {what}" + (f" ({hint})" if hint and hint.lower() != what.lower() else "")


def short(text: str, limit: int = 60) -> str:
    """``repr(text)``, cut to about ``limit`` characters: a message quoting a field of
    a hostile file must stay one readable line."""
    return repr(text if len(text) <= limit else text[:limit] + "...")


#: Longest line of a message printed to a user; longer ones lose their middle.
MAX_MESSAGE_LINE = 400
#: Most lines of a message printed to a user; more lose the middle ones.
MAX_MESSAGE_LINES = 40
# Control characters but tab and newline: an escape sequence in a hostile path or id
# would restyle or retitle the user's terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def bounded(message: str, limit: int = MAX_MESSAGE_LINE, lines: int = MAX_MESSAGE_LINES) -> str:
    """``message`` as it may reach a terminal: control characters (but tab and newline)
    shown as ``?``, every line over ``limit`` characters cut in the middle, and at most
    ``lines`` lines (the middle ones cut), each cut said. The last guard against a
    100,000-character id, a path full of newlines or escape sequences, wherever a
    message quotes one."""
    rows = []
    for line in _CONTROL.sub("?", message).split("\n"):
        if len(line) > limit:
            head, tail = line[: limit * 2 // 3], line[-(limit // 3) :]
            line = f"{head}[... {len(line) - len(head) - len(tail):,} characters ...]{tail}"
        rows.append(line)
    if len(rows) > lines:
        keep = lines - 6
        rows = [*rows[:keep], f"[... {len(rows) - keep - 5:,} more lines ...]", *rows[-5:]]
    return "\n".join(rows)
