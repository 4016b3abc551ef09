"""The bounded pre-check of HDF5 files (avs/io/features/h5check.py): an HDF5 file that
makes libhdf5 wait or crash is refused with one error, in the fork path and the spawned
path, and through the CLI."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import avs.io.features.h5check as h5check
from avs.errors import AvsError, FormatError
from avs.io.features import FeatureStoreWriter, open_features
from tests.support.cli import avs_env
from tests.support.hostile import fails_cleanly


def linked_to_fifo(tmp_path: Path) -> Path:
    """A store whose only extractor is an external link into a FIFO: libhdf5 opens the
    FIFO and waits for a writer that never comes (the same as a loop on damaged
    metadata, but deterministic)."""
    os.mkfifo(tmp_path / "fifo.h5")
    path = tmp_path / "linked.h5"
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "avs-features"
        f.attrs["version"] = 1
        f["ids"] = np.array([b"shot1_1", b"shot1_2"])
        f.create_group("features")["clip"] = h5py.ExternalLink("fifo.h5", "/x")
    return path


def valid(tmp_path: Path) -> Path:
    path = tmp_path / "ok.h5"
    with FeatureStoreWriter(path, ["a", "b"], {"clip": 4}, "float32") as w:
        w.write("clip", 0, np.ones((2, 4)))
    return path


@pytest.fixture(autouse=True)
def short_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(h5check.TIMEOUT_ENV, "1.5")
    h5check._passed.clear()


def test_a_link_to_a_fifo_is_refused_in_bounded_time(tmp_path: Path) -> None:
    path = linked_to_fifo(tmp_path)
    start = time.monotonic()
    with pytest.raises(FormatError, match=r"linked\.h5: libhdf5 did not finish .* 1\.5 s"):
        open_features(path)
    assert time.monotonic() - start < 10


def test_the_spawned_child_when_threads_run(tmp_path: Path) -> None:
    """With another thread alive the child is a fresh interpreter, not a fork."""
    path = linked_to_fifo(tmp_path)
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        with pytest.raises(FormatError, match="did not finish"):
            open_features(path)
        h5check.check_hdf5(valid(tmp_path))  # and a good file passes that way too
    finally:
        stop.set()
        thread.join()


def test_a_crash_in_the_child_is_one_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = valid(tmp_path)
    monkeypatch.setattr(h5check, "walk", lambda p: os.kill(os.getpid(), signal.SIGSEGV))
    with pytest.raises(FormatError, match=r"ok\.h5: libhdf5 crashed .*SIGSEGV"):
        open_features(path)


def test_a_passed_file_is_not_walked_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = valid(tmp_path)
    with open_features(path) as store:
        assert store.ids == ["a", "b"]
    monkeypatch.setattr(h5check, "_forked", lambda *a: pytest.fail("walked twice"))
    with open_features(path) as store:
        np.testing.assert_array_equal(store.read("clip"), np.ones((2, 4)))
    os.utime(path, ns=(1, 1))  # changed since: checked again
    with pytest.raises(pytest.fail.Exception, match="walked twice"):
        open_features(path)


def test_python_errors_are_left_to_the_reader(tmp_path: Path) -> None:
    """Not HDF5 at all: the walk fails in Python, the reader's own message is given."""
    path = tmp_path / "text.h5"
    path.write_text("not hdf5\n")
    with pytest.raises(FormatError, match="not a readable HDF5 file"):
        open_features(path)


@pytest.mark.parametrize(
    "value", ["0", "-3", "nan", "inf", "soon", "1e9", "1e-300", "1_0", "\u0663"]
)
def test_a_bad_limit_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(h5check.TIMEOUT_ENV, value)
    with pytest.raises(AvsError, match=h5check.TIMEOUT_ENV):
        open_features(valid(tmp_path))


def test_cli_refuses_a_store_that_makes_libhdf5_wait(tmp_path: Path) -> None:
    path = linked_to_fifo(tmp_path)
    env = {**avs_env(), h5check.TIMEOUT_ENV: "2"}
    out = tmp_path / "copy.h5"
    fails_cleanly(["features", "info", path], tmp_path, "linked.h5", "did not finish", env=env)
    fails_cleanly(["features", "convert", path, out], tmp_path, "linked.h5", env=env)
    assert not out.exists()


def test_a_virtual_dataset_is_refused_before_any_read(tmp_path: Path) -> None:
    """Rows from other files (here one from a FIFO) pass a walk of the end elements; the
    reader refuses virtual datasets before reading a row."""
    ok = valid(tmp_path)
    os.mkfifo(tmp_path / "fifo.h5")
    layout = h5py.VirtualLayout(shape=(3, 4), dtype="f4")
    layout[0] = h5py.VirtualSource(ok, "features/clip", shape=(2, 4))[0]
    layout[1] = h5py.VirtualSource(tmp_path / "fifo.h5", "x", shape=(1, 4))[0]
    layout[2] = h5py.VirtualSource(ok, "features/clip", shape=(2, 4))[1]
    path = tmp_path / "vds.h5"
    with h5py.File(path, "w") as f:
        f["ids"] = np.array([b"a", b"b", b"c"])
        f.create_group("features").create_virtual_dataset("clip", layout, fillvalue=0)
    start = time.monotonic()
    with pytest.raises(FormatError, match=r"vds\.h5: dataset /features/clip is a virtual"):
        open_features(path)
    assert time.monotonic() - start < 10


def test_a_file_replaced_after_its_check_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import avs.io.features.hdf5 as hdf5

    path = valid(tmp_path)
    other = linked_to_fifo(tmp_path)
    real = hdf5.check_hdf5

    def check_then_swap(p: Path) -> object:
        checked = real(p)
        os.replace(other, p)  # what a hostile user could do between check and open
        return checked

    monkeypatch.setattr(hdf5, "check_hdf5", check_then_swap)
    with pytest.raises(FormatError, match="changed while it was being checked"):
        open_features(path)


def test_an_ignored_sigchld_does_not_break_the_check(tmp_path: Path) -> None:
    """Inherited SIGCHLD = SIG_IGN makes the kernel reap children itself."""
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        with open_features(valid(tmp_path)) as store:
            assert store.ids == ["a", "b"]
        with pytest.raises(FormatError, match="did not finish"):
            open_features(linked_to_fifo(tmp_path))
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGCHLD, old)


def test_the_spawned_child_ignores_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stray h5py.py (or an old avs checkout) in the working directory is not what the
    spawned child imports, and a child that cannot run is an error, not a pass."""
    (tmp_path / "h5py.py").write_text("raise SystemExit(0)\n")
    monkeypatch.chdir(tmp_path)
    # None: the walk reached the FIFO and waited, so the real h5py ran, not the stray one
    assert h5check._spawned(linked_to_fifo(tmp_path), 1.5) is None
    monkeypatch.setattr(h5check.sys, "executable", "/bin/false")
    monkeypatch.setattr(h5check.threading, "active_count", lambda: 2)
    with pytest.raises(AvsError, match="could not run"):
        h5check.check_hdf5(valid(tmp_path))
