"""BigFile directories: memory-mapped reads, atomic writes, validation on open."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avs.errors import AvsError, FormatError
from avs.io.bigfile import BigFile, BigFileWriter


def test_read_by_range_and_by_id(make_bigfile, values, ids):
    path = make_bigfile()
    with BigFile(path) as bf:
        assert (bf.n, bf.dim, bf.name) == (300, 16, "clip")
        assert bf.ids == ids[:]
        assert isinstance(bf._data, np.memmap)
        np.testing.assert_array_equal(bf.read(10, 20), values["clip"][10:20])
        np.testing.assert_array_equal(bf.read(), values["clip"])
        got = bf.read_ids([bf.ids[7], bf.ids[2], bf.ids[7]])
        np.testing.assert_array_equal(got, values["clip"][[7, 2, 7]])
        with pytest.raises(AvsError, match="not in id.txt"):
            bf.read_ids(["shot99999_1"])
        with pytest.raises(AvsError, match="outside"):
            bf.read(0, 301)


def test_files_have_the_documented_layout(make_bigfile, values, ids):
    path = make_bigfile()
    assert (path / "shape.txt").read_text().split() == ["300", "16"]
    assert (path / "id.txt").read_text().split() == ids[:]
    raw = np.fromfile(path / "feature.bin", dtype=np.float32).reshape(300, 16)
    np.testing.assert_array_equal(raw, values["clip"])


def test_ids_may_be_space_separated(make_bigfile, ids):
    path = make_bigfile()
    (path / "id.txt").write_text(" ".join(ids[:]))
    assert BigFile(path).ids == ids[:]


def test_truncated_feature_bin(make_bigfile):
    path = make_bigfile()
    with open(path / "feature.bin", "rb+") as fh:
        fh.truncate(300 * 16 * 4 - 10)
    with pytest.raises(FormatError, match="truncated or shape.txt is wrong") as err:
        BigFile(path)
    assert err.value.path == str(path / "feature.bin")


def test_shape_disagreeing_with_file_size(make_bigfile):
    path = make_bigfile()
    (path / "shape.txt").write_text("300 17")
    with pytest.raises(FormatError, match=r"300 x 17"):
        BigFile(path)


def test_absurd_shape_does_not_allocate(make_bigfile):
    """A shape.txt claiming petabytes must fail on the size check, not in np.memmap."""
    path = make_bigfile()
    (path / "shape.txt").write_text(f"{10**15} {10**6}")
    with pytest.raises(FormatError, match="disagrees with shape.txt"):
        BigFile(path)


@pytest.mark.parametrize("text", ["300", "300 16 1", "300 x", "-300 16", "300 0", ""])
def test_malformed_shape(make_bigfile, text: str):
    path = make_bigfile()
    (path / "shape.txt").write_text(text)
    with pytest.raises(FormatError) as err:
        BigFile(path)
    assert err.value.path.endswith("shape.txt")


def test_id_count_and_duplicates(make_bigfile, ids):
    path = make_bigfile()
    ids = ids[:]
    (path / "id.txt").write_text("\n".join(ids[:-1]))
    with pytest.raises(FormatError, match="holds 299 ids but shape.txt says 300"):
        BigFile(path)
    (path / "id.txt").write_text("\n".join([*ids[:-1], ids[0]]))
    with pytest.raises(FormatError, match=f"id '{ids[0]}' repeated"):
        BigFile(path)


@pytest.mark.parametrize("missing", ["feature.bin", "id.txt", "shape.txt"])
def test_missing_file(make_bigfile, missing: str):
    path = make_bigfile()
    (path / missing).unlink()
    with pytest.raises(FormatError, match=f"{missing} is missing"):
        BigFile(path)


def test_writer_is_atomic(tmp_path: Path, values, ids):
    target = tmp_path / "clip"
    with pytest.raises(RuntimeError), BigFileWriter(target, ids[:], 16) as w:
        w.write(0, values["clip"][:100])
        raise RuntimeError("crash mid-way")
    assert list(tmp_path.iterdir()) == []


def test_writer_requires_every_row_and_replaces_existing(make_bigfile, values, tmp_path: Path, ids):
    path = make_bigfile()
    with (
        pytest.raises(AvsError, match="200 rows never written"),
        BigFileWriter(path, ids[:], 16) as w,
    ):
        w.write(0, values["clip"][:100])
    np.testing.assert_array_equal(BigFile(path).read(), values["clip"])  # old one intact
    with BigFileWriter(path, ids[:], 16) as w:
        w.write(0, 2 * values["clip"])
    np.testing.assert_array_equal(BigFile(path).read(), 2 * values["clip"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip"]


def test_writer_rejects_bad_ids(tmp_path: Path):
    with pytest.raises(AvsError, match="ids repeat"):
        BigFileWriter(tmp_path / "x", ["a", "a"], 4)
    with pytest.raises(AvsError, match="spaces"):
        BigFileWriter(tmp_path / "x", ["a b"], 4)
