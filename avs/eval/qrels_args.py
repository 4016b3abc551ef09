"""``--qrels YEAR=PATH`` or ``--qrels PATH``: one parser for every command that takes
qrels of several years (``avs report``, ``avs fuse-learn``)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avs.errors import AvsError, short
from avs.trecvid import YEARS

__all__ = ["parse_qrels_specs"]


def parse_qrels_specs(specs: Sequence[str]) -> list[tuple[str | None, Path]]:
    """``["2021=a.qrels", "b.qrels"]`` -> [("2021", a), (None, b)]: a bare path's year is
    left to the caller (it comes from the qrels' topic ids). AvsError listing every
    malformed spec."""
    parsed: list[tuple[str | None, Path]] = []
    problems = []
    for spec in specs:
        year, sep, path = spec.partition("=")
        if not sep:
            parsed.append((None, Path(spec)))
        elif year not in YEARS:
            problems.append(
                f"--qrels {short(spec)}: unknown year {short(year)} (use one of {', '.join(YEARS)})"
            )
        elif not path:
            problems.append(f"--qrels {short(spec)}: no path after '='")
        else:
            parsed.append((year, Path(path)))
    if problems:
        raise AvsError("\n".join(problems))
    return parsed
