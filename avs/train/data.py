"""Training data: captions paired with their video's features, split train/val/test.

Two layouts are read:

* an avs collection (``collection.json``; ``train/features.h5``, ``train/captions.txt``,
  ``train/{train,val,test}.txt``), as written by ``avs synth``;
* the RUC ``VisualSearch`` layout: a collection directory with ``FeatureData/<feat>/``
  (BigFile) and ``TextData/*.caption.txt``. Splits come from ``VideoSets/{train,val,test}.txt``
  when present, else from sibling collections named like ``msrvtt10ktrain`` /
  ``msrvtt10kval`` / ``msrvtt10ktest``, else from a seeded 90/5/5 split of the videos.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from avs.errors import AvsError, short
from avs.io.captions import read_captions, read_id_list
from avs.io.features import open_features
from avs.io.textfile import read_json

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    """The captions of one split; caption i shows video row ``video_rows[i]``."""

    caption_ids: list[str]
    texts: list[str]
    video_rows: np.ndarray  # (n,) int64 rows into TrainData.features
    videos: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # unique rows

    def __post_init__(self) -> None:
        self.videos = np.unique(self.video_rows)


@dataclass
class TrainData:
    """Video features held in memory (rows = videos) and the caption splits."""

    root: Path
    video_ids: list[str]
    features: dict[str, np.ndarray]  # name -> (N, D) float32
    frames: dict[str, tuple[np.ndarray, np.ndarray]]  # name -> (values (M, D), offsets (N+1,))
    splits: dict[str, Split]
    simulated: bool = False

    @property
    def dims(self) -> dict[str, int]:
        return {k: int(v.shape[1]) for k, v in self.features.items()}


@dataclass
class _Source:
    store: Path
    captions: Path
    split_ids: dict[str, list[str]] | None  # video ids per split; None: all captions -> split
    split: str | None = None


def _sources(root: Path, seed: int) -> tuple[list[_Source], bool]:
    if (root / "collection.json").exists():
        tr = root / "train"
        lists = {s: read_id_list(tr / f"{s}.txt") for s in SPLITS if (tr / f"{s}.txt").exists()}
        return [_Source(tr / "features.h5", tr / "captions.txt", lists)], _simulated(root)
    if (root / "TextData").is_dir() and (root / "FeatureData").is_dir():
        caps = sorted((root / "TextData").glob("*.caption.txt"))
        if not caps:
            raise AvsError(f"{root}/TextData: no *.caption.txt file")
        vs = root / "VideoSets"
        lists = {s: read_id_list(vs / f"{s}.txt") for s in SPLITS if (vs / f"{s}.txt").is_file()}
        if lists:
            return [_Source(root / "FeatureData", caps[0], lists)], False
        if root.name.endswith("train"):
            stem = root.name[: -len("train")]
            sibs = {s: root.parent / f"{stem}{s}" for s in ("val", "test")}
            if all((p / "TextData").is_dir() for p in sibs.values()):
                out = [_Source(root / "FeatureData", caps[0], None, "train")]
                for s, p in sibs.items():
                    c = sorted((p / "TextData").glob("*.caption.txt"))
                    if not c:
                        raise AvsError(f"{p}/TextData: no *.caption.txt file")
                    out.append(_Source(p / "FeatureData", c[0], None, s))
                return out, False
        return [_Source(root / "FeatureData", caps[0], {"__random__": [str(seed)]})], False
    raise AvsError(
        f"{root}: not a training collection: expected collection.json (avs synth) or a RUC "
        "collection with FeatureData/ and TextData/"
    )


def _simulated(root: Path) -> bool:
    """The ``simulated`` flag of ``collection.json``; AvsError naming the file when it is
    damaged (ignoring it would mark a simulated model as trained on real data)."""
    path = root / "collection.json"
    doc = read_json(path, "collection")
    if not isinstance(doc, dict):
        raise AvsError(f"{path}: expected a JSON object (as written by `avs synth`)")
    flag = doc.get("simulated", False)
    if not isinstance(flag, bool):
        raise AvsError(f"{path}, field 'simulated': expected true or false, not {flag!r}")
    return flag


def _select_frames(
    values: np.ndarray, offsets: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    counts = offsets[rows + 1] - offsets[rows]
    new_off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    idx = np.concatenate([np.arange(offsets[r], offsets[r + 1]) for r in rows]) if len(rows) else []
    return values[np.asarray(idx, dtype=np.int64)], new_off


def load_training_data(
    path: str | Path, video_features: list[str], frame_features: list[str] = (), seed: int = 0
) -> TrainData:
    """Read the captions and, for every video they mention, the requested features.

    Raises one AvsError listing every missing feature, or every caption whose video has
    no features (first few shown)."""
    root = Path(path)
    if not root.exists():
        raise AvsError(f"{root}: no such collection")
    sources, simulated = _sources(root, seed)
    video_ids: list[str] = []
    features: dict[str, list[np.ndarray]] = {n: [] for n in video_features}
    frames: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {n: [] for n in frame_features}
    per_split: dict[str, tuple[list[str], list[str], list[int]]] = {s: ([], [], []) for s in SPLITS}
    for src in sources:
        if not src.store.exists():
            raise AvsError(f"{src.store}: feature store not found")
        caps = read_captions(src.captions)
        with open_features(src.store) as store:
            missing = [n for n in video_features if n not in store.dims]
            if missing:
                raise AvsError(
                    f"{src.store}: no video feature {', '.join(map(repr, missing))} "
                    f"(the store has: {', '.join(store.names) or 'none'})"
                )
            no_frames = [n for n in frame_features if not store.has_frames(n)]
            if no_frames:
                raise AvsError(f"{src.store}: no frame-level features for {no_frames}")
            row_of = {v: i for i, v in enumerate(store.ids)}
            # RUC caption ids may read "video0#enc#0": fall back to the part before '#'.
            vid_of = [
                c.video_id if c.video_id in row_of else c.video_id.split("#", 1)[0] for c in caps
            ]
            orphans = [c.caption_id for c, v in zip(caps, vid_of, strict=True) if v not in row_of]
            if orphans:
                raise AvsError(
                    f"{src.captions}: {len(orphans)} caption(s) whose video has no features in "
                    f"{src.store}, e.g. {orphans[:3]}; remove them or add the features"
                )
            split_of = _split_map(src, sorted(set(vid_of)))
            needed = sorted({row_of[v] for v in vid_of if v in split_of})
            local = {r: len(video_ids) + i for i, r in enumerate(needed)}
            rows = np.asarray(needed, dtype=np.int64)
            for n in video_features:
                features[n].append(store.read_rows(n, rows))
            for n in frame_features:
                values, offsets = store.read_frames(n)
                frames[n].append(_select_frames(values, offsets, rows))
            ids = store.ids
            video_ids.extend(ids[r] for r in needed)
        for c, v in zip(caps, vid_of, strict=True):
            s = split_of.get(v)
            if s is not None:
                per_split[s][0].append(c.caption_id)
                per_split[s][1].append(c.text)
                per_split[s][2].append(local[row_of[v]])
    dims = {n: {a.shape[1] for a in arrs} for n, arrs in features.items()}
    bad = {n: sorted(d) for n, d in dims.items() if len(d) > 1}
    if bad:
        raise AvsError(f"video feature dimensions differ between collections: {bad}")
    for s in ("train", "test"):  # no test captions: metrics.json would be all zeros
        if not per_split[s][0]:
            raise AvsError(
                f"{root}: no {s} captions (the {s} list is empty, or none of its videos "
                "has a caption)"
            )
    return TrainData(
        root=root,
        video_ids=video_ids,
        features={n: np.concatenate(a).astype(np.float32) for n, a in features.items()},
        frames={n: _concat_frames(parts) for n, parts in frames.items()},
        splits={
            s: Split(ids, texts, np.asarray(rows, dtype=np.int64))
            for s, (ids, texts, rows) in per_split.items()
        },
        simulated=simulated,
    )


def _split_map(src: _Source, videos: list[str]) -> dict[str, str]:
    if src.split_ids is None:
        return dict.fromkeys(videos, src.split)
    if "__random__" in src.split_ids:
        rng = np.random.default_rng(int(src.split_ids["__random__"][0]))
        order = rng.permutation(len(videos))
        n_eval = max(1, len(videos) // 20)
        out = {}
        for rank, i in enumerate(order):
            out[videos[i]] = "val" if rank < n_eval else "test" if rank < 2 * n_eval else "train"
        return out
    out: dict[str, str] = {}
    for s, ids in src.split_ids.items():
        for v in ids:
            if out.setdefault(v, s) != s:
                # A test video seen in training makes every test figure meaningless.
                raise AvsError(
                    f"{src.captions.parent}: video {short(v)} is in both {out[v]}.txt and {s}.txt; "
                    "the splits must not share videos"
                )
    return out


def _concat_frames(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    values = np.concatenate([v for v, _ in parts]).astype(np.float32)
    offs, base = [np.zeros(1, np.int64)], 0
    for v, o in parts:
        offs.append(o[1:] + base)
        base += len(v)
    return values, np.concatenate(offs)
