"""Validate run submission XML as NIST does: our DTD for the year, then NIST's checks.

Every problem is collected (never just the first) and located by line:

1. well-formed XML (parsed without network, DTD loading or entity expansion);
2. the DOCTYPE names the year's DTD and the root is ``videoAdhocSearchResults``;
3. DTD validation against *our* DTD for that year (``templates/dtd/``): required
   attributes and their allowed values, priority 1-10;
4. NIST's checks: every topic of the topic file exactly once per run ("Repeated
   Query" / "Missing results"), at most 1000 items, seqNum 1..1000 unique and
   increasing, integer tNum and elapsedTime, shot ids of the collection's form,
   priorities unique among a team's runs in the file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from avs.errors import AvsError, short
from avs.io.xmlrun import ITEM_TAG, RUN_TAG, TOPIC_TAG, parse_xml
from avs.submit.years import ROOT, YearRules, rules_for_year, year_from_doctype

MAX_ITEMS = 1000  # NIST accepts at most 1000 shots per topic
MAX_EXAMPLES = 3  # offending values quoted per problem
MAX_DTD_PROBLEMS = 30  # DTD messages listed before summarising the rest
# At most 18 digits: int() of a longer string may raise ValueError (4300-digit limit).
_INT = re.compile(r"[0-9]{1,18}")

# (year, task) -> topic file; injected so the library picks workspace or repo files.
TopicsResolver = Callable[[int, str | None], Path]


@dataclass(frozen=True)
class CheckReport:
    """The outcome of validating one XML document."""

    path: str
    year: int | None  # the year whose rules were applied
    runs: list[str] = field(default_factory=list)  # "pid priority N" per run, file order
    topics_files: list[str] = field(default_factory=list)  # topic files checked against
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no problem was found."""
        return not self.problems


def _examples(values: list[str]) -> str:
    # cut long values: a hostile file must not turn one message into megabytes
    shown = ", ".join(repr(v if len(v) <= 60 else v[:60] + "...") for v in values[:MAX_EXAMPLES])
    return shown + (", ..." if len(values) > MAX_EXAMPLES else "")


def _line(el: etree._Element) -> str:
    return f"line {el.sourceline}"


def validate_xml(
    data: bytes,
    *,
    path: str | Path = "<xml>",
    topics: str | Path | None = None,
    year: int | None = None,
    resolve_topics: TopicsResolver | None = None,
) -> CheckReport:
    """Validate a submission file's bytes; the report lists every problem found.

    ``topics`` is the topic file every run must answer; by default it is found per run by
    ``resolve_topics(year, task)`` (the main or the progress topics of the year).
    ``year`` overrides the year the DOCTYPE names (needed when it names none)."""
    path = str(path)
    problems: list[str] = []
    try:
        tree = parse_xml(data, path)
    except AvsError as err:
        return CheckReport(path, year, problems=[str(err).removeprefix(f"{path}: ")])
    root = tree.getroot()
    docinfo = tree.docinfo
    doc_year = year_from_doctype(docinfo.system_url)
    if not docinfo.system_url:
        problems.append(
            "no DOCTYPE naming NIST's DTD (<!DOCTYPE videoAdhocSearchResults SYSTEM ...>)"
        )
    elif docinfo.root_name != ROOT:
        problems.append(f"DOCTYPE names root {docinfo.root_name!r}, expected {ROOT!r}")
    if root.tag != ROOT:
        problems.append(f"{_line(root)}: root element is <{root.tag}>, expected <{ROOT}>")
    if year is None:
        year = doc_year
    elif doc_year is not None and doc_year != year:
        problems.append(f"DOCTYPE names the {doc_year} DTD but the year given is {year}")
    if year is None:
        problems.append("cannot tell the year: the DOCTYPE names no tvYYYY DTD; pass --year")
        return CheckReport(path, None, problems=problems)
    try:
        rules = rules_for_year(year)
    except AvsError as err:
        problems.append(str(err))
        return CheckReport(path, year, problems=problems)

    problems += _dtd_problems(tree, rules)
    runs, files, nist = _nist_problems(root, rules, topics, resolve_topics)
    problems += nist
    return CheckReport(path, year, runs=runs, topics_files=files, problems=problems)


def _cut(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[:limit] + "..."


def _dtd_problems(tree: etree._ElementTree, rules: YearRules) -> list[str]:
    try:
        dtd = etree.DTD(str(rules.dtd))
    except (etree.DTDParseError, OSError) as err:  # our own file: a broken install
        raise AvsError(f"cannot load avs's DTD {rules.dtd}: {err}") from None
    if dtd.validate(tree):
        return []
    # lxml quotes the offending value whole: a hostile 5,000-digit attribute must still
    # give a readable line.
    found = [
        f"line {e.line}: DTD ({rules.dtd.name}): {_cut(e.message)}"
        for e in dtd.error_log.filter_from_errors()
    ]
    if len(found) > MAX_DTD_PROBLEMS:
        rest = len(found) - MAX_DTD_PROBLEMS
        found = found[:MAX_DTD_PROBLEMS] + [f"... and {rest} more DTD problem(s)"]
    return found


def _nist_problems(
    root: etree._Element,
    rules: YearRules,
    topics: str | Path | None,
    resolve_topics: TopicsResolver | None,
) -> tuple[list[str], list[str], list[str]]:
    problems: list[str] = []
    runs: list[str] = []
    files: list[str] = []
    cache: dict[str, set[int] | None] = {}
    priorities: dict[tuple[str, str], int] = {}  # (pid, priority) -> first run's index
    for index, run_el in enumerate(root.iter(RUN_TAG), start=1):
        pid, priority = run_el.get("pid", ""), run_el.get("priority", "")
        label = f"run {index} (line {run_el.sourceline}, pid {pid!r}, priority {priority!r})"
        runs.append(f"{pid} priority {priority}")
        first = priorities.setdefault((pid, priority), index)
        if first != index:
            problems.append(
                f"{label}: priority {priority} already used by run {first} "
                "(priorities must be unique)"
            )
        expected, name = _expected_topics(run_el, rules, topics, resolve_topics, cache, problems)
        if expected is not None and name not in files:
            files.append(name)
        for problem in _run_problems(run_el, rules, expected, name):
            problems.append(f"{label}: {problem}")
    if not runs:
        problems.append(f"no <{RUN_TAG}> element")
    return runs, files, problems


def _expected_topics(
    run_el: etree._Element,
    rules: YearRules,
    topics: str | Path | None,
    resolve: TopicsResolver | None,
    cache: dict[str, set[int] | None],
    problems: list[str],
) -> tuple[set[int] | None, str]:
    """The topic numbers a run must answer and the file they come from (None: unknown,
    the reason is already in ``problems``)."""
    if topics is not None:
        topic_file = Path(topics)
    else:
        task = run_el.get("task") if rules.has("task") else None
        try:
            if resolve is None:
                from avs.submit.topicfiles import default_topics_file

                topic_file = default_topics_file(rules.year, task)
            else:
                topic_file = resolve(rules.year, task)
        except AvsError as err:
            key = f"<none for {rules.year} task {task}>"
            if key not in cache:  # say it once, not once per run
                problems.append(str(err))
                cache[key] = None
            return None, key
    key = str(topic_file)
    if key not in cache:
        cache[key] = _load_topics(topic_file, problems)
    return cache[key], key


def _load_topics(path: Path, problems: list[str]) -> set[int] | None:
    from avs.io.topics import read_topics

    try:
        return {t.number for t in read_topics(path)}
    except AvsError as err:
        problems.append(f"cannot read the topic file: {err}")
        return None


def _run_problems(
    run_el: etree._Element, rules: YearRules, expected: set[int] | None, topic_file: str
) -> list[str]:
    problems: list[str] = []
    seen: Counter[int] = Counter()
    for topic_el in run_el.iter(TOPIC_TAG):
        raw = topic_el.get("tNum")
        where = _line(topic_el)
        if raw is None:
            problems.append(f"{where}: topic without tNum")  # DTD says so too; keep going
            tnum = None
        elif not _INT.fullmatch(raw):
            problems.append(f"{where}: tNum {short(raw)} is not a topic number")
            tnum = None
        else:
            tnum = int(raw)
            seen[tnum] += 1
        label = f"{where}: topic {raw}"
        elapsed = topic_el.get("elapsedTime")
        if elapsed is not None and not _INT.fullmatch(elapsed):
            problems.append(
                f"{label}: elapsedTime {short(elapsed)} is not a whole number of seconds"
            )
        problems += [f"{label}: {p}" for p in _item_problems(topic_el, rules)]
    for tnum, count in sorted(seen.items()):
        if count > 1:
            problems.append(f"topic {tnum} appears {count} times (Repeated Query)")
    if expected is not None:
        missing = sorted(expected - set(seen))
        extra = sorted(set(seen) - expected)
        if missing:
            listed = ", ".join(map(str, missing))
            problems.append(
                f"Missing results for {len(missing)} topic(s) of {topic_file}: {listed}"
            )
        if extra:
            listed = ", ".join(map(str, extra))
            problems.append(f"{len(extra)} topic(s) not in {topic_file}: {listed}")
    return problems


def _item_problems(topic_el: etree._Element, rules: YearRules) -> list[str]:
    items = list(topic_el.iter(ITEM_TAG))
    problems: list[str] = []
    if len(items) > MAX_ITEMS:
        problems.append(f"{len(items)} items, at most {MAX_ITEMS} allowed")
    bad_num: list[str] = []
    out_of_range: list[str] = []
    repeated: list[str] = []
    not_increasing: list[str] = []
    bad_shots: list[str] = []
    seen: set[int] = set()
    previous = 0
    for item in items:
        raw = item.get("seqNum")
        if raw is not None:
            if not _INT.fullmatch(raw):
                bad_num.append(raw)
            else:
                seq = int(raw)
                if not 1 <= seq <= MAX_ITEMS:
                    out_of_range.append(raw)
                if seq in seen:
                    repeated.append(raw)
                elif seq < previous:
                    not_increasing.append(raw)
                seen.add(seq)
                previous = max(previous, seq)
        shot = item.get("shotId")
        if shot is not None and not rules.shot_pattern.fullmatch(shot):
            bad_shots.append(shot)
    if bad_num:
        problems.append(f"{len(bad_num)} seqNum(s) not a whole number: {_examples(bad_num)}")
    if out_of_range:
        problems.append(
            f"{len(out_of_range)} seqNum(s) outside 1..{MAX_ITEMS}: {_examples(out_of_range)}"
        )
    if repeated:
        problems.append(f"{len(repeated)} repeated seqNum(s): {_examples(repeated)}")
    if not_increasing:
        problems.append(
            f"{len(not_increasing)} seqNum(s) smaller than the one before: "
            f"{_examples(not_increasing)}"
        )
    if bad_shots:
        problems.append(
            f"{len(bad_shots)} shot id(s) not of {rules.collection}'s form "
            f"({rules.shot_pattern.pattern}): {_examples(bad_shots)}"
        )
    return problems
