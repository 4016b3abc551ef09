"""NIST qrels as sample_eval.pl reads them, but strictly.

TRECVID's sampled judgements have five fields, ``topic iter shot stratum rel``
(``1661 0 shot00008_16 3 -1``). Plain 4-field TREC qrels (``topic iter shot rel``)
are accepted when the whole file has four fields; their stratum is "1". Any line
with another field count is an error naming the line: never a silent misalignment.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from avs.errors import FormatError, short
from avs.io.atomic import atomic_open
from avs.io.records import MAX_DIGITS, Qrel
from avs.io.textfile import gc_paused, read_text, text_lines

__all__ = ["read_qrels", "write_qrels"]


def read_qrels(path: str | Path) -> list[Qrel]:
    """Read a 5-field NIST qrels file (or a wholly 4-field TREC one) into records.

    Blank lines are skipped. Raises :class:`FormatError` naming the line for a wrong
    field count and naming line and field for a non-integer ``rel``; an empty file
    is an error too."""
    path = Path(path)
    with gc_paused():
        lines = text_lines(read_text(path, "qrels"))
        qrels = _parse(path, lines)
    _check_numbers(path, qrels, lines)
    return qrels


def _check_numbers(path: Path, qrels: list[Qrel], lines: list[str]) -> None:
    """FormatError naming line and field for a numeric topic or stratum that is too long
    (checked on the few distinct values, not per line)."""
    for name, values in (
        ("topic", {q.topic for q in qrels}),
        ("stratum", {q.stratum for q in qrels}),
    ):
        bad = next((v for v in values if v.isdigit() and len(v) > MAX_DIGITS), None)
        if bad is not None:
            lineno = next(i for i, line in enumerate(lines, 1) if bad in line.split())
            raise FormatError(
                path, f"{name} number {short(bad, 20)} is too long", line=lineno, field=name
            )


def _parse(path: Path, lines: list[str]) -> list[Qrel]:
    rows = [line.split() for line in lines]
    widths = set(map(len, rows))
    widths.discard(0)
    # Fast path for a well-formed file (the 2021 qrels have 124k lines and eval must
    # start fast); anything odd goes through the line-by-line check for its message.
    if widths in ({5}, {4}):
        try:
            rels = [_REL.get(r[-1]) or int(r[-1]) for r in rows if r]
        except ValueError:
            pass
        else:
            new = tuple.__new__
            if widths == {5}:
                return [
                    new(Qrel, (r[0], r[2], r[3], v))
                    for r, v in zip(filter(None, rows), rels, strict=True)
                ]
            return [
                new(Qrel, (r[0], r[2], "1", v))
                for r, v in zip(filter(None, rows), rels, strict=True)
            ]
    _locate_error(path, rows)
    raise FormatError(path, "no judgements in file")


# the common values, looked up instead of parsed ("0" maps to 0, falsy: int() handles it)
_REL = {"-1": -1, "1": 1, "2": 2, "3": 3}


def _locate_error(path: Path, rows: list[list[str]]) -> None:
    """Raise the FormatError for the first bad line of ``rows`` (if there is one)."""
    width = first = 0  # field count fixed by the first record
    for lineno, parts in enumerate(rows, start=1):
        n = len(parts)
        if n == 0:
            continue
        if width == 0 and n in (4, 5):
            width, first = n, lineno
        elif width == 0:
            raise FormatError(
                path,
                f"expected 5 fields 'topic iter shot stratum rel' "
                f"(or 4: 'topic iter shot rel'), got {n}",
                line=lineno,
            )
        elif n != width:
            raise FormatError(
                path, f"expected {width} fields like line {first}, got {n}", line=lineno
            )
        try:
            int(parts[-1])
        except ValueError:
            raise FormatError(
                path,
                f"relevance must be an integer, got {short(parts[-1])}",
                line=lineno,
                field="rel",
            ) from None


def write_qrels(path: str | Path, qrels: Iterable[Qrel]) -> None:
    """Write records as 5-field NIST qrels (iter 0), atomically."""
    with atomic_open(path, "w") as fh:
        fh.writelines(f"{q.topic} 0 {q.shot} {q.stratum} {q.rel}\n" for q in qrels)
