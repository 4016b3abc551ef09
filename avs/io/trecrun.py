"""TREC run files: ``topic iter shot rank score tag``, six fields a line.

Read as sample_eval.pl reads them (iter, rank and tag ignored) but strictly: a wrong
field count, a non-numeric or non-finite score is an error naming the line.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from itertools import groupby
from pathlib import Path

from avs.errors import AvsError, FormatError, short
from avs.io.atomic import atomic_open
from avs.io.records import MAX_DIGITS, RunRecord
from avs.io.textfile import gc_paused, read_text
from avs.ties import rank_key

__all__ = ["group_by_topic", "read_trec_run", "read_trec_topics", "write_trec_run"]

#: A run as the scorers take it: topic id -> [(shot, score), ...] in file order.
Topics = dict[str, list[tuple[str, float]]]
#: The three fields sample_eval reads, as parallel columns in file order.
Columns = tuple[list[str], list[str], list[float]]


def read_trec_run(path: str | Path) -> list[RunRecord]:
    """Read a 6-field TREC run into records, in file order.

    Blank lines are skipped. Raises :class:`FormatError` for a line without exactly
    six fields, a score that is not a finite number, or a file with no records."""
    path = Path(path)
    with gc_paused():
        topics, shots, scores = _read_columns(path)
        return list(map(RunRecord, topics, shots, scores))


def read_trec_topics(path: str | Path) -> Topics:
    """Read a 6-field TREC run grouped by topic: topic id -> [(shot, score), ...].

    Same checks and errors as :func:`read_trec_run`; every record is kept (duplicates
    included) in file order within its topic, topics in order of first appearance.
    This is what scoring needs, built without a record object per line."""
    path = Path(path)
    with gc_paused():
        return group_by_topic(*_read_columns(path))


def group_by_topic(topics: list[str], shots: list[str], scores: list[float]) -> Topics:
    """Parallel columns -> topic id -> [(shot, score), ...], file order kept.

    Runs list each topic's records together, so this takes one slice per block of
    equal topics rather than one append per record."""
    pairs = list(zip(shots, scores, strict=True))
    grouped: Topics = {}
    start = 0
    for topic, block in groupby(topics):
        stop = start + len(list(block))
        grouped.setdefault(topic, []).extend(pairs[start:stop])
        start = stop
    return grouped


def _read_columns(path: Path) -> Columns:
    """The topic, shot and score columns of a run file, in file order."""
    return _parse(path, read_text(path, "run").split("\n"))


def _parse(path: Path, lines: list[str]) -> Columns:
    """One pass over the lines (fields split on any whitespace), errors naming the line.

    Columns rather than a record per line: the record objects cost more than the
    parsing, and scoring groups the columns right away (:func:`group_by_topic`)."""
    topics: list[str] = []
    shots: list[str] = []
    scores: list[float] = []
    isfinite = math.isfinite
    for lineno, parts in enumerate(map(str.split, lines), start=1):
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
        topics.append(parts[0])
        shots.append(parts[2])
        scores.append(score)
    if not topics:
        raise FormatError(path, "no run records in file")
    bad = next((t for t in set(topics) if len(t) > MAX_DIGITS + 1), None)
    if bad is not None:  # thousands of digits would fail where topics are sorted as numbers
        lineno = next(i for i, line in enumerate(lines, 1) if line.split()[:1] == [bad])
        raise FormatError(path, f"topic {short(bad, 20)} is too long", line=lineno, field="topic")
    return topics, shots, scores


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
