"""TREC run files: the real 2021 RUCMM run, round trip, strict errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from avs.errors import AvsError, FormatError
from avs.io.records import RunRecord
from avs.io.trecrun import group_by_topic, read_trec_run, read_trec_topics, write_trec_run


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


def _grouped(records: list[RunRecord]) -> dict[str, list[tuple[str, float]]]:
    """The grouping done the obvious way, one record at a time."""
    out: dict[str, list[tuple[str, float]]] = {}
    for rec in records:
        out.setdefault(rec.topic, []).append((rec.shot, rec.score))
    return out


def test_read_trec_topics_groups_the_real_run(run_2021: Path):
    topics = read_trec_topics(run_2021)
    assert topics == _grouped(read_trec_run(run_2021))
    assert list(topics)[0] == "1661" and len(topics) == 20
    assert all(len(v) == 1000 for v in topics.values())


def test_read_trec_topics_keeps_interleaving_duplicates_and_odd_whitespace(tmp_path: Path):
    path = tmp_path / "odd.trec"
    path.write_bytes(
        b"\xef\xbb\xbf1702 0 s1 1 0.5 t\r\n"  # BOM, CRLF
        b"\n"
        b"  1701\tQ0  s2 1 0.9 t  \n"  # tabs, leading and double spaces
        b"1702 0 s1 2 0.5 t\n"  # duplicate shot, kept
        b"1701 0 s3 2 1e-3 t\x0b\n"  # vertical tab at the end
        b"1702 0 s4 3 -2 t\n\n\n"
    )
    assert read_trec_topics(path) == {
        "1702": [("s1", 0.5), ("s1", 0.5), ("s4", -2.0)],
        "1701": [("s2", 0.9), ("s3", 0.001)],
    }
    assert read_trec_topics(path) == _grouped(read_trec_run(path))


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("1701 0 s1 1 0.5 t\n1701 0 s2 2 0.4\n", 2, "expected 6 fields"),
        ("1701 0 s1 1 0.5 t\n\n1701 0 s2 2 inf t\n", 3, "finite"),
        ("1701 0 s1 1 x t\n", 1, "score must be a number"),
        ("\n \n", None, "no run records"),
    ],
)
def test_read_trec_topics_errors_match_read_trec_run(
    tmp_path: Path, content: str, line: int | None, words: str
):
    path = tmp_path / "bad.trec"
    path.write_text(content)
    for reader in (read_trec_run, read_trec_topics):
        with pytest.raises(FormatError) as err:
            reader(path)
        assert err.value.line == line
        assert words in str(err.value)


def test_missing_run_file_is_one_clear_error(tmp_path: Path):
    with pytest.raises(AvsError, match="no such run file"):
        read_trec_topics(tmp_path / "absent.trec")


def test_group_by_topic_preserves_file_order():
    topics = ["1", "1", "2", "1", "3", "3", "2"]
    shots = ["a", "b", "c", "d", "e", "f", "g"]
    scores = [float(i) for i in range(7)]
    assert group_by_topic(topics, shots, scores) == {
        "1": [("a", 0.0), ("b", 1.0), ("d", 3.0)],
        "2": [("c", 2.0), ("g", 6.0)],
        "3": [("e", 4.0), ("f", 5.0)],
    }
    assert group_by_topic([], [], []) == {}


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["1701", "1702", "1703"]), _word, st.integers(-5, 5)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from([" ", "\t", "  ", " \t "]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_read_trec_topics_equals_records_grouped(tmp_path_factory, rows, sep, end):
    """Any interleaving, duplicates and separators: grouped == records grouped by hand."""
    text = end.join(
        sep.join([t, "0", s, str(r), str(v), "tag"]) for r, (t, s, v) in enumerate(rows)
    )
    path = tmp_path_factory.mktemp("run") / "r.trec"
    path.write_text(text + end, newline="")
    assert read_trec_topics(path) == _grouped(read_trec_run(path))
    assert [rec.shot for rec in read_trec_run(path)] == [s for _, s, _ in rows]


def test_a_topic_of_thousands_of_digits_is_one_error(tmp_path) -> None:
    """Issue #16: int() of 5,000 digits raised a bare ValueError where topics are sorted."""
    from avs.errors import FormatError
    from avs.io.trecrun import read_trec_topics

    path = tmp_path / "big.trec"
    path.write_text("1661 0 shot00001_1 1 0.5 x\n" + "1" * 5000 + " 0 shot00001_2 2 0.4 x\n")
    with pytest.raises(
        FormatError, match=r"line 2, field 'topic': topic '1{20}\.\.\.' is too long"
    ):
        read_trec_topics(path)
