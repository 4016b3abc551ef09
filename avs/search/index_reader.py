"""Opening an index directory for scoring: manifest checks, shot ids, shard files.

The layout is written by :mod:`avs.search.index` (docs/design.md, "Index directory")."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError, short
from avs.io.textfile import check_regular, read_text
from avs.search.index import MANIFEST, read_manifest
from avs.search.merge import tie_key

__all__ = ["IndexForScoring", "open_index"]


@dataclass(frozen=True)
class IndexForScoring:
    """A checked index: its manifest, shot ids in row order and their tie keys."""

    path: Path
    manifest: dict[str, Any]
    ids: list[str]
    key: np.ndarray  # tie_key(ids): the shot-id part of the tie rule as integers

    @property
    def shards(self) -> list[dict[str, Any]]:
        """``[{"file", "start", "stop"}, ...]`` in row order."""
        return self.manifest["shards"]

    def shard_tasks(self, which: list[int]) -> list[tuple[str, int, int]]:
        """(absolute file, start, stop) of the shards ``which``; absolute because workers
        of an external cluster have their own working directory."""
        root = self.path.resolve()
        return [
            (str(root / s["file"]), s["start"], s["stop"])
            for s in map(self.shards.__getitem__, which)
        ]


def _read_ids(index: Path, n: int) -> list[str]:
    path = index / "ids.txt"
    if not path.exists() and not path.is_symlink():
        raise AvsError(f"index {index}: ids.txt missing; rebuild it with `avs index`")
    ids = read_text(path, "index ids").split("\n")
    if ids and ids[-1] == "":
        ids.pop()
    if len(ids) != n:
        raise AvsError(f"index {index}: ids.txt has {len(ids)} ids, the manifest says {n}")
    return ids


def _check_layout(index: Path, manifest: dict[str, Any]) -> None:
    """AvsError naming the manifest field unless ``n``, ``dim`` and ``shards`` have their
    types and the shards tile rows 0..n exactly, in order: a lost shard would silently
    score part of the collection, a duplicated one give duplicate (topic, shot) pairs."""
    where = f"{index / MANIFEST}"
    for key in ("n", "dim"):
        value = manifest.get(key)
        if type(value) is not int or value < (0 if key == "n" else 1):
            raise AvsError(
                f"{where}, field {key!r}: expected a non-negative integer, got {short(repr(value))}"
            )
    shards = manifest.get("shards")
    if not isinstance(shards, list):
        raise AvsError(f"{where}, field 'shards': expected a list of shards")
    row = 0
    for i, s in enumerate(shards):
        ok = isinstance(s, dict) and isinstance(s.get("file"), str)
        ok = ok and all(type(s.get(k)) is int for k in ("start", "stop"))
        if not ok:
            raise AvsError(f"{where}, field 'shards[{i}]': expected {{file, start, stop}}")
        if s["start"] != row or s["stop"] <= s["start"]:
            raise AvsError(
                f"{where}, field 'shards[{i}]': rows {s['start']}-{s['stop']} do not follow "
                f"row {row} (a shard is lost, duplicated or out of order); rebuild the index"
            )
        if Path(s["file"]).name != s["file"] or s["file"].startswith("."):
            raise AvsError(
                f"{where}, field 'shards[{i}]': file {short(s['file'])} is not a shard name"
            )
        row = s["stop"]
    if row != manifest["n"]:
        raise AvsError(
            f"{where}, field 'shards': the shards cover {row} rows, the manifest says n = "
            f"{manifest['n']}; rebuild the index"
        )


def _check_shard_files(index: Path, manifest: dict[str, Any]) -> None:
    """Every shard file is a regular ``.npy`` of (stop - start, dim) float16/float32 (the
    header only: memory-mapped, nothing is read)."""
    for s in manifest["shards"]:
        path = index / s["file"]
        check_regular(path, "index shard")
        try:
            arr = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise AvsError(f"{path}: unreadable index shard ({err}); re-run `avs index`") from None
        want = (s["stop"] - s["start"], manifest["dim"])
        if arr.shape != want or arr.dtype not in (np.float16, np.float32):
            raise AvsError(
                f"{path}: index shard holds {arr.dtype} {arr.shape}, the manifest says "
                f"{want}; re-run `avs index` to rebuild it"
            )


def check_index(index: Path, fingerprint: str, model: Path) -> dict[str, Any]:
    """The index manifest, after checking it is complete, from ``model`` and has its shards."""
    manifest = read_manifest(index)
    _check_layout(index, manifest)
    if manifest.get("fingerprint") != fingerprint:
        raise AvsError(
            f"index {index} was made by another model: its fingerprint is "
            f"{manifest.get('fingerprint')}, model {model} has {fingerprint}. "
            f"Rebuild it: avs index COLLECTION --model {model} --out {index}"
        )
    if not manifest.get("complete", True):
        raise AvsError(f"index {index} is incomplete; finish it by re-running `avs index`")
    missing = [s["file"] for s in manifest["shards"] if not (index / s["file"]).is_file()]
    if missing:
        raise AvsError(
            f"index {index}: {len(missing)} shard(s) missing ({', '.join(missing[:5])}); "
            "re-run `avs index` to rebuild them"
        )
    _check_shard_files(index, manifest)
    return manifest


def open_index(index: Path, fingerprint: str, model: Path, dim: int) -> IndexForScoring:
    """Check the index against the model (fingerprint, ``dim``) and read its ids."""
    manifest = check_index(index, fingerprint, model)
    if dim != manifest["dim"]:
        raise AvsError(f"model dim {dim} != index dim {manifest['dim']}")
    ids = _read_ids(index, manifest["n"])
    return IndexForScoring(index, manifest, ids, tie_key(ids))
