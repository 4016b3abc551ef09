"""Caption files and video-id lists in the RUC layout.

Captions: one a line, ``<video_id>#<n> <sentence>``, split on the first whitespace
(``video7#0 a man rides a bike``). Video-id lists (train.txt, val.txt, test.txt):
one id a line.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from avs.errors import AvsError, FormatError, short
from avs.io.atomic import atomic_open
from avs.io.textfile import read_text, text_lines

__all__ = ["Caption", "read_captions", "read_id_list", "write_captions", "write_id_list"]


class Caption(NamedTuple):
    """One line of a caption file."""

    caption_id: str  # "video7#0"
    video_id: str  # "video7" (the part before the first '#')
    text: str  # the sentence, stripped


def read_captions(path: str | Path) -> list[Caption]:
    """Read a caption file into :class:`Caption` records, in file order.

    Blank lines are skipped. Raises :class:`FormatError` naming the line for an id
    without ``#<n>``, a repeated caption id or a caption without text."""
    path = Path(path)
    out: list[Caption] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text_lines(read_text(path, "caption")), start=1):
        line = raw.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        cap_id = parts[0]
        video = cap_id.split("#", 1)[0]
        if not _valid_caption_id(cap_id):
            raise FormatError(
                path, f"caption id must be '<video_id>#<n>', got {short(cap_id)}", line=lineno
            )
        if cap_id in seen:
            raise FormatError(
                path,
                f"caption id {short(cap_id)} repeated (first on line {seen[cap_id]})",
                line=lineno,
            )
        if len(parts) < 2:
            raise FormatError(path, f"caption {short(cap_id)} has no text", line=lineno)
        seen[cap_id] = lineno
        out.append(Caption(cap_id, video, parts[1].strip()))
    if not out:
        raise FormatError(path, "no captions in file")
    return out


def _valid_caption_id(cap_id: str) -> bool:
    # RUC ids may carry a tag between video and number ("video0#enc#0"); the video
    # is what precedes the first '#', as in RUC's own readers.
    video = cap_id.split("#", 1)[0]
    num = cap_id.rpartition("#")[2]
    return "#" in cap_id and bool(video) and num.isdigit() and not any(c.isspace() for c in cap_id)


def write_captions(path: str | Path, captions: Iterable[Caption | tuple[str, str, str]]) -> None:
    """Write ``(caption_id, video_id, text)`` records as a caption file, atomically."""
    with atomic_open(path, "w") as fh:
        for cap_id, _video, text in captions:
            cap_id = str(cap_id)
            # an id the reader would refuse (or split) must not reach the file
            if not _valid_caption_id(cap_id):
                raise AvsError(f"{path}: caption id must be '<video_id>#<n>', got {short(cap_id)}")
            text = " ".join(str(text).split())  # a newline would split the record
            if not text:
                raise AvsError(f"{path}: caption {short(cap_id)} has no text")
            fh.write(f"{cap_id} {text}\n")


def read_id_list(path: str | Path) -> list[str]:
    """Read a video-id list (one id a line; blank lines skipped) in file order.

    Raises :class:`FormatError` naming the line for a line holding more than one
    word or an id listed twice."""
    path = Path(path)
    out: list[str] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(text_lines(read_text(path, "id list")), start=1):
        parts = raw.split()
        if not parts:
            continue
        if len(parts) > 1:
            raise FormatError(path, f"expected one id a line, got {len(parts)} words", line=lineno)
        id_ = parts[0]
        if id_ in seen:
            raise FormatError(
                path, f"id {short(id_)} repeated (first on line {seen[id_]})", line=lineno
            )
        seen[id_] = lineno
        out.append(id_)
    return out


def write_id_list(path: str | Path, ids: Iterable[str]) -> None:
    """Write ids one a line, atomically."""
    with atomic_open(path, "w") as fh:
        for id_ in ids:
            id_ = str(id_)
            if not id_ or any(c.isspace() for c in id_):
                raise AvsError(f"{path}: an id cannot be empty or hold spaces: {short(id_)}")
            fh.write(f"{id_}\n")
