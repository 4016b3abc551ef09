"""TRECVID run submission XML read back as ranked records, so ``avs eval`` can score it.

Each item becomes the TREC run line NIST scores (docs/trecvid-formats.md)::

    1<tNum> 0 <shotId> <seqNum> <9999 - seqNum + 1> <pid>

i.e. ``RunRecord("1" + tNum, shotId, 10000 - seqNum)``: scores fall with seqNum and
never tie, so every scorer ranks the items in seqNum order.

Parsing never touches the network, never loads the DTD the DOCTYPE names and never
expands entities (:func:`parse_xml`); validation lives in :mod:`avs.submit.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from avs.errors import FormatError
from avs.io import textfile
from avs.io.records import RunRecord, qrels_topic

__all__ = ["XmlRun", "parse_xml", "read_xml_runs", "xml_score"]

RUN_TAG = "videoAdhocSearchRunResult"
TOPIC_TAG = "videoAdhocSearchTopicResult"
ITEM_TAG = "item"
MAX_DIGITS = 18  # longest tNum, elapsedTime or seqNum read as a number


def xml_score(seq_num: int) -> float:
    """The score NIST's conversion gives the item at ``seq_num``: 9999 - seqNum + 1."""
    return float(9999 - seq_num + 1)


def _parser() -> etree.XMLParser:
    # A file from elsewhere must not make us fetch URLs, read local files through
    # external entities or expand entity bombs.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=False,
    )


def parse_xml(data: bytes, path: str | Path = "<xml>") -> etree._ElementTree:
    """Parse ``data`` strictly and safely; FormatError (with line) if not well-formed."""
    parser = _parser()
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        line = err.lineno if err.lineno else None
        msg = str(err.msg or err)
        if len(msg) > 200:  # libxml2 quotes names from the input, which may be huge
            msg = msg[:200] + "..."
        raise FormatError(path, f"not well-formed XML: {msg}", line=line) from None
    return root.getroottree()


def read_bytes(path: str | Path) -> bytes:
    """The bytes of an XML file; FormatError when it cannot be read."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise FormatError(path, "no such file")
    return textfile.read_bytes(path, "XML")  # regular files only: never blocks on a FIFO


@dataclass(frozen=True)
class XmlRun:
    """One ``videoAdhocSearchRunResult`` of a submission file."""

    attributes: dict[str, str]  # the run's attributes as written (trType, class, pid, ...)
    run_id: str  # NIST run id (class_task_novelty_trType_pid.YY_priority) or a fallback
    year: int | None  # from the DOCTYPE, None when it names none
    line: int  # line of the run element in the file
    elapsed: dict[int, int] = field(default_factory=dict)  # AVS topic -> elapsedTime
    records: list[RunRecord] = field(default_factory=list)  # topic "1701", shot, score

    @property
    def pid(self) -> str:
        """The team id."""
        return self.attributes.get("pid", "")

    @property
    def priority(self) -> str:
        """The run's priority as written."""
        return self.attributes.get("priority", "")

    @property
    def topics(self) -> list[int]:
        """AVS topic numbers in file order."""
        return list(self.elapsed)


def _int_attr(path: Path, el: etree._Element, name: str) -> int:
    raw = el.get(name)
    if raw is None:
        raise FormatError(path, f"<{el.tag}> has no {name}", line=el.sourceline, field=name)
    text = raw.strip()
    # a bound on the length: int() raises ValueError past 4300 digits
    if not (text.isascii() and text.isdigit() and len(text) <= MAX_DIGITS):
        raise FormatError(
            path, f"{name}={raw[:40]!r} is not a whole number", line=el.sourceline, field=name
        )
    return int(text)


def read_xml_runs(path: str | Path) -> list[XmlRun]:
    """Every run in a submission file, with its items as :class:`RunRecord` s.

    Records are grouped by topic in file order and sorted by seqNum within a topic;
    score = 9999 - seqNum + 1. Raises FormatError for XML that is not well-formed or
    a missing / non-integer tNum, elapsedTime or seqNum. It does not check the rest
    of the rules (run ``avs submit --check`` for that)."""
    from avs.trecvid import run_id, year_from_doctype

    path = Path(path)
    tree = parse_xml(read_bytes(path), path)
    year = year_from_doctype(tree.docinfo.system_url)
    runs: list[XmlRun] = []
    for index, run_el in enumerate(tree.getroot().iter(RUN_TAG), start=1):
        attrs = {str(k): str(v) for k, v in run_el.attrib.items()}
        elapsed: dict[int, int] = {}
        records: list[RunRecord] = []
        for topic_el in run_el.iter(TOPIC_TAG):
            tnum = _int_attr(path, topic_el, "tNum")
            if tnum in elapsed:
                raise FormatError(path, f"topic {tnum} repeated in a run", line=topic_el.sourceline)
            elapsed[tnum] = _int_attr(path, topic_el, "elapsedTime")
            items = []
            for item in topic_el.iter(ITEM_TAG):
                shot = item.get("shotId")
                if shot is None:
                    raise FormatError(path, "<item> has no shotId", line=item.sourceline)
                items.append((_int_attr(path, item, "seqNum"), shot))
            items.sort(key=lambda pair: pair[0])
            topic = qrels_topic(tnum)
            records.extend(RunRecord(topic, shot, xml_score(seq)) for seq, shot in items)
        runs.append(
            XmlRun(
                attributes=attrs,
                run_id=_name(attrs, year, index, run_id),
                year=year,
                line=run_el.sourceline or 0,
                elapsed=elapsed,
                records=records,
            )
        )
    if not runs:
        raise FormatError(path, f"no <{RUN_TAG}> element: not a TRECVID AVS run file")
    return runs


def _name(attrs: dict[str, str], year: int | None, index: int, make) -> str:
    needed = ("class", "trType", "pid", "priority")
    if year is None or any(not attrs.get(k) for k in needed):
        # Not enough to follow NIST's convention; still give every run a distinct name.
        return f"{attrs.get('pid') or 'run'}_{attrs.get('priority') or index}"
    return make(
        class_=attrs["class"],
        tr_type=attrs["trType"],
        pid=attrs["pid"],
        year=year,
        priority=attrs["priority"],
        task=attrs.get("task"),
        novelty=attrs.get("novelty"),
    )
