"""Qrels: the real 2021 file, 4-field TREC qrels, and strict errors with line numbers."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from avs.errors import FormatError
from avs.io.qrels import read_qrels, write_qrels
from avs.io.records import Qrel


def test_real_2021_qrels(qrels_2021: Path):
    qrels = read_qrels(qrels_2021)
    assert len(qrels) == 124431
    assert qrels[0] == Qrel("1661", "shot00008_16", "3", -1)
    assert qrels[-1] == Qrel("1680", "shot07474_299", "3", 0)
    assert Counter(q.rel for q in qrels) == {-1: 66013, 0: 42769, 1: 15649}
    assert {q.topic for q in qrels} == {f"1{n}" for n in range(661, 681)}
    assert {q.stratum for q in qrels} <= {"1", "2", "3"}


def test_real_2021_qrels_parse_fast(qrels_2021: Path):
    read_qrels(qrels_2021)  # warm the page cache
    best = min(_timed(read_qrels, qrels_2021) for _ in range(3))
    assert best < 0.5, f"read_qrels took {best:.2f} s"


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def test_four_field_trec_qrels_get_stratum_1(tmp_path: Path):
    path = tmp_path / "truth.qrels"
    path.write_text("1701 0 shot00001_1 1\n\n1701 0 shot00001_2 0\n")
    assert read_qrels(path) == [
        Qrel("1701", "shot00001_1", "1", 1),
        Qrel("1701", "shot00001_2", "1", 0),
    ]


def test_round_trip(tmp_path: Path):
    qrels = [Qrel("1701", "shot00001_1", "2", 1), Qrel("1702", "shot00002_5", "1", -1)]
    path = tmp_path / "out.qrels"
    write_qrels(path, qrels)
    assert path.read_text() == "1701 0 shot00001_1 2 1\n1702 0 shot00002_5 1 -1\n"
    assert read_qrels(path) == qrels
    assert [p.name for p in tmp_path.iterdir()] == ["out.qrels"]


@pytest.mark.parametrize(
    ("content", "line", "field", "words"),
    [
        # a 4-field line in a 5-field file: sample_eval would misalign it silently
        ("1701 0 s1 1 1\n1701 0 s2 1\n", 2, None, "expected 5 fields like line 1, got 4"),
        ("1701 0 s1 1\n1701 0 s2 1 1\n", 2, None, "expected 4 fields like line 1, got 5"),
        ("1701 0 s1 1 1 extra\n", 1, None, "got 6"),
        ("1701 0 s1 1 1\n1701 0 s2 1 yes\n", 2, "rel", "relevance must be an integer"),
        ("1701 0 s1 1 1.5\n", 1, "rel", "'1.5'"),
    ],
)
def test_malformed_qrels_name_the_line(
    tmp_path: Path, content: str, line: int, field: str | None, words: str
):
    path = tmp_path / "bad.qrels"
    path.write_text(content)
    with pytest.raises(FormatError) as err:
        read_qrels(path)
    assert (err.value.line, err.value.field) == (line, field)
    assert words in str(err.value) and str(path) in str(err.value)


def test_empty_qrels_is_an_error(tmp_path: Path):
    path = tmp_path / "empty.qrels"
    path.write_text("\n")
    with pytest.raises(FormatError, match="no judgements"):
        read_qrels(path)
