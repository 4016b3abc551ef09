"""TREC run files: ``topic iter shot rank score tag``, six fields a line.

Read as sample_eval.pl reads them (iter, rank and tag ignored) but strictly: a wrong
field count, a non-numeric or non-finite score is an error naming the line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from avs.errors import AvsError, FormatError
from avs.io.atomic import atomic_open
from avs.io.records import RunRecord
from avs.io.textfile import gc_paused, read_text, short
from avs.ties import rank_key

__all__ = ["read_trec_run", "write_trec_run"]


def read_trec_run(path: str | Path) -> list[RunRecord]:
    """Read a 6-field TREC run into records, in file order.

    Blank lines are skipped. Raises :class:`FormatError` for a line without exactly
    six fields, a score that is not a finite number, or a file with no records."""
    path = Path(path)
    with gc_paused():
        return _parse(path, read_text(path, "run").split("\n"))


def _parse(path: Path, lines: list[str]) -> list[RunRecord]:
    out: list[RunRecord] = []
    append = out.append
    isfinite = math.isfinite
    for lineno, line in enumerate(lines, start=1):
        parts = line.split()
        if len(parts) != 6:
            if not parts:
                continue
            raise FormatError(
                path,
                f"expected 6 fields 'topic iter shot rank score tag', got {len(parts)}",
                line=lineno,
            )
        try:
            score = float(parts[4])
        except ValueError:
            raise FormatError(
                path, f"score must be a number, got {short(parts[4])}", line=lineno, field="score"
            ) from None
        if not isfinite(score):
            raise FormatError(
                path, f"score must be finite, got {short(parts[4])}", line=lineno, field="score"
            )
        append(RunRecord(parts[0], parts[2], score))
    if not out:
        raise FormatError(path, "no run records in file")
    return out


def write_trec_run(path: str | Path, records: Iterable[RunRecord], tag: str) -> None:
    """Write records as a TREC run, atomically.

    Topics keep the order of their first appearance; within a topic records are
    sorted by the avs tie rule (score descending, then shot id descending) and
    ranked from 1, so the file reads the same in any tool."""
    if not tag or any(c.isspace() for c in tag):
        raise AvsError(f"run tag must be one word without spaces, got {tag!r}")
    by_topic: dict[str, list[RunRecord]] = {}
    for rec in records:
        score = float(rec.score)
        if not math.isfinite(score):
            raise AvsError(f"topic {rec.topic}, shot {rec.shot}: score is {score}")
        by_topic.setdefault(rec.topic, []).append(rec)
    with atomic_open(path, "w") as fh:
        for topic, recs in by_topic.items():
            recs.sort(key=lambda r: rank_key((r.shot, float(r.score))), reverse=True)
            fh.writelines(
                f"{topic} 0 {r.shot} {rank} {float(r.score)!r} {tag}\n"
                for rank, r in enumerate(recs, start=1)
            )
