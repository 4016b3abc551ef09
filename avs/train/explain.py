"""Attention weights as explanations: per text / shot, per head, per feature, averaged
over a split (the paper's feature ranking) and rendered as a self-contained HTML page."""

from __future__ import annotations

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


def distinct_colours(n: int) -> list[str]:
    """``n`` colours, no two alike: the palette, then evenly spaced hues beyond it. Text and
    video features of one page take consecutive slices, so no colour means two features."""
    if n <= len(PALETTE):
        return PALETTE[:n]
    return [f"hsl({round(360 * i / n)}, 55%, 50%)" for i in range(n)]


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
    judged: str = ""  # "relevant", "not relevant", "unjudged" or "" (no judgements given)


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
    run: dict[int, list[tuple[str, float]]] | None = None,
    judgements: dict[int, dict[str, int]] | None = None,
) -> list[TopicExplanation]:
    """Per topic: text-feature weights per head, and the video-feature weights of ``top``
    shots read from ``shots``: the run's own top ``top`` when ``run`` (topic -> ranked
    (shot, score)) is given, else the best of a seeded sample of ``sample`` shots (random
    blocks of ``block`` rows; all shots when the store is smaller). ``judgements`` (topic ->
    shot -> rel) marks each shot relevant, not relevant or unjudged."""
    from avs.io.features import open_features

    require_weights(model)
    texts = [t.text for t in topics]
    keys = [str(t.number) for t in topics]  # precomputed text features are keyed by number
    tw = text_weights(model, texts, keys)
    unknown = set(model.unknown_texts(texts))
    with open_features(shots) as store:
        missing = [n for n in model.video_features if n not in store.dims]
        if missing:
            raise AvsError(
                f"{shots}: no video feature {missing} that model {model.fingerprint[:12]} needs"
            )
        if run is not None:
            picked = _run_shots(store, topics, run, top)
        else:
            picked = _best_of_sample(model, store, texts, keys, top, sample, seed, block)
        out = []
        for i, t in enumerate(topics):
            rows, scores = picked[i]
            vw = video_weights(model, *_shot_inputs(model, store, rows)) if len(rows) else []
            marks = (judgements or {}).get(int(t.number), {})
            shot_ids = [store.ids[int(r)] for r in rows]
            out.append(
                TopicExplanation(
                    number=int(t.number),
                    text=t.text,
                    weights=tw[i].tolist(),
                    unknown=i in unknown,
                    shots=[
                        ShotWeights(sid, sc, w.tolist(), _mark(marks, sid, judgements))
                        for sid, sc, w in zip(shot_ids, scores, vw, strict=True)
                    ],
                )
            )
    return out


def _mark(marks: dict[str, int], shot: str, judgements: dict | None) -> str:
    if judgements is None:
        return ""
    rel = marks.get(shot)
    return "unjudged" if rel is None or rel < 0 else ("relevant" if rel > 0 else "not relevant")


def _run_shots(
    store: Any, topics: list[Any], run: dict[int, list[tuple[str, float]]], top: int
) -> list[tuple[np.ndarray, list[float]]]:
    """Rows and scores of each topic's first ``top`` shots in the run."""
    lacking = [int(t.number) for t in topics if int(t.number) not in run]
    if lacking:
        raise AvsError(f"--run has no ranking for topic(s) {lacking[:10]}")
    picked = []
    for t in topics:
        ranked = run[int(t.number)][:top]
        rows = store.row_of([shot for shot, _ in ranked])  # AvsError names a foreign shot
        picked.append((rows, [float(score) for _, score in ranked]))
    return picked


def _best_of_sample(
    model: AvsModel,
    store: Any,
    texts: list[str],
    keys: list[str],
    top: int,
    sample: int,
    seed: int,
    block: int,
) -> list[tuple[np.ndarray, list[float]]]:
    """Rows and scores of each text's ``top`` best shots among a seeded sample of blocks."""
    temb = model.encode_text(texts, keys)
    starts = list(range(0, store.n, block))
    if sample and store.n > sample:
        rng = np.random.default_rng(seed)
        starts = sorted(rng.choice(starts, size=max(1, sample // block), replace=False).tolist())
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
    picked = []
    for i in range(len(texts)):
        keep = torch.isfinite(best_s[i])
        picked.append((best_r[i][keep].numpy(), best_s[i][keep].tolist()))
    return picked


def _bars(weights: list[list[float]], colours: list[str], width: int = 360, row: int = 12):  # noqa: ANN202
    """Geometry of one stacked bar per head (x, width, colour, title) for the SVG."""
    out = []
    for h, ws in enumerate(weights):
        x = 0.0
        for j, w in enumerate(ws):
            out.append({"x": round(x, 2), "y": h * row, "w": round(w * width, 2), "h": row - 2,
                        "color": colours[j], "title": f"head {h + 1}: {w:.3f}", "j": j})  # fmt: skip
            x += w * width
    return out


def render_html(
    explanations: list[TopicExplanation], model: AvsModel, title: str, note: str = ""
) -> str:
    """A self-contained page (inline SVG, inline CSS, no script) from the explanations:
    a table of contents, a topics x features summary of mean weights per side, then per
    topic one bar per (labelled) head for the text side and for each shot."""
    from avs.resources import get_template, jinja_env

    # autoescape: the page is HTML whatever the template's .j2 name
    tpl = get_template(jinja_env(autoescape=True), "explain.html.j2")
    text_names, video_names = list(model.config.text_features), list(model.video_features)
    colours = distinct_colours(len(text_names) + len(video_names))
    text_colours, video_colours = colours[: len(text_names)], colours[len(text_names) :]
    row = 12
    topics = []
    for e in explanations:
        shot_means = [np.mean(s.weights, axis=0).tolist() for s in e.shots]
        topics.append({
            "e": e,
            "bars": _bars(e.weights, text_colours, row=row),
            "height": len(e.weights) * row,
            "mean": np.mean(e.weights, axis=0).tolist(),
            "video_mean": np.mean(shot_means, axis=0).tolist() if shot_means else None,
            "shots": [{"s": s, "bars": _bars(s.weights, video_colours, row=row), "mean": m}
                      for s, m in zip(e.shots, shot_means, strict=True)],
        })  # fmt: skip
    return tpl.render(
        title=title,
        note=note,
        model=model,
        fp=model.fingerprint,
        text_features=list(zip(text_names, text_colours, strict=True)),
        video_features=list(zip(video_names, video_colours, strict=True)),
        heads=list(range(1, model.heads + 1)),
        row=row,
        topics=topics,
        shade=lambda w: f"rgba(78, 121, 167, {min(1.0, max(0.0, w)):.2f})",
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


def run_rankings(path: Path) -> dict[int, list[tuple[str, float]]]:
    """Topic number -> the run's (shot, score) in rank order (the tie rule), from any run
    file ``avs eval`` reads; an XML file must hold exactly one run."""
    from avs.eval.runs import load_runs
    from avs.io.records import avs_topic
    from avs.ties import rank_records

    runs = load_runs(path)
    if len(runs) != 1:
        raise AvsError(f"--run {path}: holds {len(runs)} runs; explain one at a time")
    return {avs_topic(t): rank_records(dict(r).items()) for t, r in runs[0].topics.items()}


def read_judgements(path: Path) -> dict[int, dict[str, int]]:
    """Topic number -> shot -> rel from NIST qrels or full-truth qrels (``--qrels``)."""
    from avs.io.qrels import read_qrels
    from avs.io.records import avs_topic

    out: dict[int, dict[str, int]] = {}
    for q in read_qrels(path):
        out.setdefault(avs_topic(q.topic), {})[q.shot] = q.rel
    return out
