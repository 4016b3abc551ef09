"""The training loop: RMSprop, per-epoch decay, halve on plateau, early stop, best
checkpoint, resumable, seeded. Deterministic on CPU for a given seed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avs.device import resolve_device
from avs.errors import AvsError
from avs.io.atomic import write_text_atomic
from avs.model.config import LaffConfig
from avs.model.io import build_model, read_model_config, save_model
from avs.model.loss import TripletLoss
from avs.model.model import AvsModel
from avs.text.base import build_encoder
from avs.train.calibrate import has_centring, recalibrate_centres
from avs.train.data import Split, TrainData, load_training_data
from avs.train.metrics import ranks_of_truth, retrieval_metrics
from avs.train.state import has_state, load_state, save_state


@dataclass
class TrainOptions:
    """What ``avs train`` was asked to do (saved with the run; --resume must match)."""

    collection: str
    out: str
    video_features: list[str]
    text_features: list[str]
    fusion: str = "laff"
    heads: int = 8
    dim: int = 4096
    epochs: int = 50
    batch_size: int = 128
    lr: float = 1e-4
    lr_decay: float = 0.99  # multiplied in after every epoch
    plateau_patience: int = 2  # epochs without val improvement before halving the lr
    early_stop: int = 10  # epochs without val improvement before stopping
    grad_clip: float = 2.0
    seed: int = 0
    device: str = "auto"
    model_options: dict[str, Any] = field(default_factory=dict)  # extra LaffConfig fields


@dataclass
class TrainResult:
    fingerprint: str
    best_epoch: int
    epochs_run: int
    val: dict[str, float]
    test: dict[str, float]
    captions_per_s: float
    history: list[dict[str, float]]


Callback = Callable[[str, dict[str, Any]], None]


def _gather_frames(
    values: torch.Tensor, offsets: torch.Tensor, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames of ``rows`` as (values, offsets) of a ragged batch."""
    starts, counts = offsets[rows], offsets[rows + 1] - offsets[rows]
    new_off = torch.zeros(len(rows) + 1, dtype=torch.long)
    new_off[1:] = counts.cumsum(0)
    idx = torch.repeat_interleave(starts - new_off[:-1], counts) + torch.arange(int(new_off[-1]))
    return values[idx], new_off


def _trim(x: torch.Tensor) -> torch.Tensor:
    """Drop padding columns a batch of right-padded token ids does not need."""
    if x.dtype != torch.long or x.ndim != 2:
        return x
    width = max(int((x > 0).sum(1).max().item()) if len(x) else 1, 1)
    return x[:, :width]


class Batcher:
    """Video inputs of the collection and cached text inputs, sliced by index."""

    def __init__(self, model: AvsModel, data: TrainData, device: str) -> None:
        self.model = model
        self.device = device
        self.features = {k: torch.from_numpy(v).to(device) for k, v in data.features.items()}
        self.frames = {
            k: (torch.from_numpy(v), torch.from_numpy(o)) for k, (v, o) in data.frames.items()
        }
        self.text: dict[str, list[torch.Tensor]] = {}
        for name, split in data.splits.items():
            if split.texts:
                self.text[name] = model.prepare_text(split.texts, split.caption_ids)

    def video(self, rows: torch.Tensor) -> tuple[dict, dict]:
        feats = {k: v[rows.to(v.device)] for k, v in self.features.items()}
        frames = {
            k: tuple(t.to(self.device) for t in _gather_frames(v, o, rows.cpu()))
            for k, (v, o) in self.frames.items()
        }
        return feats, frames

    def text_inputs(self, split: str, idx: torch.Tensor) -> list[torch.Tensor]:
        return [_trim(p[idx]) for p in self.text[split]]


@torch.no_grad()
def evaluate(model: AvsModel, batcher: Batcher, split: Split, name: str, bs: int = 1024) -> dict:
    """Text-to-video metrics of ``split``: each caption ranks the split's videos."""
    model.eval()
    if len(split.texts) == 0:
        return retrieval_metrics(np.zeros(0))
    videos = torch.from_numpy(split.videos)
    vemb = torch.cat(
        [
            model.video_embed(*batcher.video(videos[i : i + bs]))[0]
            for i in range(0, len(videos), bs)
        ]
    )
    col = {int(r): i for i, r in enumerate(split.videos)}
    truth = torch.tensor([col[int(r)] for r in split.video_rows], device=vemb.device)
    ranks = []
    for i in range(0, len(split.texts), bs):
        idx = torch.arange(i, min(i + bs, len(split.texts)))
        temb = model.text_embed(batcher.text_inputs(name, idx))[0]
        ranks.append(ranks_of_truth(temb @ vemb.T, truth[idx.to(truth.device)]))
    return retrieval_metrics(np.concatenate(ranks))


def _make_model(opts: TrainOptions, data: TrainData, frame_features: list[str]) -> AvsModel:
    cfg = LaffConfig(
        video_features=list(opts.video_features),
        video_dims=[data.dims[n] for n in opts.video_features],
        text_features=list(opts.text_features),
        fusion=opts.fusion,
        heads=opts.heads,
        dim=opts.dim,
        frame_features=frame_features,
    )
    for k, v in opts.model_options.items():
        if not hasattr(cfg, k):
            raise AvsError(f"unknown model option {k!r}")
        setattr(cfg, k, v)
    cfg.check()
    encoders = [build_encoder(s, cfg.to_dict()) for s in cfg.text_features]
    for enc in encoders:
        enc.fit(data.splits["train"].texts)
    cfg.text_dims = [e.dim for e in encoders]
    return AvsModel(cfg, encoders)


def check_out(out: str | Path, resume: bool, overwrite: bool) -> None:
    """AvsError unless training may write into ``out``: a directory that already holds
    anything is only continued with ``resume`` or replaced with ``overwrite`` (a trained
    model is hours of work; ``avs score`` and ``avs synth`` refuse the same way)."""
    out = Path(out)
    if resume or overwrite or not (out.exists() or out.is_symlink()):
        return
    if not out.is_dir():
        raise AvsError(f"--out {out}: exists and is not a directory")
    if any(out.iterdir()):
        raise AvsError(
            f"--out {out}: already holds a model or training state; pass --overwrite to "
            "replace it, --resume to continue it, or pick another --out"
        )


def train(
    opts: TrainOptions,
    resume: bool = False,
    callback: Callback | None = None,
    overwrite: bool = False,
) -> TrainResult:
    """Train, keep the best model (validation mAP) in ``opts.out``, evaluate it on the
    test split and write ``metrics.json``. ``callback(event, info)`` reports progress.
    An ``opts.out`` that holds anything needs ``resume`` or ``overwrite``."""
    check_out(opts.out, resume, overwrite)
    device = resolve_device(opts.device)
    out = Path(opts.out)
    notify = callback or (lambda event, info: None)
    torch.manual_seed(opts.seed)
    np.random.seed(opts.seed)
    frame_features: list[str] = []
    if opts.fusion == "laff-ml":
        frame_features = _frame_features(opts)
    data = load_training_data(opts.collection, opts.video_features, frame_features, opts.seed)
    model = _make_model(opts, data, frame_features).to(device)
    loss_fn = TripletLoss(model.config.margin, model.heads)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.RMSprop(params, lr=opts.lr)
    use_amp = device.startswith("cuda")
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    state: dict[str, Any] = {"epoch": 0, "best": -1.0, "best_epoch": 0, "since_best": 0,
                             "plateau": 0, "lr": opts.lr, "history": []}  # fmt: skip
    if resume and not has_state(out):
        # Killed before the first epoch ended: nothing was saved, so start afresh; the
        # seeded run then gives exactly what an uninterrupted one would.
        notify("note", {"text": f"{out}: no training state yet; starting from epoch 1"})
    elif resume:
        state = load_state(out, model, optim, _opts_key(opts), scaler)
    notify(
        "start", {"data": data, "model": model, "device": device, "resume_epoch": state["epoch"]}
    )
    batcher = Batcher(model, data, device)
    tr = data.splits["train"]
    n = len(tr.texts)
    video_ids = torch.from_numpy(tr.video_rows)
    seen, t_train = 0, 0.0
    for epoch in range(state["epoch"] + 1, opts.epochs + 1):
        if state["since_best"] >= opts.early_stop:
            break
        for g in optim.param_groups:
            g["lr"] = state["lr"]
        model.train()
        # One permutation per epoch from (seed, epoch): resuming replays the same order.
        gen = torch.Generator().manual_seed(opts.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=gen)
        t0, total, batches = time.perf_counter(), 0.0, 0
        for b in range(0, n, opts.batch_size):
            idx = order[b : b + opts.batch_size]
            if len(idx) < 2:
                continue
            rows = video_ids[idx]
            with torch.autocast("cuda", dtype=torch.float16, enabled=use_amp):
                vemb = model.video_embed(*batcher.video(rows))[0]
                temb = model.text_embed(batcher.text_inputs("train", idx))[0]
                loss = loss_fn(temb, vemb, rows.to(device))["loss"]
            optim.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optim)  # clip the true gradients, not the AMP-scaled ones
            torch.nn.utils.clip_grad_norm_(params, opts.grad_clip)
            scaler.step(optim)
            scaler.update()
            total += float(loss.detach())
            batches += 1
            notify("batch", {"epoch": epoch, "done": min(b + opts.batch_size, n), "total": n,
                             "loss": total / batches})  # fmt: skip
        t_train += time.perf_counter() - t0
        seen += n
        if has_centring(model):  # mhsa: exact training-set mean, not the lagging running one
            recalibrate_centres(model, batcher, tr, "train")
        val = evaluate(model, batcher, data.splits["val"], "val")
        row = {"epoch": epoch, "loss": total / max(batches, 1), "lr": state["lr"], **val}
        state["history"].append(row)
        improved = val["map"] > state["best"]
        if improved:
            state.update(best=val["map"], best_epoch=epoch, since_best=0, plateau=0)
            save_model(model, out, extra=_extra(opts, state))
        else:
            state["since_best"] += 1
            state["plateau"] += 1
            if state["plateau"] >= opts.plateau_patience:
                state["lr"] /= 2  # halve on plateau of the validation mAP
                state["plateau"] = 0
        state["lr"] *= opts.lr_decay
        state["epoch"] = epoch
        save_state(out, model, optim, state, _opts_key(opts), scaler)
        notify("epoch", {**row, "improved": improved, "best": state["best"]})
    if state["best_epoch"] == 0:
        raise AvsError("no epoch finished; nothing to save (raise --epochs?)")
    best = _reload_best(out, device)
    test = evaluate(best, Batcher(best, data, device), data.splits["test"], "test")
    val = next(h for h in state["history"] if h["epoch"] == state["best_epoch"])
    metrics = {"test": test, "val": val, "best_epoch": state["best_epoch"],
               "fingerprint": best.fingerprint, "simulated": data.simulated}  # fmt: skip
    write_text_atomic(out / "metrics.json", json.dumps(metrics, indent=1) + "\n")
    return TrainResult(
        fingerprint=best.fingerprint,
        best_epoch=state["best_epoch"],
        epochs_run=state["epoch"],
        val=val,
        test=test,
        captions_per_s=seen / t_train if t_train else 0.0,
        history=state["history"],
    )


def _frame_features(opts: TrainOptions) -> list[str]:
    """laff-ml fuses over frames every chosen video feature that has frame-level features."""
    from avs.train.data import _sources

    src = _sources(Path(opts.collection), opts.seed)[0][0]
    from avs.io.features import open_features

    with open_features(src.store) as store:
        names = [n for n in opts.video_features if store.has_frames(n)]
    if not names:
        raise AvsError(
            f"--fusion laff-ml needs frame-level features, but none of {opts.video_features} "
            f"has them in {src.store}"
        )
    return names


def _opts_key(opts: TrainOptions) -> dict[str, Any]:
    d = asdict(opts)
    d.pop("epochs")  # resuming may extend the run
    d.pop("device")
    return d


def _extra(opts: TrainOptions, state: dict[str, Any]) -> dict[str, Any]:
    return {"collection": str(opts.collection), "epoch": state["best_epoch"],
            "val_map": state["best"], "seed": opts.seed, "batch_size": opts.batch_size}  # fmt: skip


def _reload_best(out: Path, device: str) -> AvsModel:
    from avs.model.io import load_model

    return load_model(out, device)


__all__ = ["TrainOptions", "TrainResult", "build_model", "evaluate", "read_model_config", "train"]
