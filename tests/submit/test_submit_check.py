"""`avs submit --check`: every way to break a run file is caught, all at once."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from avs.cli import main
from avs.io.xmlrun import read_xml_runs
from avs.submit import SubmitSettings, check, submit

# --- fixtures -------------------------------------------------------------------------


@pytest.fixture
def good_xml(workdir: Path, new_run, topics_of) -> Path:
    """A valid 2022 submission: one run, the 30 topics of topics/2022.txt, 5 items each."""
    run = new_run(workdir / "run.parquet", 2022, topics_of("2022.txt"))
    settings = SubmitSettings(
        runs=(run,),
        pid="TEAM",
        priorities=(1,),
        tr_type="D",
        class_="F",
        task="M",
        novelty="C",
        descs=("good",),
        out=workdir / "good.xml",
    )
    return submit(settings).path


def _parse(path: Path) -> etree._ElementTree:
    return etree.parse(str(path), etree.XMLParser(load_dtd=False, no_network=True))


def _run_check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["submit", "--check", *args])
    return result.exit_code, result.output


# --- ways to break a file (each edits the parsed tree in place) ------------------------


def missing_topic(root: etree._Element) -> None:
    run = root[0]
    run.remove(run[-1])  # topic 730


def repeated_topic(root: etree._Element) -> None:
    run = root[0]
    run.append(copy.deepcopy(run[0]))  # topic 701 twice


def too_many_items(root: etree._Element) -> None:
    topic = root[0][1]  # topic 702
    for seq in range(len(topic) + 1, 1002):
        etree.SubElement(topic, "item", seqNum=str(seq), shotId=f"shot{seq:05d}_1")


def duplicate_seqnum(root: etree._Element) -> None:
    root[0][2][1].set("seqNum", "1")  # topic 703


def fractional_elapsed(root: etree._Element) -> None:
    root[0][3].set("elapsedTime", "12.5")  # topic 704


def bad_attribute(root: etree._Element) -> None:
    root[0].set("trType", "X")


def malformed_shot(root: etree._Element) -> None:
    root[0][4][0].set("shotId", "shot123_4")  # IACC.3 form, not V3C  (topic 705)


def duplicate_priority(root: etree._Element) -> None:
    root.append(copy.deepcopy(root[0]))


BREAKAGES: dict[str, tuple[Callable, list[str]]] = {
    "missing topic": (missing_topic, ["Missing results", "730"]),
    "repeated topic": (repeated_topic, ["topic 701 appears 2 times", "Repeated Query"]),
    "1001 items": (too_many_items, ["1001 items, at most 1000", "seqNum(s) outside 1..1000"]),
    "duplicate seqNum": (duplicate_seqnum, ["topic 703", "repeated seqNum(s): '1'"]),
    "non-integer elapsedTime": (fractional_elapsed, ["elapsedTime '12.5'"]),
    "bad attribute value": (bad_attribute, ["trType", '"X"']),
    "malformed shot id": (malformed_shot, ["'shot123_4'", "V3C2"]),
    "duplicate priority": (duplicate_priority, ["priority 1 already used"]),
}


# --- tests ----------------------------------------------------------------------------


def test_good_file_passes(good_xml: Path) -> None:
    code, out = _run_check(str(good_xml))
    assert code == 0, out
    assert "OK" in out and "2022.txt" in out


@pytest.mark.parametrize("name", list(BREAKAGES))
def test_each_breakage_is_caught(good_xml: Path, name: str) -> None:
    breaker, expected = BREAKAGES[name]
    tree = _parse(good_xml)
    breaker(tree.getroot())
    tree.write(str(good_xml), xml_declaration=True, encoding="UTF-8")
    code, out = _run_check(str(good_xml))
    assert code != 0
    for text in expected:
        assert text in out, out
    assert "Traceback" not in out


def test_all_breakages_are_listed_together(good_xml: Path) -> None:
    tree = _parse(good_xml)
    for breaker, _ in BREAKAGES.values():
        breaker(tree.getroot())
    tree.write(str(good_xml), xml_declaration=True, encoding="UTF-8")
    code, out = _run_check(str(good_xml))
    assert code != 0
    for _, expected in BREAKAGES.values():
        for text in expected:
            assert text in out, (text, out)


@pytest.mark.parametrize(
    ("year", "attribute", "value", "message"),
    [
        (2016, "class", "R", "class"),  # relevance feedback only from 2018
        (2018, "task", "M", "task"),  # task only from 2019
        (2022, "priority", "11", "priority"),
        (2022, "novelty", "Y", "novelty"),
    ],
)
def test_attributes_follow_the_year_rules(
    workdir: Path, new_run, year: int, attribute: str, value: str, message: str
) -> None:
    topics = workdir / "t.txt"
    topics.write_text("701 a\n", encoding="utf-8")
    run = new_run(workdir / "run.parquet", year, [701], iacc=year < 2019)
    fields = dict(runs=(run,), pid="T", priorities=(1,), tr_type="D", class_="F", descs=("d",))
    if year >= 2019:
        fields.update(task="M", novelty="C")
    path = submit(SubmitSettings(**fields, topics=topics)).path
    assert check(path, topics=topics).ok
    tree = _parse(path)
    tree.getroot()[0].set(attribute, value)
    tree.write(str(path), xml_declaration=True, encoding="UTF-8")
    report = check(path, topics=topics)
    assert not report.ok
    assert any(message in p for p in report.problems), report.problems


def test_missing_required_attribute_is_caught(good_xml: Path) -> None:
    tree = _parse(good_xml)
    del tree.getroot()[0].attrib["desc"]
    tree.write(str(good_xml), xml_declaration=True, encoding="UTF-8")
    report = check(good_xml)
    assert any("desc" in p for p in report.problems), report.problems


def test_not_well_formed_file_is_a_problem_not_a_traceback(workdir: Path) -> None:
    bad = workdir / "bad.xml"
    bad.write_text("<videoAdhocSearchResults><oops></videoAdhocSearchResults>", encoding="utf-8")
    code, out = _run_check(str(bad))
    assert code != 0 and "not well-formed" in out and "Traceback" not in out


def test_missing_file_is_a_clear_error(workdir: Path) -> None:
    code, out = _run_check(str(workdir / "nope.xml"))
    assert code != 0 and "no such file" in out


def test_file_without_doctype_needs_a_year(good_xml: Path) -> None:
    text = good_xml.read_text(encoding="utf-8")
    start = text.index("<!DOCTYPE")
    good_xml.write_text(text[:start] + text[text.index(">", start) + 1 :], encoding="utf-8")
    code, out = _run_check(str(good_xml))
    assert code != 0 and "--year" in out
    code, out = _run_check(str(good_xml), "--year", "2022")
    assert "no DOCTYPE" in out  # still reported, but every other check ran
    assert "Missing results" not in out


def test_check_uses_the_given_topic_file(good_xml: Path, workdir: Path) -> None:
    topics = workdir / "more.txt"
    topics.write_text("701 a\n999 b\n", encoding="utf-8")
    code, out = _run_check(str(good_xml), "--topics", str(topics))
    assert code != 0
    assert "Missing results for 1 topic(s)" in out and "999" in out
    assert "29 topic(s) not in" in out


def test_external_entities_are_never_resolved(workdir: Path) -> None:
    """An XXE payload must neither be read nor fetched, by --check or read_xml_runs."""
    secret = workdir / "secret.txt"
    secret.write_text("TOPSECRET", encoding="utf-8")
    xml = workdir / "xxe.xml"
    xml.write_text(
        '<?xml version="1.0"?>\n'
        "<!DOCTYPE videoAdhocSearchResults SYSTEM "
        '"https://www-nlpir.nist.gov/projects/tv2022/dtds/videoAdhocSearchResults.dtd" [\n'
        f'<!ENTITY xxe SYSTEM "file://{secret}">\n'
        '<!ENTITY net SYSTEM "http://127.0.0.1:9/x">]>\n'
        '<videoAdhocSearchResults><videoAdhocSearchRunResult trType="D" class="F" task="M" '
        'novelty="C" pid="T" priority="1" desc="d">'
        '<videoAdhocSearchTopicResult tNum="701" elapsedTime="1">'
        '<item seqNum="1" shotId="shot00001_1"/>&xxe;&net;'
        "</videoAdhocSearchTopicResult></videoAdhocSearchRunResult></videoAdhocSearchResults>",
        encoding="utf-8",
    )
    report = check(xml)
    assert not any("TOPSECRET" in p for p in report.problems)
    (run,) = read_xml_runs(xml)
    assert [r.shot for r in run.records] == ["shot00001_1"]
    assert "TOPSECRET" not in repr(run)


def test_progress_runs_answer_the_progress_topics(workdir: Path, new_run, topics_of) -> None:
    """2019-2021: a task P run is checked against the progress topics, a task M run
    against the year's main topics, in the same file."""
    main_run = new_run(workdir / "main.parquet", 2020, topics_of("2020.txt"))
    progress = new_run(workdir / "progress.parquet", 2020, topics_of("progress-2019-2021.txt"))
    common = dict(pid="T", tr_type="D", class_="F", novelty="C", descs=("d",))
    first = submit(SubmitSettings(runs=(main_run,), priorities=(1,), task="M", **common))
    second = submit(SubmitSettings(runs=(progress,), priorities=(2,), task="P", **common))
    assert first.topics_files[0].endswith("2020.txt")
    assert second.topics_files[0].endswith("progress-2019-2021.txt")
    # both runs in one file: each is checked against its own topics
    root = _parse(first.path)
    root.getroot().append(_parse(second.path).getroot()[0])
    root.write(str(first.path), xml_declaration=True, encoding="UTF-8")
    report = check(first.path)
    assert report.ok, report.problems
    assert len(report.runs) == 2 and len(report.topics_files) == 2
    # a progress run labelled as main is missing the main topics
    root.getroot()[1].set("task", "M")
    root.write(str(first.path), xml_declaration=True, encoding="UTF-8")
    report = check(first.path)
    assert any("Missing results for 20 topic(s)" in p for p in report.problems), report.problems


def test_problems_are_found_in_a_file_on_one_line(good_xml: Path) -> None:
    """Regression: duplicate priorities were missed when both runs sat on the same line."""
    tree = _parse(good_xml)
    duplicate_priority(tree.getroot())
    for el in tree.getroot().iter():
        el.text = el.tail = None
    text = etree.tostring(tree, xml_declaration=True, encoding="UTF-8").decode()
    good_xml.write_text(text.replace("\n", ""), encoding="utf-8")
    report = check(good_xml)
    assert any("priority 1 already used by run 1" in p for p in report.problems), report.problems
