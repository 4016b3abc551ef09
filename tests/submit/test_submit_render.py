"""Rendering: files for each year's rules validate, values are escaped, XML reads back."""

from __future__ import annotations

import xml.etree.ElementTree as StdET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from avs.io.runs import read_run
from avs.io.xmlrun import read_xml_runs
from avs.submit import SubmitSettings, check, submit
from avs.submit.render import RunResult, TopicResult, render_xml, xml_safe
from avs.submit.years import rules_for_year

TEAM = dict(pid="TEAM", tr_type="D", class_="F", descs=("test run",))


def _settings(runs, year, **extra) -> SubmitSettings:
    fields = dict(TEAM, runs=tuple(runs), priorities=(1,), year=year)
    if year >= 2019:
        fields.update(task="M", novelty="C")
    if year >= 2023:
        fields.update(algo="V")
    fields.update(extra)
    return SubmitSettings(**fields)


@pytest.mark.parametrize(
    ("year", "topic_file", "run_id"),
    [
        (2016, "2016.txt", "F_D_TEAM.16_1"),
        (2018, "2018.txt", "F_D_TEAM.18_1"),
        (2019, "2019.txt", "F_M_C_D_TEAM.19_1"),
        (2021, "2021.txt", "F_M_C_D_TEAM.21_1"),
        (2022, "2022.txt", "F_M_C_D_TEAM.22_1"),
    ],
)
def test_rendered_run_validates(
    workdir: Path, new_run, topics_of, year: int, topic_file: str, run_id: str
) -> None:
    run = new_run(workdir / "run.parquet", year, topics_of(topic_file), iacc=year < 2019)
    result = submit(_settings([run], year))
    assert result.written
    assert result.path == workdir / "runs" / f"{run_id}.xml"
    assert result.runs[0].run_id == run_id
    report = check(result.path)
    assert report.ok, report.problems
    assert report.year == year
    tree = etree.parse(str(result.path), etree.XMLParser(load_dtd=False, no_network=True))
    assert f"/tv{year}/dtds/videoAdhocSearchResults.dtd" in tree.docinfo.system_url
    attrs = tree.getroot()[0].attrib
    assert ("task" in attrs) == (year >= 2019)
    assert ("novelty" in attrs) == (year >= 2019)
    assert "algo" not in attrs


def test_2023_run_carries_algo(workdir: Path, new_run) -> None:
    topics = workdir / "tv23.txt"
    topics.write_text("731 a dog\n732 a cat\n", encoding="utf-8")
    run = new_run(workdir / "run.parquet", 2023, [731, 732])
    result = submit(_settings([run], 2023, topics=topics))
    assert check(result.path, topics=topics).ok
    assert etree.parse(str(result.path)).getroot()[0].get("algo") == "V"


def test_elapsed_time_is_rounded_up_to_whole_seconds(workdir: Path, new_run) -> None:
    topics = workdir / "t.txt"
    topics.write_text("701 a\n702 b\n703 c\n", encoding="utf-8")
    run = new_run(workdir / "run.parquet", 2022, [701, 702, 703], elapsed=0.0)
    # make_run records 0.0, 0.25, 0.5 seconds: all become 1 (at least one second)
    result = submit(_settings([run], 2022, topics=topics))
    assert [e for _, _, e in result.runs[0].topics] == [1, 1, 1]
    run = new_run(workdir / "run2.parquet", 2022, [701, 702, 703], elapsed=3.0)
    result = submit(_settings([run], 2022, topics=topics, out=workdir / "b.xml"))
    assert [e for _, _, e in result.runs[0].topics] == [3, 4, 4]  # 3.0, 3.25, 3.5


def test_several_runs_in_one_file_get_consecutive_priorities(
    workdir: Path, new_run, topics_of
) -> None:
    topics = topics_of("2022.txt")
    runs = [new_run(workdir / f"r{i}.parquet", 2022, topics, seed=i) for i in range(3)]
    result = submit(_settings(runs, 2022, priorities=(4,)))
    assert [r.priority for r in result.runs] == [4, 5, 6]
    assert result.path.name == "F_M_C_D_TEAM.22_4-5-6.xml"
    xml_runs = read_xml_runs(result.path)
    assert [r.run_id for r in xml_runs] == [f"F_M_C_D_TEAM.22_{p}" for p in (4, 5, 6)]
    assert check(result.path).ok


def test_xml_round_trip_gives_the_parquet_ranking(workdir: Path, new_run, topics_of) -> None:
    """seqNum order = Parquet rank order, scored with NIST's 9999 - seqNum + 1."""
    run_path = new_run(workdir / "run.parquet", 2022, topics_of("2022.txt"), k=40)
    result = submit(_settings([run_path], 2022))
    (xml_run,) = read_xml_runs(result.path)
    run = read_run(run_path)
    assert xml_run.pid == "TEAM" and xml_run.priority == "1" and xml_run.year == 2022
    assert xml_run.topics == run.topics
    for number in run.topics:
        shots, _ = run.ranking(number)
        got = [r for r in xml_run.records if r.topic == f"1{number}"]
        assert [r.shot for r in got] == list(shots)
        assert [r.score for r in got] == [float(9999 - i + 1) for i in range(1, len(shots) + 1)]
    assert xml_run.elapsed[701] == 3  # 2.5 s rounded up


HOSTILE = [
    "quote \" and apostrophe ' here",
    "<desc>&amp;</desc> & < >",
    "]]> <![CDATA[ x ]]>",
    "<!-- comment --> <?pi x?>",
    "&xxe; &#0; &#x1;",
    "tab\tnewline\ncarriage\r end",
    "nul\x00 bell\x07 escape\x1b vertical\x0b formfeed\x0c",
    "\ufffe\uffff non-characters",
    "unicode: café 北京 🎬",
    "",
]


@pytest.mark.parametrize("desc", HOSTILE)
def test_hostile_desc_stays_well_formed(workdir: Path, new_run, desc: str) -> None:
    topics = workdir / "t.txt"
    topics.write_text("701 a\n", encoding="utf-8")
    run = new_run(workdir / "run.parquet", 2022, [701])
    result = submit(_settings([run], 2022, topics=topics, descs=(desc,)))
    data = result.path.read_bytes()
    # Two independent strict parsers: lxml (no recovery) and the standard library's expat.
    root = etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    assert root[0].get("desc") == xml_safe(desc)[0]
    std_root = StdET.fromstring(data)
    assert std_root[0].get("desc") == xml_safe(desc)[0]
    assert check(result.path, topics=topics).ok


def test_printable_desc_reads_back_unchanged(workdir: Path, new_run) -> None:
    topics = workdir / "t.txt"
    topics.write_text("701 a\n", encoding="utf-8")
    run = new_run(workdir / "run.parquet", 2022, [701])
    desc = "A&B <c> \"d\" 'e' ]]> f"
    result = submit(_settings([run], 2022, topics=topics, descs=(desc,)))
    (xml_run,) = read_xml_runs(result.path)
    assert xml_run.attributes["desc"] == desc


@settings(max_examples=200, deadline=None)
@given(desc=st.text(), shot=st.text(max_size=20))
def test_any_string_renders_well_formed(desc: str, shot: str) -> None:
    rules = rules_for_year(2022)
    run = RunResult(
        [("trType", "D"), ("class", "F"), ("pid", desc), ("priority", "1"), ("desc", desc)],
        [TopicResult(701, 1, [shot, "shot00001_1"])],
    )
    data = render_xml([run], rules)
    root = etree.fromstring(data, etree.XMLParser(recover=False, resolve_entities=False))
    assert root[0].get("desc") == xml_safe(desc)[0]
    assert root[0][0][0].get("shotId") == xml_safe(shot)[0]
