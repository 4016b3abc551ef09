"""Hostile strings through `avs report` (HTML and markdown) and `avs explain --html`.

html5lib is not installed, and lxml's HTML parser repairs whatever it is given, so a
"strict parse" is done by comparison instead: the page is rendered twice, once with
hostile strings (run names, run and qrels file names, the title, topic texts) and once
with plain placeholders in the same places, and both are tokenized with the standard
library's HTML tokenizer. The sequences of (event, tag, attribute names) must be equal:
any string that escaped its text or attribute context would add or change a tag, an
attribute or a comment. Then each hostile string must be found whole in the decoded
text or in an attribute value, that is shown as text. Markdown is first rendered to
HTML by markdown-it (CommonMark + tables, raw HTML allowed, as GitHub-like viewers do)
and checked the same way, so a pipe that broke a table row or a `<b>` that became a
tag fails too.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from avs.io.runs import read_run, write_run
from tests.support.cli import run_avs
from tests.support.files import make_run

HOSTILE = [
    "</script><script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    '" onmouseover="alert(1)" x="',
    "' onfocus='alert(1)' '",
    "a & b &amp; &lt;c&gt; &#60;",
    "<!-- comment --> ]]> <![CDATA[x]]>",
    "run | with | pipes\n## heading",
    "`code` *em* _u_ [link](http://evil.example) ~~s~~ \\",
]
TOPICS = [701, 702, 703]


class Tokens(HTMLParser):
    """Structure (event, tag, attribute names) and decoded texts of an HTML page."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.structure: list[tuple[str, str, tuple[str, ...]]] = []
        self.texts: list[str] = []
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.structure.append(("start", tag, tuple(name for name, _ in attrs)))
        self.texts += [value for _, value in attrs if value]

    def handle_endtag(self, tag: str) -> None:
        self.structure.append(("end", tag, ()))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    def handle_comment(self, data: str) -> None:
        self.structure.append(("comment", data, ()))

    def handle_decl(self, decl: str) -> None:
        self.structure.append(("decl", decl, ()))

    def unknown_decl(self, data: str) -> None:
        self.structure.append(("decl", data, ()))

    def handle_pi(self, data: str) -> None:
        self.structure.append(("pi", data, ()))


def markdown_html(text: str) -> str:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": True}).enable("table").render(text)


def assert_same_structure_and_shown(hostile: str, benign: str, strings: list[str]) -> None:
    bad, good = Tokens(hostile), Tokens(benign)
    if bad.structure != good.structure:
        diff = [(b, g) for b, g in zip(bad.structure, good.structure, strict=False) if b != g]
        raise AssertionError(
            f"{len(bad.structure)} vs {len(good.structure)} events; first differences {diff[:3]}"
        )
    for s in strings:
        assert any(s in text for text in bad.texts), f"{s!r} not shown as text"


def year_2022(root: Path, names: list[str]) -> tuple[Path, list[Path]]:
    """Qrels (first 10 shots of the first run relevant) and one run per name. The file
    stem is the name (with '/' swapped for a look-alike), the run_name metadata the name."""
    root.mkdir(parents=True)
    runs = []
    for i, name in enumerate(names):
        path = make_run(root / f"{name.replace('/', '∕')}.parquet", TOPICS, k=50, seed=i)
        run = read_run(path)
        meta = {**run.meta, "run_name": name}
        runs.append(write_run(path, run.topic, run.rank, run.shot_id, run.score, meta))
    first = read_run(runs[0])
    lines = [
        f"1{t} 0 {shot} 1 {int(j < 10)}\n"
        for t in TOPICS
        for j, shot in enumerate(first.ranking(t)[0][:20])
    ]
    qrels = root / "q&<'\"qrels>.txt"
    qrels.write_text("".join(lines))
    return qrels, runs


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, str]]:
    """{"hostile" | "benign": {"html": page, "markdown": text, "files": [names]}}."""
    root = tmp_path_factory.mktemp("report")
    out: dict[str, dict[str, str]] = {}
    for kind, names, title in (
        ("hostile", HOSTILE, HOSTILE[0] + HOSTILE[4]),
        ("benign", [f"run{i}" for i in range(len(HOSTILE))], "title"),
    ):
        qrels, runs = year_2022(root / kind, names)
        pages = {}
        for fmt, name in (("html", "r.html"), ("markdown", "r.md")):
            dst = root / kind / name
            args = ["report", *runs, "--qrels", f"2022={qrels}", "--out", dst]
            proc = run_avs([*args, "--title", title, "--permutations", "200"], root)
            assert proc.returncode == 0, proc.stderr
            pages[fmt] = dst.read_text()
        pages["files"] = [str(p) for p in (qrels, *runs)]
        out[kind] = pages
    return out


def test_report_html_escapes_every_string(reports) -> None:
    hostile = reports["hostile"]
    assert "<script" not in hostile["html"].lower()
    assert_same_structure_and_shown(
        hostile["html"], reports["benign"]["html"], [*HOSTILE, *hostile["files"]]
    )


def test_report_markdown_escapes_every_string(reports) -> None:
    hostile = reports["hostile"]
    # newlines end a table row: a cell shows them as spaces
    shown = [s.replace("\n", " ") for s in [*HOSTILE, *hostile["files"]]]
    assert_same_structure_and_shown(
        markdown_html(hostile["markdown"]), markdown_html(reports["benign"]["markdown"]), shown
    )
    for line in hostile["markdown"].splitlines():
        assert not line.startswith("## heading"), "a newline in a name started a heading"


def test_the_check_catches_unescaped_html() -> None:
    """The method itself: unescaped markup changes the structure."""
    with pytest.raises(AssertionError):
        assert_same_structure_and_shown(f"<p>{HOSTILE[1]}</p>", "<p>run0</p>", [])
    table = "| a |\n|---|\n| {} |\n"
    with pytest.raises(AssertionError):
        assert_same_structure_and_shown(
            markdown_html(table.format("*x*")), markdown_html(table.format("x")), []
        )
    with pytest.raises(AssertionError):  # a pipe in a header cell: no table at all
        assert_same_structure_and_shown(
            markdown_html("| a|b |\n|---|\n"), markdown_html("| ab |\n|---|\n"), []
        )


def test_markdown_cells_escape_markup() -> None:
    """Regression: `_md` escaped only pipes and newlines, so a run named
    `<img src=x onerror=...>` became a tag, and `*x*` emphasis, in the markdown report."""
    from avs.report.render import _md

    table = "| a |\n|---|\n" + "".join(f"| {{{i}}} |\n" for i in range(len(HOSTILE)))
    assert_same_structure_and_shown(
        markdown_html(table.format(*map(_md, HOSTILE))),
        markdown_html(table.format(*(f"run{i}" for i in range(len(HOSTILE))))),
        [h.replace("\n", " ") for h in HOSTILE],
    )


# ---------------------------------------------------------------- avs explain --html


def test_explain_html_escapes_topic_texts(tmp_path: Path, search_world) -> None:
    from tests.support.searchkit import TOPIC_LINES

    pages = {}
    for kind, suffix in (("hostile", " " + HOSTILE[0] + " " + HOSTILE[2]), ("benign", " plain")):
        topics = tmp_path / f"{kind}.txt"
        topics.write_text("".join(f"{line}{suffix}\n" for line in TOPIC_LINES))
        out = tmp_path / f"{kind}.html"
        args = ["explain", "--model", search_world.model, "--topics", topics, "--html", out]
        proc = run_avs([*args, "--collection", search_world.features, "--sample", "500"], tmp_path)
        assert proc.returncode == 0, proc.stderr
        pages[kind] = out.read_text()
    assert "<script" not in pages["hostile"].lower()
    assert_same_structure_and_shown(
        pages["hostile"], pages["benign"], [f"{TOPIC_LINES[0][4:]} {HOSTILE[0]} {HOSTILE[2]}"]
    )


def test_hostile_strings_survive_the_run_file(tmp_path: Path) -> None:
    """Guard for the fixture: the names reach the report unchanged through Parquet."""
    _, runs = year_2022(tmp_path / "y", HOSTILE)
    assert [read_run(p).name for p in runs] == HOSTILE
