"""Render run submission XML from ``templates/submission.xml.j2``.

Jinja's autoescaping escapes ``& < > " '`` in every value; :func:`xml_safe` removes what
escaping cannot fix (characters XML 1.0 forbids), so any desc renders well-formed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from avs.resources import get_template, jinja_env
from avs.submit.years import YearRules

TEMPLATE = "submission.xml.j2"

# Characters outside XML 1.0's Char production (C0 controls other than tab/LF/CR,
# surrogates, U+FFFE/U+FFFF) cannot appear in a document, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Tab, LF and CR in an attribute become spaces when parsed; write them as spaces.
_ATTR_SPACE = re.compile("[\t\n\r]")


@dataclass(frozen=True)
class TopicResult:
    """One ``videoAdhocSearchTopicResult``: the ranked shots of a topic."""

    number: int  # AVS topic number (tNum)
    elapsed: int  # whole seconds (elapsedTime)
    shots: list[str]  # shot ids in rank order; seqNum = position + 1


@dataclass(frozen=True)
class RunResult:
    """One ``videoAdhocSearchRunResult``: attributes in writing order, then topics."""

    attributes: list[tuple[str, str]]  # e.g. [("trType", "D"), ("class", "F"), ...]
    topics: list[TopicResult] = field(default_factory=list)


def xml_safe(text: str) -> tuple[str, int]:
    """``text`` usable as an XML attribute value before escaping, and how many
    characters were replaced (forbidden ones by U+FFFD, tab/LF/CR by a space)."""
    text, bad = _NOT_XML.subn("\ufffd", text)
    text, spaces = _ATTR_SPACE.subn(" ", text)
    return text, bad + spaces


def _environment():
    # Imported here: jinja2 is needed only when a file is rendered.
    import jinja2

    return jinja_env(
        autoescape=True,  # on for .j2 too, whatever the file name
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # Every value printed goes through xml_safe, so no input can break the file.
        finalize=lambda value: xml_safe(value)[0] if isinstance(value, str) else value,
    )


def render_xml(runs: list[RunResult], rules: YearRules) -> bytes:
    """The submission file holding ``runs`` with the DOCTYPE of ``rules.year``, as UTF-8.

    Every value is passed through :func:`xml_safe` and then escaped, so the result is
    well-formed whatever the strings hold (call xml_safe first to count replacements)."""
    template = get_template(_environment(), TEMPLATE)
    text = template.render(runs=runs, doctype_url=rules.doctype_url)
    return text.encode("utf-8")
