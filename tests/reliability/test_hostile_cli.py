"""Hostile files through the real CLI: `avs features info|convert` and
`avs submit --check` in a subprocess give a non-zero exit, one error message naming
the file, and no traceback."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import h5py
import numpy as np
import pytest

from avs.io.bigfile import BigFileWriter
from tests.support.cli import REPO, assert_clean_failure, run_avs


def _bigfile(root: Path, shape: str | None = None, ids: bytes | None = None) -> Path:
    with BigFileWriter(root, ["a", "b", "c"], 4) as w:
        w.write(0, np.ones((3, 4)))
    if shape is not None:
        (root / "shape.txt").write_text(shape)
    if ids is not None:
        (root / "id.txt").write_bytes(ids)
    return root


def _shape_is_dir(tmp: Path) -> Path:
    root = _bigfile(tmp / "clip")
    (root / "shape.txt").unlink()
    (root / "shape.txt").mkdir()
    return root


def _h5(tmp: Path, build: Callable[[h5py.File], None]) -> Path:
    path = tmp / "store.h5"
    with h5py.File(path, "w") as f:
        build(f)
    return path


def _huge_ids(f: h5py.File) -> None:
    f.create_dataset("ids", shape=(10**12,), dtype="S8", chunks=(4096,))
    f.create_group("features")


def _values_group(f: h5py.File) -> None:
    f["ids"] = np.array([b"a", b"b"])
    f["features/x"] = np.zeros((2, 3), np.float32)
    f.create_group("frames/x/values")
    f["frames/x/offsets"] = np.zeros(3, np.int64)


def _odd_attrs(f: h5py.File) -> None:
    f["ids"] = np.array([b"a", b"b"])
    f["features/x"] = np.array([[1, np.nan], [np.inf, 0]], np.float32)
    f.attrs["tags"] = np.array([b"x", b"y"])  # bytes inside an array: not JSON


def _truncated(tmp: Path) -> Path:
    path = _h5(tmp, _odd_attrs)
    path.write_bytes(path.read_bytes()[:1500])
    return path


def _mismatched_featuredata(tmp: Path) -> Path:
    root = tmp / "FeatureData"
    _bigfile(root / "clip")
    with BigFileWriter(root / "slowfast", ["a", "c", "b"], 2) as w:
        w.write(0, np.ones((3, 2)))
    return root


FEATURE_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "shape.txt claims 10^12 rows": (
        lambda t: _bigfile(t / "clip", shape=f"{10**12} 4"),
        "disagrees with shape.txt",
    ),
    "5000-digit shape": (lambda t: _bigfile(t / "clip", shape="9" * 5000 + " 4"), "shape.txt"),
    "shape.txt is a directory": (_shape_is_dir, "shape.txt"),
    "id.txt not UTF-8": (lambda t: _bigfile(t / "clip", ids=b"a b \xff\xfe"), "id.txt"),
    "id.txt repeats an id": (lambda t: _bigfile(t / "clip", ids=b"a b a"), "repeated"),
    "HDF5 declaring 10^12 ids": (lambda t: _h5(t, _huge_ids), "declares shape"),
    "HDF5 frames values is a group": (lambda t: _h5(t, _values_group), "/frames/x"),
    "HDF5 truncated": (_truncated, "not a readable HDF5 file"),
    "random bytes": (lambda t: _write(t / "x.h5", bytes(range(256)) * 4), "HDF5"),
    "empty directory": (lambda t: _mkdir(t / "empty"), "not a feature store"),
    "extractors with different ids": (_mismatched_featuredata, "ids differ"),
}


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.mark.parametrize("case", sorted(FEATURE_CASES))
def test_features_info_and_convert_refuse_cleanly(tmp_path: Path, case: str) -> None:
    build, needle = FEATURE_CASES[case]
    path = build(tmp_path)
    for args in (["info", path], ["info", "--json", path], ["convert", path, "out.h5"]):
        proc = run_avs(["features", *args], cwd=tmp_path)
        assert_clean_failure(proc, needle, path.name)
    assert not (tmp_path / "out.h5").exists()


def test_features_info_reports_nan_and_odd_attributes(tmp_path: Path) -> None:
    """A store other tools wrote (NaN/Inf rows, bytes attributes) is described, and
    converting it refuses with the first bad row."""
    path = _h5(tmp_path, _odd_attrs)
    proc = run_avs(["features", "info", "--json", path], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert '"nan": 1' in proc.stdout and '"inf": 1' in proc.stdout
    assert '"tags"' in proc.stdout
    proc = run_avs(["features", "convert", path, "out.h5"], cwd=tmp_path)
    assert_clean_failure(proc, "NaN/Inf", "first in row 0")


GOOD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<!DOCTYPE videoAdhocSearchResults SYSTEM "https://www-nlpir.nist.gov/projects/tv2022/dtds/'
    'videoAdhocSearchResults.dtd">\n<videoAdhocSearchResults>\n'
    '<videoAdhocSearchRunResult trType="D" class="F" task="M" novelty="C" pid="T" priority="1" '
    'desc="d">\n<videoAdhocSearchTopicResult tNum="{tnum}" elapsedTime="3">\n'
    '<item seqNum="{seq}" shotId="shot00001_1"/>\n</videoAdhocSearchTopicResult>\n'
    "</videoAdhocSearchRunResult>\n</videoAdhocSearchResults>\n"
)

XML_CASES: dict[str, tuple[bytes, str]] = {
    "5000-digit seqNum": (GOOD.format(tnum=701, seq="9" * 5000).encode(), "seqNum"),
    "5000-digit tNum": (GOOD.format(tnum="7" * 5000, seq=1).encode(), "tNum"),
    "empty file": (b"", "not well-formed"),
    "binary": (bytes(range(256)), "not well-formed"),
    "wrong root": (b'<?xml version="1.0"?><html><body/></html>', "root element"),
    "external entity": (
        GOOD.format(tnum=701, seq=1)
        .replace(
            "<videoAdhocSearchResults>\n",
            "<videoAdhocSearchResults>\n<x>&xxe;</x>\n",
        )
        .replace('.dtd">', '.dtd" [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>')
        .encode(),
        "DTD",
    ),
}


@pytest.mark.parametrize("case", sorted(XML_CASES))
def test_submit_check_refuses_cleanly(tmp_path: Path, case: str) -> None:
    data, needle = XML_CASES[case]
    path = tmp_path / "run.xml"
    path.write_bytes(data)
    topics = REPO / "topics" / "2022.txt"
    proc = run_avs(["submit", "--check", path, "--topics", topics], cwd=tmp_path)
    err = assert_clean_failure(proc, needle, "run.xml")
    assert "root:x:0:0" not in err and len(err) < 20_000
