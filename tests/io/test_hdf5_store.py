"""The HDF5 feature store and open_features over HDF5, BigFile and FeatureData."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from avs.errors import AvsError, FormatError
from avs.io.features import FeatureStore, FeatureStoreWriter, open_features


def test_layout_matches_design(make_h5, n_frames):
    path = make_h5()
    with h5py.File(path) as f:
        assert f.attrs["format"] == "avs-features" and f.attrs["version"] == 1
        assert bool(f.attrs["simulated"]) is True
        assert f["ids"].dtype.kind == "S"
        ds = f["features/clip"]
        assert ds.shape == (300, 16) and ds.chunks is not None and ds.chunks[1] == 16
        assert f["frames/clip/offsets"].shape == (301,)
        assert f["frames/clip/values"].shape == (300 * n_frames, 16)


def test_reader_api(make_h5, values, ids, n_frames):
    with FeatureStore(make_h5()) as store:
        assert store.ids == ids[:] and store.n == 300 and store.simulated
        assert store.names == ["clip", "slowfast"]
        assert store.dims == {"clip": 16, "slowfast": 8}
        block = store.read("slowfast", 5, 9)
        assert block.dtype == np.float32
        np.testing.assert_array_equal(block, values["slowfast"][5:9])
        rows = [299, 0, 5, 5]
        np.testing.assert_array_equal(store.read_rows("clip", rows), values["clip"][rows])
        sparse = [0, 150, 299]
        np.testing.assert_array_equal(store.read_rows("clip", sparse), values["clip"][sparse])
        np.testing.assert_array_equal(store.row_of([store.ids[42], store.ids[1]]), [42, 1])
        assert store.has_frames("clip") and not store.has_frames("slowfast")
        frames, offsets = store.read_frames("clip", 10, 12)
        np.testing.assert_array_equal(offsets, [0, n_frames, 2 * n_frames])
        np.testing.assert_array_equal(
            frames[:n_frames], np.repeat(values["clip"][10:11], n_frames, 0)
        )
        with pytest.raises(AvsError, match="no extractor 'nope'"):
            store.read("nope", 0, 1)
        with pytest.raises(AvsError, match="not in the store"):
            store.row_of(["shot99999_1"])


@pytest.mark.parametrize("shards", [1, 3, 7])
def test_iter_blocks_shards_cover_every_row_once(make_h5, values, shards: int):
    with FeatureStore(make_h5()) as store:
        got = np.zeros_like(values["clip"])
        seen = np.zeros(300, dtype=int)
        for rank in range(shards):
            for start, block in store.iter_blocks("clip", 64, shard=(shards, rank)):
                assert len(block) <= 64
                got[start : start + len(block)] = block
                seen[start : start + len(block)] += 1
        assert (seen == 1).all()
        np.testing.assert_array_equal(got, values["clip"])


def test_float16_store_reads_float32(make_h5, values):
    with FeatureStore(make_h5(dtype="float16")) as store:
        assert store.dtypes["clip"] == "float16"
        block = store.read("clip")
        assert block.dtype == np.float32
        np.testing.assert_allclose(block, values["clip"], atol=2e-3, rtol=1e-3)


def test_writer_is_atomic(tmp_path: Path, values, ids):
    path = tmp_path / "s.h5"
    with pytest.raises(RuntimeError), FeatureStoreWriter(path, ids[:], {"clip": 16}) as w:
        w.write("clip", 0, values["clip"][:10])
        raise RuntimeError("crash")
    assert list(tmp_path.iterdir()) == []
    with (
        pytest.raises(AvsError, match="never written"),
        FeatureStoreWriter(path, ids[:], {"clip": 16}) as w,
    ):
        w.write("clip", 0, values["clip"][:10])
    assert list(tmp_path.iterdir()) == []


def test_writer_rejects_bad_input(tmp_path: Path):
    with pytest.raises(AvsError, match="ids repeat"):
        FeatureStoreWriter(tmp_path / "a.h5", ["x", "x"], {"clip": 4})
    with pytest.raises(AvsError, match="float16 or float32"):
        FeatureStoreWriter(tmp_path / "a.h5", ["x"], {"clip": 4}, dtype="int8")
    with FeatureStoreWriter(tmp_path / "a.h5", ["x", "y"], {"clip": 4}) as w:
        with pytest.raises(AvsError, match=r"expects \(rows, 4\)"):
            w.write("clip", 0, np.zeros((2, 5)))
        with pytest.raises(AvsError, match="outside"):
            w.write("clip", 1, np.zeros((2, 4)))
        w.write("clip", 0, np.zeros((2, 4)))


def _corrupt(path: Path, edit) -> Path:
    with h5py.File(path, "a") as f:
        edit(f)
    return path


def test_validation_on_open(make_h5):
    path = _corrupt(make_h5("a.h5"), lambda f: f.__delitem__("ids"))
    with pytest.raises(FormatError, match="/ids is missing"):
        FeatureStore(path)

    def short_ids(f):
        ids = f["ids"][:-1]
        del f["ids"]
        f["ids"] = ids

    with pytest.raises(FormatError, match="/features/clip has 300 rows but /ids has 299"):
        FeatureStore(_corrupt(make_h5("b.h5"), short_ids))

    def dup_ids(f):
        f["ids"][1] = f["ids"][0]

    with pytest.raises(FormatError, match="repeats id 'shot00001_1'") as err:
        FeatureStore(_corrupt(make_h5("c.h5"), dup_ids))
    assert "c.h5" in str(err.value)


def test_not_hdf5(tmp_path: Path):
    path = tmp_path / "x.h5"
    path.write_text("hello")
    with pytest.raises(FormatError, match="not a readable HDF5 file"):
        open_features(path)
    with pytest.raises(AvsError, match="no such"):
        open_features(tmp_path / "missing.h5")


def test_open_features_bigfile_and_featuredata(make_bigfile, tmp_path: Path, values, ids):
    single = make_bigfile("clip")
    with open_features(single) as store:
        assert store.names == ["clip"] and store.ids == ids[:]
        np.testing.assert_array_equal(store.read("clip", 3, 5), values["clip"][3:5])
        starts = [s for s, _ in store.iter_blocks("clip", 100)]
        assert starts == [0, 100, 200]
    data = tmp_path / "FeatureData"
    make_bigfile("clip", parent=data)
    make_bigfile("slowfast", values["slowfast"], parent=data)
    with open_features(data) as store:
        assert store.names == ["clip", "slowfast"] and store.dims == {"clip": 16, "slowfast": 8}
        np.testing.assert_array_equal(
            store.read_rows("slowfast", [4, 1]), values["slowfast"][[4, 1]]
        )
        assert not store.simulated


def test_featuredata_ids_must_agree(make_bigfile, tmp_path: Path, values, ids):
    data = tmp_path / "FeatureData"
    make_bigfile("clip", parent=data)
    other = make_bigfile("slowfast", values["slowfast"], parent=data)
    ids = ids[:]
    ids[0], ids[1] = ids[1], ids[0]
    (other / "id.txt").write_text("\n".join(ids))
    with pytest.raises(FormatError, match="ids differ"):
        open_features(data)


def test_empty_directory_is_not_a_store(tmp_path: Path):
    with pytest.raises(FormatError, match="not a feature store"):
        open_features(tmp_path)


def test_non_scalar_attrs_are_kept_as_json(tmp_path: Path):
    path = tmp_path / "a.h5"
    attrs = {"collection": "sim", "extractors": {"clip": 16}, "note": None}
    with FeatureStoreWriter(path, ["x"], {"clip": 2}, attrs=attrs) as w:
        w.write("clip", 0, np.ones((1, 2)))
    with FeatureStore(path) as store:
        assert store.attrs["collection"] == "sim"
        assert store.attrs["extractors"] == '{"clip": 16}' and store.attrs["note"] == "null"


def test_read_rows_matches_numpy_for_any_order(make_h5, values, monkeypatch):
    """read_rows splits into windows (here 10 rows) and mixes contiguous and point reads."""
    monkeypatch.setattr("avs.io.features.hdf5.READ_BYTES", 16 * 4 * 10)
    rng = np.random.default_rng(5)
    with FeatureStore(make_h5()) as store:
        for size in (1, 3, 40, 299, 600):
            rows = rng.integers(0, 300, size=size)
            np.testing.assert_array_equal(store.read_rows("clip", rows), values["clip"][rows])


def test_decreasing_frame_offsets_are_rejected(make_h5):
    def bad(f):
        f["frames/clip/offsets"][5] = 0

    with pytest.raises(FormatError, match="/frames/clip/offsets must start at 0"):
        FeatureStore(_corrupt(make_h5(), bad))
