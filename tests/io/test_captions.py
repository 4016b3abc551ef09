"""Caption files and video-id lists (RUC layout)."""

from __future__ import annotations

from pathlib import Path

import pytest

from avs.errors import FormatError
from avs.io.captions import Caption, read_captions, read_id_list, write_captions, write_id_list


def test_captions_split_on_first_whitespace(tmp_path: Path):
    path = tmp_path / "captions.txt"
    path.write_text("video7#0 a man rides a bike\nvideo7#1\tthe man  rides\r\n\nvideo0#enc#2 x\n")
    assert read_captions(path) == [
        Caption("video7#0", "video7", "a man rides a bike"),
        Caption("video7#1", "video7", "the man  rides"),
        Caption("video0#enc#2", "video0", "x"),
    ]


def test_captions_round_trip(tmp_path: Path):
    caps = [Caption("v1#0", "v1", "a dog"), Caption("v1#1", "v1", "a\nbrown dog")]
    write_captions(tmp_path / "c.txt", caps)
    assert read_captions(tmp_path / "c.txt") == [caps[0], Caption("v1#1", "v1", "a brown dog")]


@pytest.mark.parametrize(
    ("content", "line", "words"),
    [
        ("v1#0 ok\nv1 no number\n", 2, "'<video_id>#<n>'"),
        ("v1#x text\n", 1, "'<video_id>#<n>'"),
        ("#0 text\n", 1, "'<video_id>#<n>'"),
        ("v1#0 ok\nv1#0 again\n", 2, "repeated"),
        ("v1#0\n", 1, "no text"),
    ],
)
def test_malformed_captions(tmp_path: Path, content: str, line: int, words: str):
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(FormatError) as err:
        read_captions(path)
    assert err.value.line == line and words in str(err.value)


def test_id_lists(tmp_path: Path):
    write_id_list(tmp_path / "train.txt", ["video1", "video2"])
    assert (tmp_path / "train.txt").read_text() == "video1\nvideo2\n"
    assert read_id_list(tmp_path / "train.txt") == ["video1", "video2"]
    (tmp_path / "bad.txt").write_text("video1\nvideo2 video3\n")
    with pytest.raises(FormatError, match="one id a line") as err:
        read_id_list(tmp_path / "bad.txt")
    assert err.value.line == 2
    (tmp_path / "dup.txt").write_text("video1\r\nvideo1\n")
    with pytest.raises(FormatError, match="repeated"):
        read_id_list(tmp_path / "dup.txt")
