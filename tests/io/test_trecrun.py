"""TREC run files: the real 2021 RUCMM run, round trip, strict errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avs.errors import AvsError, FormatError
from avs.io.records import RunRecord
from avs.io.trecrun import read_trec_run, write_trec_run


def test_real_2021_run(run_2021: Path):
    records = read_trec_run(run_2021)
    assert len(records) == 20000
    assert records[0] == RunRecord("1661", "shot00615_76", 9999.0)
    assert len({r.topic for r in records}) == 20


def test_round_trip_orders_by_tie_rule(tmp_path: Path):
    records = [
        RunRecord("1701", "shot00001_2", 0.5),
        RunRecord("1701", "shot00001_3", 0.5),
        RunRecord("1701", "shot00009_1", 0.9),
        RunRecord("1702", "shot00002_1", 0.1),
    ]
    path = tmp_path / "run.trec"
    write_trec_run(path, records, "demo")
    assert path.read_text().splitlines() == [
        "1701 0 shot00009_1 1 0.9 demo",
        "1701 0 shot00001_3 2 0.5 demo",
        "1701 0 shot00001_2 3 0.5 demo",
        "1702 0 shot00002_1 1 0.1 demo",
    ]
    back = read_trec_run(path)
    assert sorted(back) == sorted(records)


def test_real_run_round_trips(run_2021: Path, tmp_path: Path):
    records = read_trec_run(run_2021)
    write_trec_run(tmp_path / "copy.trec", records, "RUCMM")
    assert read_trec_run(tmp_path / "copy.trec") == records


@pytest.mark.parametrize(
    ("content", "line", "field", "words"),
    [
        ("1701 0 s1 1 0.5 t\n1701 0 s2 2 0.4\n", 2, None, "expected 6 fields"),
        ("1701 0 s1 1 0.5 t x\n", 1, None, "got 7"),
        ("1701 0 s1 1 high t\n", 1, "score", "score must be a number"),
        ("1701 0 s1 1 nan t\n", 1, "score", "finite"),
        ("1701 0 s1 1 0.5 t\n\n1701 0 s2 2 -inf t\n", 3, "score", "finite"),
    ],
)
def test_malformed_runs_name_the_line(
    tmp_path: Path, content: str, line: int, field: str | None, words: str
):
    path = tmp_path / "bad.trec"
    path.write_text(content)
    with pytest.raises(FormatError) as err:
        read_trec_run(path)
    assert (err.value.line, err.value.field) == (line, field)
    assert words in str(err.value)


def test_write_refuses_bad_tag_and_nan_and_leaves_nothing(tmp_path: Path):
    with pytest.raises(AvsError, match="tag"):
        write_trec_run(tmp_path / "a.trec", [RunRecord("1701", "s", 1.0)], "two words")
    with pytest.raises(AvsError, match="nan"):
        write_trec_run(tmp_path / "b.trec", [RunRecord("1701", "s", math.nan)], "t")
    assert list(tmp_path.iterdir()) == []


_word = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_#", min_size=1, max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(500, 799),
            _word,
            st.floats(allow_nan=False, allow_infinity=False, width=64),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_write_read_round_trip_is_exact(tmp_path_factory, rows):
    """Scores survive the text round trip bit for bit (repr), so ties stay ties."""
    records = [RunRecord(f"1{t}", shot, score) for t, shot, score in rows]
    path = tmp_path_factory.mktemp("run") / "r.trec"
    write_trec_run(path, records, "tag")
    assert sorted(read_trec_run(path)) == sorted(records)
