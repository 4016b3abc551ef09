"""Topic files: every real NIST copy parses unedited; malformed ones fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from avs.errors import AvsError, FormatError
from avs.io.topics import read_topics, topics_sha256, topics_year

EXPECTED = {
    "2016.txt": (501, 530),
    "2017.txt": (531, 560),
    "2018.txt": (561, 590),
    "2019.txt": (611, 640),
    "2020.txt": (641, 660),
    "2021.txt": (661, 680),
    "2022.txt": (701, 730),
    "progress-2019-2021.txt": (591, 610),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_real_topic_files_parse_unedited(topics_dir: Path, name: str):
    topics = read_topics(topics_dir / name)
    first, last = EXPECTED[name]
    assert [t.number for t in topics] == list(range(first, last + 1))
    assert all(t.text and t.text == t.text.strip() for t in topics)
    assert [t.line for t in topics] == list(range(1, len(topics) + 1))


def test_every_shipped_topic_file_is_covered(topics_dir: Path):
    assert sorted(p.name for p in topics_dir.glob("*.txt")) == sorted(EXPECTED)


def test_known_texts(topics_dir: Path):
    t2021 = read_topics(topics_dir / "2021.txt")
    assert t2021[0].text == "a hang glider floating in the sky on a sunny day"
    # 2022 has no final newline
    assert read_topics(topics_dir / "2022.txt")[-1].text.endswith("non-kitchen location")


def test_separators_crlf_bom_and_trailing_space(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeff701 a man\r\n702  two  spaces \r\n\r\n703\ta tab   ".encode())
    topics = read_topics(path)
    assert [(t.number, t.text, t.line) for t in topics] == [
        (701, "a man", 1),
        (702, "two  spaces", 2),
        (703, "a tab", 4),
    ]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("701 a\nno number here\n", 2, "expected '<topic number> <text>'"),
        ("701 a\n702 b\n701 c\n", 3, "topic 701 repeated (first on line 1)"),
        ("701 a\n702   \n", 2, "topic 702 has no text"),
        ("701 a\n702\n", 2, "topic 702 has no text"),
        ("x701 a\n", 1, "expected"),
    ],
)
def test_malformed_topics_name_file_and_line(tmp_path: Path, content: str, line: int, words: str):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(FormatError) as err:
        read_topics(path)
    assert err.value.line == line
    assert words in str(err.value) and str(path) in str(err.value)


def test_empty_topic_file_is_an_error(tmp_path: Path):
    path = tmp_path / "empty.txt"
    path.write_text("\n  \n")
    with pytest.raises(FormatError, match="no topics"):
        read_topics(path)


def test_missing_file_is_a_user_error(tmp_path: Path):
    with pytest.raises(AvsError, match="no such topic file"):
        read_topics(tmp_path / "nope.txt")


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("2022.txt", 2022),
        ("topics/2016.txt", 2016),
        ("tv22.avs.txt", 2022),
        ("tv19.avs.topics.txt", 2019),
        ("progress-2019-2021.txt", None),
        ("topics.txt", None),
    ],
)
def test_topics_year(name: str, year: int | None):
    assert topics_year(name) == year


def test_topics_sha256_is_of_the_bytes(tmp_path: Path):
    path = tmp_path / "t.txt"
    path.write_bytes(b"701 a")
    assert topics_sha256(path) == "35b937bcbecbc09d6909f47bf182b4ce72dd492f63b2780e8c5e635cf6b52255"
