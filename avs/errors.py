"""Errors a user can cause. The CLI prints them as one line and exits non-zero.

Raise these (never ``assert``) for anything wrong with input files, options or the
workspace; a traceback means a bug in avs, not in the user's data.
"""

from __future__ import annotations

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
            where += f", field {field!r}"
        super().__init__(f"{where}: {message}")


class FormatErrors(AvsError):
    """Several problems found in one pass, reported together (e.g. XML validation)."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {len(self.problems)} problem(s):\n{lines}")
