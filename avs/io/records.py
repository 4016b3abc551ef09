"""Small immutable records shared by the parsers, scorers and writers.

Topic numbers: AVS numbers (701) in topic files, Parquet runs and XML; qrels and TREC
run files use "1" + number ("1701"). Convert only through :func:`qrels_topic` and
:func:`avs_topic`.
"""

from __future__ import annotations

from typing import NamedTuple


class Topic(NamedTuple):
    """One line of a topic file."""

    number: int  # AVS topic number, e.g. 701
    text: str  # the query text, stripped
    line: int  # 1-based line in the file it came from


class Qrel(NamedTuple):
    """One NIST judgement (sample_eval's 5-field qrels; iter is dropped)."""

    topic: str  # as written in the qrels file, e.g. "1701"
    shot: str  # shot id, e.g. "shot00615_76"
    stratum: str  # stratum label ("1", "2", ...); "1" for 4-field TREC qrels
    rel: int  # 1+ relevant (grade), 0 judged non-relevant, -1 pooled but not judged


class RunRecord(NamedTuple):
    """One ranked shot of a run, as sample_eval sees it (iter, rank and tag ignored)."""

    topic: str  # qrels-style topic id, e.g. "1701"
    shot: str
    score: float


#: Longest topic or stratum number a file may hold (NIST's have 4 and 1-2 digits): int()
#: of thousands of digits raises ValueError where topics are sorted numerically.
MAX_DIGITS = 9


def qrels_topic(number: int) -> str:
    """AVS topic number -> qrels/TREC topic id: 701 -> "1701"."""
    return f"1{number}"


def avs_topic(topic: str) -> int:
    """qrels/TREC topic id -> AVS topic number: "1701" -> 701.

    Raises ValueError for ids that do not start with "1" followed by digits."""
    if not 2 <= len(topic) <= MAX_DIGITS + 1 or topic[0] != "1" or not topic[1:].isdigit():
        raise ValueError(f"not a TRECVID qrels topic id: {topic!r}")
    return int(topic[1:])
