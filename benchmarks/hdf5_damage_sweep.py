"""Damaged HDF5 stores, swept systematically: does any reach a hang, a crash or a traceback?

    .venv/bin/python benchmarks/hdf5_damage_sweep.py [--stride 3] [--quick]

Writes one small valid feature store (40 shots, two extractors, frame-level features),
then damaged copies of it: at every ``stride``-th byte of its metadata (every byte that
is not inside a data chunk: superblock, object headers, B-tree nodes, heaps), three kinds
of damage each (4 bytes 0xff, 4 bytes 0x00, the lowest bit flipped). Each copy is opened,
read whole (every extractor, every frame block) and scanned (``feature_info``) in a forked
child under a hard limit, twice: with the bounded pre-check of
``avs.io.features.h5check`` (as every command opens a store) and without it (libhdf5
directly, as before issue #16). Outcomes per copy:

    accepted   read back whole (the damage hit bytes nobody reads)
    refused    one AvsError naming the file (the promised outcome for a bad file)
    traceback  any other Python exception
    hang       the child did not finish within --limit seconds
    crash      the child died from a signal
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

import h5py
import numpy as np

import avs.io.features.h5check as h5check
from avs.errors import AvsError
from avs.features import feature_info
from avs.io.features import FeatureStoreWriter, open_features

KINDS = {
    "ff": lambda b, i: b.__setitem__(slice(i, i + 4), b"\xff" * len(b[i : i + 4])),
    "00": lambda b, i: b.__setitem__(slice(i, i + 4), b"\x00" * len(b[i : i + 4])),
    "bit": lambda b, i: b.__setitem__(i, b[i] ^ 1),
}


def valid_store(path: Path) -> None:
    ids = [f"shot{i:05d}_1" for i in range(40)]
    with FeatureStoreWriter(path, ids, {"a": 8, "b": 3}, "float32", {"a": 8}) as w:
        w.write("a", 0, np.ones((40, 8)))
        w.write("b", 0, np.zeros((40, 3)))
        w.write_frames("a", 0, np.ones((80, 8)), [2] * 40)


def data_ranges(path: Path) -> list[tuple[int, int]]:
    """Byte ranges of the file holding dataset values (chunks or contiguous blocks)."""
    ranges: list[tuple[int, int]] = []

    def visit(name: str, obj: object) -> None:
        if not isinstance(obj, h5py.Dataset):
            return
        if obj.chunks is None:
            offset = obj.id.get_offset()
            if offset is not None:
                ranges.append((offset, offset + obj.id.get_storage_size()))
            return
        obj.id.chunk_iter(lambda c: ranges.append((c.byte_offset, c.byte_offset + c.size)))

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return ranges


def metadata_offsets(path: Path, size: int) -> list[int]:
    inside = np.zeros(size, dtype=bool)
    for lo, hi in data_ranges(path):
        inside[lo:hi] = True
    return [int(i) for i in np.flatnonzero(~inside)]


def read_everything(path: Path) -> None:
    with open_features(path) as store:
        for name in store.names:
            store.read(name)
        for name in store.frame_names:
            store.read_frames(name)
    feature_info(path, block_rows=16)


def outcome(path: Path, guard: bool, limit: float) -> str:
    """One damaged copy, read in a forked child under a hard limit."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            if not guard:  # the reader opens the file directly (its identity unchecked)
                import avs.io.features.hdf5 as hdf5

                hdf5.check_hdf5 = lambda p: h5check.identity(os.stat(p))  # type: ignore[assignment]
            read_everything(path)
        except AvsError:
            code = 2
        except BaseException:  # noqa: BLE001 - counted by the parent
            traceback.print_exc(limit=1, file=open(os.devnull, "w"))  # noqa: SIM115
            code = 3
        os._exit(code)
    deadline = time.monotonic() + limit
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return "hang"
        time.sleep(0.002)
    if os.WIFSIGNALED(status):
        return "crash"
    return {0: "accepted", 2: "refused"}.get(os.WEXITSTATUS(status), "traceback")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stride", type=int, default=3, help="damage every Nth metadata byte")
    ap.add_argument("--limit", type=float, default=8.0, help="seconds before a child is a hang")
    ap.add_argument("--quick", action="store_true", help="every 40th metadata byte only")
    args = ap.parse_args()
    stride = 40 if args.quick else args.stride
    os.environ[h5check.TIMEOUT_ENV] = "3"  # well inside --limit
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        good = Path(tmp) / "good.h5"
        valid_store(good)
        original = good.read_bytes()
        offsets = metadata_offsets(good, len(original))[::stride]
        print(f"store {len(original):,} bytes, {len(offsets) * stride:,} metadata bytes; "
              f"damaging every {stride}th: {len(offsets)} offsets x {len(KINDS)} kinds")  # fmt: skip
        counts = {mode: collections.Counter() for mode in ("pre-check", "no pre-check")}
        where = {mode: collections.defaultdict(list) for mode in counts}
        bad = Path(tmp) / "bad.h5"
        for offset in offsets:
            for kind, damage in KINDS.items():
                data = bytearray(original)
                damage(data, offset)
                bad.write_bytes(bytes(data))
                for mode in counts:
                    result = outcome(bad, mode == "pre-check", args.limit)
                    counts[mode][result] += 1
                    if result in ("hang", "crash", "traceback"):
                        where[mode][result].append(f"{offset}:{kind}")
        total = len(offsets) * len(KINDS)
        print(f"\n{total} damaged copies, each read in a child (limit {args.limit:g} s, "
              f"pre-check limit {os.environ[h5check.TIMEOUT_ENV]} s)\n")  # fmt: skip
        print("| mode | accepted | refused (one error) | traceback | hang | crash |")
        print("|---|---|---|---|---|---|")
        for mode, c in counts.items():
            row = " | ".join(
                str(c[k]) for k in ("accepted", "refused", "traceback", "hang", "crash")
            )
            print(f"| {mode} | {row} |")
        for mode, found in where.items():
            for result, places in found.items():
                print(f"{mode}: {result} at {', '.join(places[:12])}"
                      + (" ..." if len(places) > 12 else ""))  # fmt: skip
    print(f"\nwall time {time.perf_counter() - start:.0f} s; h5py {h5py.__version__}, "
          f"HDF5 {h5py.version.hdf5_version}, Python {sys.version.split()[0]}")  # fmt: skip


if __name__ == "__main__":
    main()
