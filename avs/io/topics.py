"""TRECVID AVS topic files: one topic a line, ``<number><whitespace><text>``.

Real NIST copies vary: one or two spaces or a tab after the number, trailing spaces,
no final newline, CRLF or CR-only line ends, sometimes a UTF-8 BOM. All of them parse unedited;
a line without a number, a repeated number or an empty text is a :class:`FormatError`.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from avs.errors import AvsError, FormatError
from avs.io.records import Topic
from avs.io.textfile import decode_text, read_bytes, read_text, text_lines

__all__ = ["read_topics", "read_topics_sha256", "topics_sha256", "topics_year"]

MAX_DIGITS = 9  # longest topic number accepted (AVS numbers have 3 or 4 digits)


def read_topics(path: str | Path) -> list[Topic]:
    """Parse a topic file into :class:`Topic` records, in file order.

    Blank lines are skipped. Text is stripped of surrounding whitespace; inner
    whitespace is kept as written. Raises :class:`FormatError` (file and line) for a
    line not starting with a number, a number seen before, a number without text,
    and for a file with no topics at all."""
    path = Path(path)
    return _parse(read_text(path, "topic"), path)


def read_topics_sha256(path: str | Path) -> tuple[list[Topic], str]:
    """:func:`read_topics` and the hex SHA-256 of the very bytes parsed (one read: a file
    replaced meanwhile cannot give topics of one version and the hash of another)."""
    path = Path(path)
    data = read_bytes(path, "topic")
    return _parse(decode_text(data, path), path), hashlib.sha256(data).hexdigest()


def _parse(text: str, path: Path) -> list[Topic]:
    topics: list[Topic] = []
    seen: dict[int, int] = {}
    lines = text_lines(text)  # LF, CRLF or CR alone
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        head = parts[0]
        if not head.isascii() or not head.isdigit():
            raise FormatError(
                path, f"expected '<topic number> <text>', got {line[:40]!r}", line=lineno
            )
        if len(head) > MAX_DIGITS:
            # int() would raise ValueError past 4300 digits; no topic number is this long
            raise FormatError(path, f"topic number {head[:20]}... is too long", line=lineno)
        number = int(head)
        if number in seen:
            raise FormatError(
                path, f"topic {number} repeated (first on line {seen[number]})", line=lineno
            )
        if len(parts) < 2 or not parts[1].strip():
            raise FormatError(path, f"topic {number} has no text", line=lineno)
        seen[number] = lineno
        topics.append(Topic(number, parts[1].strip(), lineno))
    if not topics:
        raise FormatError(path, "no topics in file (expected '<number> <text>' lines)")
    return topics


_YEAR4 = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
_TVYY = re.compile(r"(?i)(?<![a-z])tv(\d\d)(?!\d)")


def topics_year(path: str | Path) -> int | None:
    """The TRECVID year a topic file belongs to, from its name, or None.

    ``2022.txt`` -> 2022, ``tv22.avs.txt`` -> 2022. Progress topics
    (``progress-2019-2021.txt``) span several years and give None, as does a name
    with no year or several different years."""
    name = Path(path).name
    if "progress" in name.lower():
        return None
    years = {int(y) for y in _YEAR4.findall(name)}
    years |= {2000 + int(y) for y in _TVYY.findall(name)}
    if len(years) == 1:
        return years.pop()
    return None


def topics_sha256(path: str | Path) -> str:
    """Hex SHA-256 of the topic file's bytes (recorded in runs to tie them to topics)."""
    path = Path(path)
    try:
        return hashlib.sha256(read_bytes(path, "topic")).hexdigest()
    except FileNotFoundError:
        raise AvsError(f"{path}: no such topic file") from None
