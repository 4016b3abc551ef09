"""Property tests for the feature stores: BigFile directories and HDF5 files built from
generated (often wrong) parts.

Property: opening, describing (``feature_info`` with its NaN/Inf scan) and converting
either works, giving back exactly what was written, or raises AvsError / FormatError
naming a file of the store. Absurd declared sizes (a shape.txt or an HDF5 dataset
claiming 10^12 rows) never allocate: every example runs under a tracemalloc bound.
"""

from __future__ import annotations

import os
import signal
import tempfile
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import avs.io.features.h5check as h5check
from avs.errors import AvsError, FormatError
from avs.features import convert_features, feature_info
from avs.io.bigfile import BigFile, BigFileWriter
from avs.io.features import FeatureStoreWriter, open_features

EXAMPLES = 150
PROPS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PEAK_BYTES = 32 << 20  # far above what these small stores need, far below 10^12 rows


@contextmanager
def bounded_memory(limit: int = PEAK_BYTES) -> Iterator[None]:
    """Fail if Python or numpy allocate more than ``limit`` bytes at once inside."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < limit, f"peak allocation {peak:,} bytes"


def _named_in(err: AvsError, root: Path) -> None:
    """The message names the store or a file inside it."""
    assert str(root) in str(err), str(err)


def exercise(path: Path, out_dir: Path) -> dict[str, np.ndarray] | None:
    """Open, describe and convert the store at ``path``; its values per extractor, or
    None when it was refused with an AvsError naming it."""
    try:
        with open_features(path) as store:
            data = {name: store.read(name) for name in store.names}
            ids = list(store.ids)
        info = feature_info(path, block_rows=7)
    except AvsError as err:
        _named_in(err, path)
        event("store refused")
        return None
    event("store accepted")
    for ext in info.extractors:  # the scan counts exactly what numpy counts
        assert ext.nan == int(np.isnan(data[ext.name]).sum())
        assert ext.inf == int(np.isinf(data[ext.name]).sum())
    finite = all(np.isfinite(v).all() for v in data.values())
    for dst in (out_dir / "copy.h5", out_dir / "copy"):
        try:
            convert_features(path, dst, dtype="float32" if dst.suffix else None, block_rows=5)
        except AvsError as err:
            assert not finite or not all(i.isascii() for i in ids) or not data, str(err)
            assert not dst.exists()
            continue
        with open_features(dst) as copy:
            assert copy.ids == ids
            for name, values in data.items():
                np.testing.assert_array_equal(copy.read(name), values)
    return data


# ---------------------------------------------------------------- BigFile


ID = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=6)
SHAPE_TEXT = st.one_of(
    st.just(None),  # the right "N D"
    st.sampled_from(
        ["", "3", "3 4 5", "-3 4", "3 0", "0 4", "x y", "3\n4\n", " 3  4 ", "\u0663 4", "3.0 4"]
    ),
    st.tuples(st.sampled_from([10**12, 10**15, 10**17, 2**63]), st.integers(1, 4096)).map(
        lambda t: f"{t[0]} {t[1]}"
    ),
    st.integers(1, 4096).map(lambda d: f"1 {d}"),
    st.just("9" * 5000 + " 4"),
    st.binary(max_size=20).map(lambda b: b.decode("latin-1")),
)


@st.composite
def bigfile_parts(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 12))
    d = draw(st.integers(1, 6))
    ids = draw(st.lists(ID, min_size=n, max_size=n, unique=True))
    values = draw(st.sampled_from(["normal", "nan", "inf"]).map(lambda kind: _values(n, d, kind)))
    return {
        "n": n,
        "d": d,
        "ids": ids,
        "values": values,
        "shape": draw(st.one_of(st.just(None), SHAPE_TEXT)),
        "id_edit": draw(_mostly("ok", "drop", "extra", "dup", "latin1", "spaces")),
        "bin_edit": draw(_mostly("ok", "short", "long", "empty", "missing", "dir")),
        "missing": draw(_mostly(None, "id.txt", "shape.txt")),
    }


def _mostly(ok: Any, *bad: Any) -> st.SearchStrategy[Any]:
    """``ok`` two times in three, else one of ``bad``: most examples then reach the
    accepted path, the rest probe one broken part at a time."""
    return st.one_of(st.just(ok), st.just(ok), st.sampled_from(bad))


def _values(n: int, d: int, kind: str) -> np.ndarray:
    values = np.arange(n * d, dtype=np.float32).reshape(n, d) / 7
    if n and kind == "nan":
        values[n // 2, d // 2] = np.nan
    if n and kind == "inf":
        values[-1, 0] = -np.inf
    return values


def write_bigfile(root: Path, p: dict[str, Any]) -> bool:
    """Write a BigFile from ``p``; True when every part is the correct one."""
    root.mkdir(parents=True)
    ids = list(p["ids"])
    if p["id_edit"] == "drop" and ids:
        ids.pop()
    elif p["id_edit"] == "extra":
        ids.append("extra_id")
    elif p["id_edit"] == "dup" and len(ids) >= 2:
        ids[-1] = ids[0]
    id_bytes = "\n".join(ids).encode()
    if p["id_edit"] == "latin1":
        id_bytes += b"\xe9\xff"
    elif p["id_edit"] == "spaces":
        id_bytes = " \t ".join(ids).encode() + b"\r\n"
    data = p["values"].tobytes()
    data = {
        "ok": data,
        "short": data[:-1],
        "long": data + b"\0\0\0\0",
        "empty": b"",
        "missing": data,
        "dir": data,
    }[p["bin_edit"]]
    shape = p["shape"] if p["shape"] is not None else f"{p['n']} {p['d']}"
    files = {"id.txt": id_bytes, "shape.txt": shape.encode("utf-8"), "feature.bin": data}
    for name, content in files.items():
        if name == p["missing"] or (name == "feature.bin" and p["bin_edit"] == "missing"):
            continue
        if name == "feature.bin" and p["bin_edit"] == "dir":
            (root / name).mkdir()
            continue
        (root / name).write_bytes(content)
    correct_ids = p["id_edit"] in ("ok", "spaces") or (
        (p["id_edit"] == "drop" and not p["ids"]) or (p["id_edit"] == "dup" and len(p["ids"]) < 2)
    )
    correct_bin = p["bin_edit"] == "ok" or (p["bin_edit"] == "empty" and p["n"] == 0)
    correct_shape = p["shape"] is None or p["shape"].split() == [str(p["n"]), str(p["d"])]
    return correct_ids and correct_bin and correct_shape and p["missing"] is None


@PROPS
@given(bigfile_parts())
def test_bigfile_parts(parts: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, bounded_memory():
        root = Path(tmp) / "clip"
        correct = write_bigfile(root, parts)
        try:
            with BigFile(root) as bf:
                got = (bf.ids, bf.read())
        except FormatError as err:
            _named_in(err, root)
            assert not correct, f"a correct BigFile was refused: {err}"
            return
        assert got[0] == parts["ids"]
        if parts["n"] == 0:  # no rows: shape.txt's width is all there is, and any width is valid
            assert got[1].shape[0] == 0
        else:
            np.testing.assert_array_equal(got[1], parts["values"])
        data = exercise(root, Path(tmp))
        assert data is not None


@settings(PROPS, max_examples=60)
@given(st.lists(st.lists(ID, min_size=3, max_size=3, unique=True), min_size=2, max_size=3))
def test_featuredata_with_mismatched_ids(id_lists: list[list[str]]) -> None:
    """A FeatureData directory whose extractors list different ids is refused."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "FeatureData"
        for i, ids in enumerate(id_lists):
            with BigFileWriter(root / f"ext{i}", ids, 2) as w:
                w.write(0, np.ones((3, 2)))
        same = all(ids == id_lists[0] for ids in id_lists)
        data = exercise(root, Path(tmp))
        assert (data is not None) == same


def test_shape_claiming_10_to_12_rows_does_not_allocate(tmp_path: Path) -> None:
    """Regression: a shape.txt of 10^12 rows next to a small feature.bin."""
    root = tmp_path / "clip"
    root.mkdir()
    (root / "shape.txt").write_text(f"{10**12} 512")
    (root / "id.txt").write_text("a b c")
    (root / "feature.bin").write_bytes(np.ones((3, 512), np.float32).tobytes())
    with bounded_memory(1 << 20), pytest.raises(FormatError, match="disagrees with shape.txt"):
        feature_info(root)


# ---------------------------------------------------------------- HDF5


@st.composite
def h5_parts(draw: st.DrawFn) -> dict[str, Any]:
    n = draw(st.integers(0, 10))
    return {
        "n": n,
        "ids": draw(_mostly("ok", "vlen", "int", "2d", "dup", "nonascii", "missing")),
        "features": draw(
            st.lists(
                st.tuples(
                    _mostly("float32", "float16", "float64", "int32", "complex64"),
                    _mostly("ok", "rows+1", "rows-1", "1d", "huge", "group"),
                    st.sampled_from(["normal", "nan", "inf"]),
                    st.integers(1, 5),
                ),
                max_size=3,
            )
        ),
        "frames": draw(_mostly(None, "ok", "bad_offsets", "group", "float_offsets", "huge")),
        "no_features_group": draw(_mostly(False, True)),
    }


def write_h5(path: Path, p: dict[str, Any]) -> bool:
    """Write an HDF5 store from ``p``; True when it is a correct avs store."""
    n = p["n"]
    ids = [f"shot{i:05d}_1" for i in range(n)]
    with h5py.File(path, "w") as f:
        kind = p["ids"]
        if kind in ("ok", "dup"):
            f["ids"] = np.array(ids[:1] * n if kind == "dup" else ids, dtype="S12")
        elif kind == "vlen":
            f.create_dataset("ids", data=ids, dtype=h5py.string_dtype())
        elif kind == "int":
            f["ids"] = np.arange(n)
        elif kind == "2d":
            f["ids"] = np.array(ids, dtype="S12").reshape(n, 1)
        elif kind == "nonascii":
            f["ids"] = np.array([b"\xe9" + i.encode() for i in ids], dtype="S13")
        if p["no_features_group"]:
            return False
        group = f.create_group("features")
        for j, (dtype, shape, values, d) in enumerate(p["features"]):
            name = f"ext{j}"
            if shape == "group":
                group.create_group(name)
            elif shape == "huge":  # declared, never written: reads as fill values
                group.create_dataset(name, shape=(10**12, d), dtype="float32", chunks=(1024, d))
            else:
                rows = {"ok": n, "rows+1": n + 1, "rows-1": max(n - 1, 0), "1d": n}[shape]
                with np.errstate(invalid="ignore"):  # NaN -> int32 is the point here
                    data = _values(rows, d, values).astype(dtype)
                group[name] = data[:, 0] if shape == "1d" else data
        frame = p["frames"] if p["features"] else None
        if frame is not None:
            fr = f.create_group("frames").create_group("ext0")
            if frame == "group":
                fr.create_group("values")
                fr["offsets"] = np.zeros(n + 1, np.int64)
            elif frame == "huge":
                fr.create_dataset("values", shape=(10**11, 4), dtype="float32", chunks=(1024, 4))
                fr["offsets"] = np.r_[0, np.full(n, 10**11)].astype(np.int64)
            else:
                fr["values"] = np.ones((2 * n, 3), np.float32)
                offsets = np.arange(n + 1) * 2
                if frame == "bad_offsets":
                    offsets = offsets[::-1]
                fr["offsets"] = offsets.astype(np.float64 if frame == "float_offsets" else np.int64)
    ids_ok = kind in ("ok", "vlen") or (kind == "dup" and n < 2) or (kind == "nonascii" and n == 0)
    features_ok = all(
        dtype.startswith("float") and (shape == "ok" or (shape == "rows-1" and n == 0))
        for dtype, shape, _, _ in p["features"]
    )
    frames_ok = frame in (None, "ok") or (frame == "bad_offsets" and n == 0)
    return ids_ok and features_ok and frames_ok


@PROPS
@given(h5_parts())
def test_hdf5_parts(parts: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, bounded_memory():
        path = Path(tmp) / "store.h5"
        correct = write_h5(path, parts)
        data = exercise(path, Path(tmp))
        if correct:
            assert data is not None, "a correct store was refused"


def test_hdf5_declared_10_to_12_ids_do_not_allocate(tmp_path: Path) -> None:
    """Regression: /ids declared with 10^12 rows in a 2 kB file took 7 TiB (MemoryError)."""
    path = tmp_path / "huge.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("ids", shape=(10**12,), dtype="S8", chunks=(4096,))
        f.create_group("features")
    with bounded_memory(1 << 20), pytest.raises(FormatError, match="declares shape"):
        feature_info(path)


def _valid_store(path: Path) -> None:
    ids = [f"shot{i:05d}_1" for i in range(40)]
    with FeatureStoreWriter(path, ids, {"a": 8, "b": 3}, "float32", {"a": 8}) as w:
        w.write("a", 0, np.ones((40, 8)))
        w.write("b", 0, np.zeros((40, 3)))
        w.write_frames("a", 0, np.ones((80, 8)), [2] * 40)


@settings(PROPS, max_examples=80)
@given(st.lists(st.tuples(st.integers(0, 1 << 20), st.binary(min_size=1, max_size=8)), max_size=6))
def test_hdf5_with_damaged_bytes(damage: list[tuple[int, bytes]]) -> None:
    """Bytes of a valid store overwritten at random places (bit rot, a bad copy).

    Runs in a forked child: libhdf5 itself can crash (SIGSEGV) or loop on damaged
    metadata, which no Python code can catch. Every store is opened behind the bounded
    pre-check (avs/io/features/h5check.py), so the only outcomes allowed are a correct
    read or one AvsError naming the file: a native crash or hang fails the test
    (benchmarks/hdf5_damage_sweep.py sweeps the metadata systematically)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "store.h5"
        _valid_store(path)
        data = bytearray(path.read_bytes())
        size = len(data)
        for pos, chunk in damage:
            pos %= size
            data[pos : pos + len(chunk)] = chunk
        path.write_bytes(bytes(data[:size]))
        with _env(h5check.TIMEOUT_ENV, "5"):  # inside in_child's 20 s alarm
            outcome, detail = in_child(lambda: read_everything(path))
    event(f"damaged store: {outcome}")
    assert outcome == "ok", f"{outcome}: {detail}"


@contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    old = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if old is None:
            del os.environ[name]
        else:
            os.environ[name] = old


def read_everything(path: Path) -> None:
    """Open, read every dataset, scan: an AvsError naming the file is a fine outcome."""
    try:
        with open_features(path) as store:
            for name in store.names:
                store.read(name)
            for name in store.frame_names:
                store.read_frames(name)
        feature_info(path, block_rows=16)
    except AvsError as err:
        _named_in(err, path)


def in_child(fn: Callable[[], object], timeout: int = 20) -> tuple[str, str]:
    """Run ``fn`` in a forked child: ("ok", ""), ("python error", traceback),
    ("native crash", signal) or ("native hang", "")."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        os.close(read_fd)
        code = 0
        try:
            signal.alarm(timeout)
            with bounded_memory(256 << 20):
                fn()
        except BaseException:  # noqa: BLE001 - reported to the parent
            os.write(write_fd, traceback.format_exc().encode()[-4000:])
            code = 3
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        text = fh.read().decode(errors="replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return ("native hang" if sig == signal.SIGALRM else "native crash"), str(sig)
    return ("ok", "") if os.WEXITSTATUS(status) == 0 else ("python error", text)
