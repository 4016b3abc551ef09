"""Attention weights as explanations: per text / shot, per head, per feature, averaged
over a split (the paper's feature ranking) and rendered as a self-contained HTML page."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avs.errors import AvsError
from avs.model.model import AvsModel
from avs.train.data import TrainData

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac"]  # fmt: skip


def require_weights(model: AvsModel) -> None:
    """AvsError unless the model learnt per-feature weights (laff, laff-ml)."""
    if model.config.fusion in ("mhsa", "concat"):
        raise AvsError(
            f"model {model.fingerprint[:12]} uses {model.config.fusion} fusion, which has no "
            "per-feature weights; explain a laff or laff-ml model"
        )
    if model.config.fusion == "mean":
        raise AvsError(
            f"model {model.fingerprint[:12]} uses mean fusion: every feature weighs 1/k by "
            "definition, there is nothing to explain; explain a laff or laff-ml model"
        )


@torch.no_grad()
def text_weights(model: AvsModel, texts: list[str], keys: list[str] | None = None) -> np.ndarray:
    """Weights (B, heads, k_text) of each text feature, per head; each row sums to 1."""
    require_weights(model)
    return model.text_embed(model.prepare_text(texts, keys))[1].float().cpu().numpy()


@torch.no_grad()
def video_weights(
    model: AvsModel, features: dict[str, Any], frames: dict[str, Any] | None = None
) -> np.ndarray:
    """Weights (B, heads, k_video) of each video feature, per head; each row sums to 1."""
    require_weights(model)
    return model.video_embed(features, frames)[1].float().cpu().numpy()


@torch.no_grad()
def split_weights(
    model: AvsModel, data: TrainData, split: str = "val", bs: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Per-caption weights over a split: (text (n, H, k_t), video of each caption's video
    (n, H, k_v))."""
    from avs.train.loop import Batcher

    require_weights(model)
    model.eval()
    s = data.splits[split]
    batcher = Batcher(model, data, str(model.device))
    tw, vw = [], []
    for i in range(0, len(s.texts), bs):
        idx = torch.arange(i, min(i + bs, len(s.texts)))
        tw.append(model.text_embed(batcher.text_inputs(split, idx))[1].cpu().numpy())
        rows = torch.from_numpy(s.video_rows[idx.numpy()])
        vw.append(model.video_embed(*batcher.video(rows))[1].cpu().numpy())
    return np.concatenate(tw), np.concatenate(vw)


def average_weights(model: AvsModel, data: TrainData, split: str = "val") -> dict[str, dict]:
    """Mean weight of each feature over a split's captions and all heads, per side,
    sorted best first: the paper's feature-selection ranking."""
    tw, vw = split_weights(model, data, split)
    t = dict(zip(model.config.text_features, tw.mean((0, 1)).tolist(), strict=True))
    v = dict(zip(model.video_features, vw.mean((0, 1)).tolist(), strict=True))
    order = lambda d: dict(sorted(d.items(), key=lambda kv: -kv[1]))  # noqa: E731
    return {"video": order(v), "text": order(t)}


@dataclass
class ShotWeights:
    shot_id: str
    score: float
    weights: list[list[float]]  # (heads, k_video)


@dataclass
class TopicExplanation:
    number: int
    text: str
    weights: list[list[float]]  # (heads, k_text)
    unknown: bool
    shots: list[ShotWeights] = field(default_factory=list)


def _frames_for_rows(store: Any, name: str, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    parts = [store.read_frames(name, int(r), int(r) + 1)[0] for r in rows]
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32), offsets


def _shot_inputs(model: AvsModel, store: Any, rows: np.ndarray) -> tuple[dict, dict]:
    feats = {
        n: torch.from_numpy(store.read_rows(n, rows))
        for n in model.video_features
        if n not in model.frame_features
    }
    frames = {
        n: tuple(map(torch.from_numpy, _frames_for_rows(store, n, rows)))
        for n in model.frame_features
    }
    return feats, frames


@torch.no_grad()
def explain_topics(
    model: AvsModel,
    topics: list[Any],
    shots: str | Path,
    top: int = 5,
    sample: int = 20000,
    seed: int = 0,
    block: int = 2048,
) -> list[TopicExplanation]:
    """Per topic: text-feature weights per head, and the video-feature weights of its
    ``top`` shots among a seeded sample of ``sample`` shots (random blocks of
    ``block`` rows; all shots when the store is smaller) read from ``shots``."""
    from avs.io.features import open_features

    require_weights(model)
    texts = [t.text for t in topics]
    keys = [str(t.number) for t in topics]  # precomputed text features are keyed by number
    tw = text_weights(model, texts, keys)
    temb = model.encode_text(texts, keys)
    unknown = set(model.unknown_texts(texts))
    with open_features(shots) as store:
        missing = [n for n in model.video_features if n not in store.dims]
        if missing:
            raise AvsError(
                f"{shots}: no video feature {missing} that model {model.fingerprint[:12]} needs"
            )
        starts = list(range(0, store.n, block))
        if sample and store.n > sample:
            rng = np.random.default_rng(seed)
            starts = sorted(
                rng.choice(starts, size=max(1, sample // block), replace=False).tolist()
            )
        best_s = torch.full((len(texts), top), -float("inf"))
        best_r = torch.zeros((len(texts), top), dtype=torch.long)
        for s in starts:
            stop = min(s + block, store.n)
            feats = {n: torch.from_numpy(store.read(n, s, stop)) for n in model.video_features
                     if n not in model.frame_features}  # fmt: skip
            frames = {n: tuple(map(torch.from_numpy, store.read_frames(n, s, stop)))
                      for n in model.frame_features}  # fmt: skip
            vemb = model.encode_video(feats, frames)
            scores = (temb @ vemb.T).cpu() / model.heads
            rows = torch.arange(s, stop).expand(len(texts), -1)
            all_s = torch.cat([best_s, scores], 1)
            all_r = torch.cat([best_r, rows], 1)
            best_s, pos = all_s.topk(min(top, all_s.shape[1]), dim=1)
            best_r = all_r.gather(1, pos)
        out = []
        ids = store.ids
        for i, t in enumerate(topics):
            keep = torch.isfinite(best_s[i])
            rows = best_r[i][keep].numpy()
            vw = video_weights(model, *_shot_inputs(model, store, rows)) if len(rows) else []
            out.append(
                TopicExplanation(
                    number=int(t.number),
                    text=t.text,
                    weights=tw[i].tolist(),
                    unknown=i in unknown,
                    shots=[
                        ShotWeights(ids[int(r)], float(sc), w.tolist())
                        for r, sc, w in zip(rows, best_s[i][keep].tolist(), vw, strict=True)
                    ],
                )
            )
    return out


def _bars(weights: list[list[float]], width: int = 360, row: int = 12) -> list[dict]:
    """Geometry of one stacked bar per head (x, width, colour, title) for the SVG."""
    out = []
    for h, ws in enumerate(weights):
        x = 0.0
        for j, w in enumerate(ws):
            out.append({"x": round(x, 2), "y": h * row, "w": round(w * width, 2), "h": row - 2,
                        "color": PALETTE[j % len(PALETTE)], "title": f"head {h + 1}: {w:.3f}", "j": j})  # fmt: skip
            x += w * width
    return out


def render_html(
    explanations: list[TopicExplanation], model: AvsModel, title: str, note: str = ""
) -> str:
    """A self-contained page (inline SVG, inline CSS, no script) from the explanations."""
    from avs.resources import get_template, jinja_env

    # autoescape: the page is HTML whatever the template's .j2 name
    tpl = get_template(jinja_env(autoescape=True), "explain.html.j2")
    row = 12
    topics = []
    for e in explanations:
        topics.append({
            "e": e,
            "bars": _bars(e.weights, row=row),
            "height": len(e.weights) * row,
            "mean": np.mean(e.weights, axis=0).tolist(),
            "shots": [{"s": s, "bars": _bars(s.weights, row=row), "mean": np.mean(s.weights, axis=0).tolist()} for s in e.shots],
        })  # fmt: skip
    return tpl.render(
        title=title,
        note=note,
        model=model,
        fp=model.fingerprint,
        text_features=[
            (n, PALETTE[j % len(PALETTE)]) for j, n in enumerate(model.config.text_features)
        ],
        video_features=[(n, PALETTE[j % len(PALETTE)]) for j, n in enumerate(model.video_features)],
        topics=topics,
        escape=html.escape,
    )


def _training(model_dir: Path) -> dict[str, Any]:
    from avs.model.io import read_model_config

    return read_model_config(model_dir).get("training", {}) or {}


def _trained_on(model_dir: Path) -> str | None:
    return _training(model_dir).get("collection")


def shots_for_model(collection: Path | None, model_dir: Path) -> Path:
    """The shot feature store to explain: ``collection``'s (see
    :func:`avs.io.collection.shots_store`), else that of the collection the model was trained
    on."""
    from avs.io.collection import shots_store

    if collection is None:
        trained_on = _trained_on(model_dir)
        if not trained_on:
            raise AvsError("give --collection: the model does not record its collection")
        collection = Path(trained_on)
    return shots_store(collection)


def feature_ranking(
    model: AvsModel, model_dir: Path, collection: Path | None, split: str
) -> dict[str, dict[str, float]]:
    """:func:`average_weights` over ``split`` of the training collection (``collection``
    when it is a collection directory, else the one the model records)."""
    from avs.train.data import load_training_data

    root = _trained_on(model_dir)
    if (
        collection is not None
        and collection.is_dir()
        and (collection / "collection.json").is_file()
    ):
        root = str(collection)
    elif collection is not None and collection.is_dir() and (collection / "train").is_dir():
        root = str(collection)  # a RUC VisualSearch-style training collection
    if not root:
        raise AvsError("give --collection: the model does not record its training collection")
    # The model's own seed: a collection split at random must split as it did in training,
    # or the "val" split may hold training videos.
    seed = int(_training(model_dir).get("seed", 0))
    data = load_training_data(root, model.video_features, model.frame_features, seed)
    return average_weights(model, data, split)
