"""Hostile strings reaching submission XML, hostile XML reaching our parser, and the
code-level guarantees behind both (no unpickling, no entity resolution, no network).

Rendered XML must parse with a strict parser (lxml, recover=False) and give the text
back where XML 1.0 can carry it; characters it cannot carry (C0 controls, lone
surrogates, U+FFFE/U+FFFF) are replaced by U+FFFD and tab/CR/LF in attributes by a
space, as documented in avs/submit/render.py.
"""

from __future__ import annotations

import ast
import socket
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from avs.cli import main
from avs.errors import FormatError
from avs.io.xmlrun import parse_xml, read_xml_runs
from avs.submit.render import RunResult, TopicResult, render_xml, xml_safe
from avs.submit.validate import validate_xml
from avs.submit.years import rules_for_year
from tests.support.cli import REPO, TEAM_ARGS
from tests.support.files import make_run, topics_2022

HOSTILE = [
    "<", ">", "&", "&amp;", "&#0;", "&xxe;", '"', "'", "]]>", "<![CDATA[", "-->", "<!--",
    "\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\t", "\n", "\r", "\r\n",
    "\ud800", "\udfff", "\ufffe", "\uffff", "\ufeff", "\u2028", "\U0001f600", "\U0010ffff",
    "</videoAdhocSearchRunResult>", '" pid="EVIL', "{{ 7*7 }}", "{% raw %}", "${x}",
]  # fmt: skip
HOSTILE_TEXT = st.lists(
    st.sampled_from(HOSTILE) | st.text(st.characters(codec="utf-8"), max_size=6), max_size=10
).map("".join)
STRICT = etree.XMLParser(recover=False, resolve_entities=False, no_network=True, load_dtd=False)


def _strict_parse(data: bytes) -> etree._Element:
    return etree.fromstring(data, STRICT)


# ---------------------------------------------------------------- rendering


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    desc=HOSTILE_TEXT,
    shots=st.lists(HOSTILE_TEXT, min_size=1, max_size=4),
    year=st.sampled_from([2016, 2018, 2022, 2023]),
)
def test_rendered_xml_is_well_formed_and_round_trips(
    desc: str, shots: list[str], year: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    rules = rules_for_year(year)
    attrs = [(name, desc if name == "desc" else "X") for name in rules.attributes]
    data = render_xml([RunResult(attrs, [TopicResult(701, 3, shots)])], rules)
    root = _strict_parse(data)  # raises on anything not well-formed
    run = root.find("videoAdhocSearchRunResult")
    assert run is not None and run.get("desc") == xml_safe(desc)[0]
    assert list(run.attrib) == list(rules.attributes)  # no attribute injected
    got = [item.get("shotId") for item in run.iter("item")]
    assert got == [xml_safe(s)[0] for s in shots]
    # and our own reader agrees with lxml
    path = tmp_path_factory.mktemp("x") / "run.xml"
    path.write_bytes(data)
    (xml_run,) = read_xml_runs(path)
    assert xml_run.attributes["desc"] == xml_safe(desc)[0]
    assert [r.shot for r in xml_run.records] == got


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b", "a\ufffdb"),  # XML 1.0 cannot hold NUL, escaped or not
        ("a\ud800b", "a\ufffdb"),  # lone surrogate
        ("a\uffffb", "a\ufffdb"),
        ("a\tb\r\nc", "a b  c"),  # attribute normalisation would do this on reading
        ("\U0001f600 ]]> <&>", "\U0001f600 ]]> <&>"),  # carried as is
    ],
)
def test_documented_replacements(text: str, expected: str) -> None:
    assert xml_safe(text)[0] == expected


def test_submit_with_hostile_desc_end_to_end(tmp_path: Path) -> None:
    """`avs submit --desc` with every hostile string: the written file passes a strict
    parse and `avs submit --check`, and the CLI notes the replaced characters."""
    desc = "".join(HOSTILE)
    run = make_run(tmp_path / "run.parquet", topics_2022(), k=3)
    out = tmp_path / "sub.xml"
    topics = REPO / "topics" / "2022.txt"
    args = [str(run), *TEAM_ARGS, "--priority", "1", "--desc", desc, "--out", str(out)]
    result = CliRunner().invoke(main, ["submit", *args, "--topics", str(topics)])
    assert result.exit_code == 0, result.output
    assert "control character(s) replaced" in result.output
    root = _strict_parse(out.read_bytes())
    assert root.find("videoAdhocSearchRunResult").get("desc") == xml_safe(desc)[0]
    result = CliRunner().invoke(main, ["submit", "--check", str(out), "--topics", str(topics)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("pid", ["../x", "a/b", "/abs", "..", "<x>", "a b", "T\x00"])
def test_hostile_pid_is_refused_and_nothing_written(tmp_path: Path, pid: str) -> None:
    """The pid becomes the file name: a path in it must not write outside runs/."""
    run = make_run(tmp_path / "run.parquet", topics_2022(), k=2)
    args = ["submit", str(run), "--pid", pid, "--tr-type", "D", "--class", "F"]
    args += ["--task", "M", "--novelty", "C", "--priority", "1", "--desc", "d"]
    before = sorted(p.name for p in tmp_path.parent.rglob("*"))
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert "--pid" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.parent.rglob("*")) == before


def test_hostile_shot_ids_are_refused_not_written(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run.parquet", [701], k=2)
    import numpy as np

    from avs.io.runs import read_run, write_run

    r = read_run(run)
    shots = np.array(['shot00001_1"/><item seqNum="2', "\x00" * 5000], dtype=object)
    write_run(run, r.topic, r.rank, shots, r.score, r.meta)
    out = tmp_path / "sub.xml"
    topics = tmp_path / "t.txt"
    topics.write_text("701 one topic\n")
    args = [str(run), *TEAM_ARGS, "--priority", "1", "--desc", "d", "--out", str(out)]
    result = CliRunner().invoke(main, ["submit", *args, "--topics", str(topics)])
    assert result.exit_code != 0
    assert "shot id(s) not of V3C2's form" in result.output
    assert len(result.output) < 3000  # the 5000 NULs are not echoed
    assert not out.exists()


# ---------------------------------------------------------------- hostile XML in


class Listener:
    """A TCP port that records whether anything connected (a fetch attempt)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> int:
        time.sleep(0.3)
        self._stop = True
        self._thread.join()
        self.sock.close()
        return self.connections


def _xxe_payloads(secret: Path, port: int) -> dict[str, bytes]:
    url = f"http://127.0.0.1:{port}"
    run = (
        '<videoAdhocSearchRunResult trType="D" class="F" task="M" novelty="C" pid="T" '
        'priority="1" desc="{desc}"><videoAdhocSearchTopicResult tNum="701" elapsedTime="1">'
        '<item seqNum="1" shotId="shot00001_1"/>{body}</videoAdhocSearchTopicResult>'
        "</videoAdhocSearchRunResult>"
    )

    def doc(subset: str, desc: str = "d", body: str = "", system: str = "") -> bytes:
        system = system or f"https://www-nlpir.nist.gov/projects/tv2022/dtds/{'x'}.dtd"
        text = (
            f'<?xml version="1.0"?>\n<!DOCTYPE videoAdhocSearchResults SYSTEM "{system}" '
            f"[{subset}]>\n<videoAdhocSearchResults>{run.format(desc=desc, body=body)}"
            "</videoAdhocSearchResults>"
        )
        return text.encode()

    return {
        "file entity in text": doc(f'<!ENTITY x SYSTEM "file://{secret}">', body="&x;"),
        "file entity in attribute": doc(f'<!ENTITY x SYSTEM "file://{secret}">', desc="&x;"),
        "network entity": doc(f'<!ENTITY x SYSTEM "{url}/e">', body="&x;"),
        "parameter entity": doc(f'<!ENTITY % p SYSTEM "{url}/p"> %p;'),
        "external dtd": doc("", system=f"{url}/tv2022/videoAdhocSearchResults.dtd"),
        "xinclude": doc(
            "",
            body=f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{secret}" parse="text"/>',
        ),
        "billion laughs": doc(
            '<!ENTITY a "aaaaaaaaaa">'
            + "".join(
                f'<!ENTITY {c} "{("&" + p + ";") * 10}">'
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            desc="&i;",
            body="&i;",
        ),
    }


def test_xml_never_resolves_entities_or_fetches(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-42")
    listener = Listener()
    try:
        for name, data in _xxe_payloads(secret, listener.port).items():
            path = tmp_path / "in.xml"
            path.write_bytes(data)
            start = time.perf_counter()
            try:
                runs = read_xml_runs(path)
            except FormatError:
                runs = []
            report = validate_xml(data, path=path, topics=REPO / "topics" / "2022.txt")
            try:
                tree = etree.tostring(parse_xml(data, path), encoding="unicode")
            except FormatError as err:
                tree = str(err)
            elapsed = time.perf_counter() - start
            seen = repr([(r.attributes, r.records) for r in runs]) + "\n".join(report.problems)
            seen += tree
            assert "TOP-SECRET-42" not in seen, name
            assert "aaaaaaaaaa" * 100 not in seen, f"{name}: entity expanded"
            assert elapsed < 5, f"{name} took {elapsed:.1f} s"
            assert not report.ok or name == "external dtd", name
    finally:
        connections = listener.close()
    assert connections == 0, "the parser connected to the network"


# ---------------------------------------------------------------- code-level checks


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call)]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else "?"


def _kw(call: ast.Call, name: str) -> object:
    for kw in call.keywords:
        if kw.arg == name and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return "<missing>"


UNPICKLERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}


def test_no_module_of_avs_can_unpickle_or_resolve_entities() -> None:
    """Parsers never unpickle and XML parsers never resolve entities or fetch, in every
    module of avs (including those written later): a static check over the source."""
    problems = []
    for path in sorted((REPO / "avs").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                names = {(node.module or "").split(".")[0]}
            else:
                continue
            if names & UNPICKLERS:
                problems.append(f"{where}:{node.lineno}: imports {names & UNPICKLERS}")
        for call in _calls(tree):
            func = _dotted(call.func)
            line = f"{where}:{call.lineno}: {func}"
            if func in ("np.load", "numpy.load") and _kw(call, "allow_pickle") is not False:
                problems.append(f"{line} without allow_pickle=False")
            if func == "torch.load" and _kw(call, "weights_only") is not True:
                problems.append(f"{line} without weights_only=True")
            if func.endswith("read_pickle") or func.endswith("yaml.load"):
                problems.append(line)
            if func.endswith("XMLParser") and (
                _kw(call, "resolve_entities") is not False or _kw(call, "no_network") is not True
            ):
                problems.append(f"{line} must pass resolve_entities=False, no_network=True")
            if func in ("etree.parse", "etree.fromstring", "etree.XML") and len(call.args) < 2:
                problems.append(f"{line} without our safe parser")
    assert not problems, "\n".join(problems)
