"""Property tests for the text parsers: topics, qrels, TREC runs, captions, id lists,
Parquet runs and submission XML.

Two properties per parser:
- round trip: a generated valid file parses to exactly what was written;
- hostile input: any bytes (random, or a valid file mutated with tokens that broke
  other tools: BOMs, CR, NUL, U+2028, "1_0", 5000-digit numbers, NaN) either parse or
  raise FormatError naming the file. Never another exception, a hang or a crash.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from avs.errors import FormatError
from avs.io.captions import Caption, read_captions, read_id_list, write_captions, write_id_list
from avs.io.qrels import read_qrels, write_qrels
from avs.io.records import Qrel, RunRecord
from avs.io.runs import read_run, write_run
from avs.io.topics import read_topics
from avs.io.trecrun import read_trec_run, write_trec_run
from avs.io.xmlrun import read_xml_runs
from avs.submit.validate import validate_xml

EXAMPLES = 150
PROPS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Tokens that broke, or could break, TREC tooling: number forms Python's int() and
# float() accept but NIST's Perl does not, invisible separators, huge numbers.
NASTY = [
    "701", "1701", "0", "-1", "+1", "1_0", "\u0661", "\u00b2", "nan", "inf", "-inf",
    "1e999", "0x10", "9" * 5000, "shot00001_1", "video#0", "v#enc#3", "#", "##", "\ufeff",
    "\x00", "\r", "\t", " ", "  ", "\n", "\r\n", "\u2028", "\x85", "\x0c", "\xa0",
    "\u00e9", "\U0001f600", "<", "&amp;", "]]>", "'", '"',
]  # fmt: skip


def _words(min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    """One whitespace-free token (what str.split() keeps whole), no BOM."""
    alphabet = st.characters(blacklist_categories=("Cs",), blacklist_characters="\ufeff")
    return st.text(alphabet, min_size=min_size, max_size=max_size).filter(
        lambda w: w.split() == [w]
    )


def _hostile_text() -> st.SearchStrategy[str]:
    """Lines of nasty tokens and free text joined by random separators."""
    token = st.sampled_from(NASTY) | st.text(max_size=8)
    line = st.lists(token, max_size=8).map("".join)
    return st.lists(line, max_size=12).map("\n".join)


def _hostile_bytes() -> st.SearchStrategy[bytes]:
    """Hostile text encoded as UTF-8, as Latin-1 (invalid UTF-8), or raw bytes."""
    text = _hostile_text()
    return st.one_of(
        text.map(lambda t: t.encode("utf-8", "surrogatepass")),
        text.map(lambda t: t.encode("latin-1", "replace")),
        st.binary(max_size=400),
    )


def _mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, length to delete, bytes to insert) edits to ``data``."""
    for pos, cut, insert in edits:
        pos = pos % (len(data) + 1)
        data = data[:pos] + insert + data[pos + cut :]
    return data


EDITS = st.lists(
    st.tuples(
        st.integers(0, 10_000),
        st.integers(0, 40),
        st.sampled_from(NASTY).map(lambda t: t.encode("utf-8", "surrogatepass"))
        | st.binary(max_size=6),
    ),
    min_size=1,
    max_size=5,
)


def parse_or_format_error(parse: Callable[[Path], Any], data: bytes, name: str) -> Any:
    """Write ``data`` to a file, parse it; a FormatError must name the file.
    Any other exception fails the test (hypothesis shows the input)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return parse(path)
        except FormatError as err:
            assert str(path) in str(err)
            assert len(str(err)) < 2000, "message quotes too much of the input"
            return None


# ---------------------------------------------------------------- topics


@PROPS
@given(
    st.dictionaries(
        st.integers(1, 99_999),
        # CR, LF and CRLF all end a topic line (a CR-only file is many topics, not one), so
        # a topic's text holds neither.
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r")).filter(
            lambda t: bool(t.strip())
        ),
        min_size=1,
        max_size=20,
    ),
    st.sampled_from([" ", "  ", "\t"]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.booleans(),
)
def test_topics_round_trip(
    topics: dict[int, str], sep: str, eol: str, final_eol: bool, bom: bool
) -> None:
    text = eol.join(f"{n}{sep}{t}" for n, t in topics.items()) + (eol if final_eol else "")
    data = ("\ufeff" if bom else "").encode() + text.encode("utf-8")
    got = parse_or_format_error(read_topics, data, "topics.txt")
    assert got is not None
    assert [(t.number, t.text) for t in got] == [(n, t.strip()) for n, t in topics.items()]


@PROPS
@given(_hostile_bytes())
def test_topics_hostile(data: bytes) -> None:
    got = parse_or_format_error(read_topics, data, "topics.txt")
    if got is not None:
        assert got and len({t.number for t in got}) == len(got)
        assert all(t.text and t.text == t.text.strip() for t in got)


# ---------------------------------------------------------------- qrels


_QRELS = st.lists(
    st.builds(
        Qrel,
        st.integers(1000, 1999).map(str),
        _words(),
        _words(max_size=3),
        st.integers(-1, 3),
    ),
    min_size=1,
    max_size=30,
)


@PROPS
@given(_QRELS)
def test_qrels_round_trip(qrels: list[Qrel]) -> None:
    def parse(path: Path) -> list[Qrel]:
        write_qrels(path, qrels)
        return read_qrels(path)

    assert parse_or_format_error(parse, b"", "q.qrels") == qrels


@PROPS
@given(_QRELS)
def test_four_field_qrels_get_stratum_1(qrels: list[Qrel]) -> None:
    data = "".join(f"{q.topic} 0 {q.shot} {q.rel}\n" for q in qrels).encode()
    got = parse_or_format_error(read_qrels, data, "q.qrels")
    assert got == [q._replace(stratum="1") for q in qrels]


@PROPS
@given(_QRELS, EDITS)
def test_qrels_hostile(qrels: list[Qrel], edits: list[tuple[int, int, bytes]]) -> None:
    data = "".join(f"{q.topic} 0 {q.shot} {q.stratum} {q.rel}\n" for q in qrels).encode()
    got = parse_or_format_error(read_qrels, _mutate(data, edits), "q.qrels")
    if got is not None:
        assert all(isinstance(q.rel, int) for q in got)


@PROPS
@given(_hostile_bytes())
def test_qrels_random_bytes(data: bytes) -> None:
    parse_or_format_error(read_qrels, data, "q.qrels")


# ---------------------------------------------------------------- TREC runs


_RECORDS = st.lists(
    st.builds(
        RunRecord,
        st.integers(1000, 1010).map(str),
        _words(),
        st.floats(allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=30,
)


@PROPS
@given(_RECORDS, _words())
def test_trec_run_round_trip(records: list[RunRecord], tag: str) -> None:
    def parse(path: Path) -> list[RunRecord]:
        write_trec_run(path, records, tag)
        return read_trec_run(path)

    got = parse_or_format_error(parse, b"", "r.trec")
    # expected: topics in order of first appearance, each ranked by the tie rule
    topics = list(dict.fromkeys(r.topic for r in records))
    expected = []
    for t in topics:
        recs = [r for r in records if r.topic == t]
        expected += sorted(recs, key=lambda r: (-r.score, _desc(r.shot)))
    assert [(r.topic, r.shot) for r in got] == [(r.topic, r.shot) for r in expected]
    assert [r.score for r in got] == [r.score for r in expected]


def _desc(text: str) -> tuple[int, ...]:
    """Sort key giving descending string order."""
    return tuple(-ord(c) for c in text) + (1,)


@PROPS
@given(_RECORDS, EDITS)
def test_trec_run_hostile(records: list[RunRecord], edits: list[tuple[int, int, bytes]]) -> None:
    data = "".join(f"{r.topic} Q0 {r.shot} 1 {r.score!r} tag\n" for r in records).encode()
    got = parse_or_format_error(read_trec_run, _mutate(data, edits), "r.trec")
    if got is not None:
        assert all(np.isfinite(r.score) for r in got)


@PROPS
@given(_hostile_bytes())
def test_trec_run_random_bytes(data: bytes) -> None:
    parse_or_format_error(read_trec_run, data, "r.trec")


# ---------------------------------------------------------------- captions, id lists


@PROPS
@given(
    st.dictionaries(
        st.tuples(_words().filter(lambda w: "#" not in w), st.integers(0, 99)),
        st.text(st.characters(blacklist_categories=("Cs",))).filter(lambda t: bool(t.split())),
        min_size=1,
        max_size=20,
    )
)
def test_captions_round_trip(caps: dict[tuple[str, int], str]) -> None:
    records = [Caption(f"{v}#{n}", v, text) for (v, n), text in caps.items()]

    def parse(path: Path) -> list[Caption]:
        write_captions(path, records)
        return read_captions(path)

    got = parse_or_format_error(parse, b"", "captions.txt")
    assert got == [c._replace(text=" ".join(c.text.split())) for c in records]


@PROPS
@given(_hostile_bytes())
def test_captions_hostile(data: bytes) -> None:
    got = parse_or_format_error(read_captions, data, "captions.txt")
    if got is not None:
        assert all(c.text and "#" in c.caption_id for c in got)


@PROPS
@given(st.lists(_words(), unique=True, max_size=30))
def test_id_list_round_trip(ids: list[str]) -> None:
    def parse(path: Path) -> list[str]:
        write_id_list(path, ids)
        return read_id_list(path)

    assert parse_or_format_error(parse, b"", "train.txt") == ids


@PROPS
@given(_hostile_bytes())
def test_id_list_hostile(data: bytes) -> None:
    parse_or_format_error(read_id_list, data, "train.txt")


# ---------------------------------------------------------------- Parquet runs

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(PROPS, max_examples=100)
@given(st.dictionaries(st.sampled_from(["elapsed", "year", "run_name", "simulated"]), _JSON))
def test_parquet_run_hostile_metadata(meta: dict[str, Any]) -> None:
    """Metadata is another tool's JSON: what read_run accepts, ``avs submit`` must be
    able to use (elapsed per topic, the year) without a TypeError."""
    from avs.submit.api import _pick_year

    def parse(path: Path) -> None:
        write_run(path, np.array([701]), np.array([1]), np.array(["shot00001_1"]), [0.5], {})
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = json.dumps(meta).encode()
        pq.write_table(table.replace_schema_metadata({b"avs": raw}), path)
        run = read_run(path)
        run.elapsed(701)
        _pick_year(None, [run], [])

    parse_or_format_error(parse, b"", "run.parquet")


@PROPS
@given(st.binary(max_size=600), EDITS)
def test_parquet_run_hostile_bytes(data: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "good.parquet"
        write_run(path, np.array([701, 701]), np.array([1, 2]), np.array(["a", "b"]), [2, 1], {})
        good = path.read_bytes()
    for sample in (data, _mutate(good, edits)):
        parse_or_format_error(read_run, sample, "run.parquet")


# ---------------------------------------------------------------- submission XML

GOOD_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE videoAdhocSearchResults SYSTEM "https://www-nlpir.nist.gov/projects/tv2022/dtds/videoAdhocSearchResults.dtd">
<videoAdhocSearchResults>
  <videoAdhocSearchRunResult trType="D" class="F" task="M" novelty="C" pid="T" priority="1" desc="d">
    <videoAdhocSearchTopicResult tNum="701" elapsedTime="12">
      <item seqNum="1" shotId="shot01234_5"/>
      <item seqNum="2" shotId="shot01234_6"/>
    </videoAdhocSearchTopicResult>
  </videoAdhocSearchRunResult>
</videoAdhocSearchResults>
"""


@PROPS
@given(EDITS)
def test_xml_runs_hostile(edits: list[tuple[int, int, bytes]]) -> None:
    """A mutated submission: read_xml_runs parses or raises FormatError, and the
    validator reports problems instead of raising."""
    data = _mutate(GOOD_XML, edits)
    got = parse_or_format_error(read_xml_runs, data, "run.xml")
    if got is not None:
        for run in got:
            assert all(r.topic.startswith("1") for r in run.records)
    with tempfile.TemporaryDirectory() as tmp:
        topics = Path(tmp) / "t.txt"
        topics.write_text("701 a topic\n")
        report = validate_xml(data, path="run.xml", topics=topics)
    if data == GOOD_XML:  # an edit may cancel out
        assert report.ok, report.problems
    assert all(len(p) < 2000 for p in report.problems)


@PROPS
@given(_hostile_bytes())
def test_xml_runs_random_bytes(data: bytes) -> None:
    parse_or_format_error(read_xml_runs, data, "run.xml")
    report = validate_xml(data, path="run.xml", topics="/nonexistent/topics.txt")
    assert not report.ok
