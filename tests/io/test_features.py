"""`avs features info|convert`: round trips, NaN rows and bad input through the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
from click.testing import CliRunner

from avs.cli import main
from avs.errors import AvsError
from avs.features import convert_features, feature_info
from avs.io.bigfile import BigFile
from avs.io.features import FeatureStore, open_features


def avs(*args: object):
    result = CliRunner().invoke(main, ["features", *map(str, args)])
    assert "Traceback" not in result.output
    # a user error is reported by click (SystemExit), never as an escaped exception
    assert result.exception is None or isinstance(result.exception, SystemExit)
    return result


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))


def test_hdf5_bigfile_round_trip(make_h5, tmp_path: Path, values, ids):
    src = make_h5()
    result = avs("convert", src, tmp_path / "FeatureData", "--block-rows", 70)
    assert result.exit_code == 0, result.output
    assert "frame-level features of 'clip' were not converted" in result.output
    for name, array in values.items():
        bf = BigFile(tmp_path / "FeatureData" / name)
        assert bf.ids == ids
        np.testing.assert_array_equal(bf.read(), array)
    result = avs("convert", tmp_path / "FeatureData", tmp_path / "back.h5")
    assert result.exit_code == 0, result.output
    with FeatureStore(tmp_path / "back.h5") as back:
        assert back.ids == ids and back.simulated and back.dtypes["clip"] == "float32"
        for name, array in values.items():
            np.testing.assert_array_equal(back.read(name), array)
    assert leftovers(tmp_path) == []


def test_hdf5_to_hdf5_keeps_frames_and_casts(make_h5, tmp_path: Path, values):
    src = make_h5()
    convert_features(src, tmp_path / "half.h5", dtype="float16", block_rows=64)
    with FeatureStore(src) as a, FeatureStore(tmp_path / "half.h5") as b:
        assert b.dtypes == {"clip": "float16", "slowfast": "float16"}
        fa, oa = a.read_frames("clip")
        fb, ob = b.read_frames("clip")
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_allclose(fb, fa, atol=2e-3, rtol=1e-3)


def test_info_reports_counts_and_nan(make_h5, values):
    data = {k: v.copy() for k, v in values.items()}
    data["slowfast"][[17, 40], 2] = np.nan
    data["slowfast"][40, 3] = np.inf
    path = make_h5(data=data)
    info = feature_info(path, block_rows=16)
    assert info.n == 300 and info.simulated and info.kind == "hdf5"
    by_name = {e.name: e for e in info.extractors}
    assert (by_name["clip"].nan, by_name["clip"].frame_dim) == (0, 16)
    sf = by_name["slowfast"]
    assert (sf.nan, sf.inf, sf.bad_rows, sf.first_bad_row) == (2, 1, 2, 17)
    result = avs("info", path)
    assert result.exit_code == 0
    assert "simulated:  yes" in result.output and "ids:        300" in result.output
    assert "shot00001_1, shot00001_2" in result.output
    assert avs("info", path, "--json").output.count('"nan": 2') == 1


def test_convert_refuses_nan_rows(make_h5, tmp_path: Path, values):
    data = {k: v.copy() for k, v in values.items()}
    data["clip"][123, 0] = np.nan
    src = make_h5(data=data)
    for dst in (tmp_path / "out", tmp_path / "out.h5"):
        result = avs("convert", src, dst)
        assert result.exit_code != 0
        assert "extractor 'clip' has NaN/Inf values, first in row 123" in result.output
        assert "--allow-nan" in result.output
        assert not dst.exists()
    assert leftovers(tmp_path) == []
    assert avs("convert", src, tmp_path / "out", "--allow-nan").exit_code == 0
    assert np.isnan(BigFile(tmp_path / "out" / "clip").read(123, 124)).any()


def test_float16_overflow_is_refused(make_h5, values, tmp_path: Path):
    data = {k: v.copy() for k, v in values.items()}
    data["slowfast"][9, 0] = 1e6
    with pytest.raises(AvsError, match="'slowfast' row 9 overflows float16"):
        convert_features(make_h5(data=data), tmp_path / "x.h5", dtype="float16")
    assert not (tmp_path / "x.h5").exists()


def test_existing_destination_needs_force(make_h5, tmp_path: Path):
    src = make_h5()
    (tmp_path / "out.h5").write_text("keep me")
    result = avs("convert", src, tmp_path / "out.h5")
    assert result.exit_code != 0 and "--force" in result.output
    assert (tmp_path / "out.h5").read_text() == "keep me"
    assert avs("convert", src, tmp_path / "out.h5", "--force").exit_code == 0
    with open_features(tmp_path / "out.h5") as store:
        assert store.n == 300


def _truncate(path: Path) -> None:
    with open(path / "feature.bin", "rb+") as fh:
        fh.truncate(100)


def _bad_shape(path: Path) -> None:
    (path / "shape.txt").write_text("301 16")


def _dup_ids(path: Path) -> None:
    ids = (path / "id.txt").read_text().split()
    (path / "id.txt").write_text("\n".join([*ids[:-1], ids[0]]))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (_truncate, "feature.bin: size 100 bytes disagrees with shape.txt"),
        (_bad_shape, "disagrees with shape.txt (301 x 16"),
        (_dup_ids, "id.txt: id 'shot00001_1' repeated"),
    ],
)
def test_bad_bigfile_gives_one_clear_error(make_bigfile, tmp_path: Path, damage, words: str):
    src = make_bigfile()
    damage(src)
    for args in (["info", src], ["convert", src, tmp_path / "out.h5"]):
        result = avs(*args)
        assert result.exit_code != 0
        assert words in result.output
        assert result.output.count("Error:") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip"]


def test_real_process_exits_nonzero_without_traceback(make_bigfile, tmp_path: Path):
    src = make_bigfile()
    _truncate(src)
    avs_exe = Path(sys.executable).with_name("avs")
    proc = subprocess.run(
        [str(avs_exe), "features", "convert", str(src), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and "disagrees with shape.txt" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_bad_hdf5_gives_one_clear_error(make_h5, tmp_path: Path):
    src = make_h5()
    with h5py.File(src, "a") as f:
        ids = f["ids"][:-1]
        del f["ids"]
        f["ids"] = ids
    for args in (["info", src], ["convert", src, tmp_path / "out"]):
        result = avs(*args)
        assert result.exit_code != 0
        assert "dataset /features/clip has 300 rows but /ids has 299" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.h5"]
