"""Model directories: config.json (config, text-encoder state, fingerprint) and
weights.safetensors. Nothing is ever unpickled."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import torch

from avs import __version__
from avs.device import resolve_device
from avs.errors import AvsError
from avs.io.atomic import atomic_path, write_text_atomic
from avs.io.textfile import check_regular, read_json
from avs.model.config import MODEL_FORMAT_VERSION, LaffConfig
from avs.model.model import AvsModel
from avs.text.base import encoder_from_state

CONFIG = "config.json"
WEIGHTS = "weights.safetensors"


def model_weights(model: AvsModel) -> dict[str, torch.Tensor]:
    """The persistent state of ``model`` as contiguous CPU tensors."""
    return {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}


def fingerprint(header: dict[str, Any], weights: dict[str, torch.Tensor]) -> str:
    """sha256 over the canonical JSON of the config part and every tensor (name, dtype,
    shape, bytes) in name order: equal fingerprints mean equal embeddings."""
    h = hashlib.sha256(json.dumps(header, sort_keys=True, separators=(",", ":")).encode())
    for name in sorted(weights):
        t = weights[name]
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def _header(model: AvsModel) -> dict[str, Any]:
    return {
        "format": "avs-model",
        "version": MODEL_FORMAT_VERSION,
        "config": model.config.to_dict(),
        "text_encoders": [enc.state() for enc in model.text_encoders],
    }


def save_model(model: AvsModel, path: str | Path, extra: dict[str, Any] | None = None) -> str:
    """Write ``path/weights.safetensors`` then ``path/config.json`` (last, so a directory
    with a config is complete); returns and sets the fingerprint."""
    from safetensors.torch import save_file

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    header = _header(model)
    weights = model_weights(model)
    model.fingerprint = fingerprint(header, weights)
    with atomic_path(path / WEIGHTS) as tmp:
        save_file(weights, str(tmp), metadata={"fingerprint": model.fingerprint})
    doc = {**header, "fingerprint": model.fingerprint, "avs_version": __version__}
    if extra:
        doc["training"] = extra
    write_text_atomic(path / CONFIG, json.dumps(doc, indent=1) + "\n")
    return model.fingerprint


def read_model_config(path: str | Path) -> dict[str, Any]:
    """The parsed config.json of a model directory, checked for format and version."""
    cfg_path = Path(path) / CONFIG
    if not cfg_path.exists() and not cfg_path.is_symlink():
        raise AvsError(f"{path}: not a model directory (no {CONFIG}); train one with `avs train`")
    try:
        doc = read_json(cfg_path, "model config")
    except AvsError as err:
        raise AvsError(f"{err}; retrain the model") from None
    if not isinstance(doc, dict):
        raise AvsError(f"{cfg_path}: corrupt model config (not a JSON object)")
    fp = doc.get("fingerprint", "(none)")
    if doc.get("format") != "avs-model" or doc.get("version") != MODEL_FORMAT_VERSION:
        raise AvsError(
            f"{path}: model fingerprint {fp} has format {doc.get('format')!r} version "
            f"{doc.get('version')!r}; this avs reads avs-model version {MODEL_FORMAT_VERSION} "
            f"(written by avs {doc.get('avs_version', '?')}): retrain it with this version"
        )
    return doc


def build_model(doc: dict[str, Any]) -> AvsModel:
    """An AvsModel with fresh weights from a parsed config.json."""
    try:
        config = LaffConfig.from_dict(doc["config"])
        encoders = [encoder_from_state(s) for s in doc["text_encoders"]]
        return AvsModel(config, encoders)
    except (KeyError, TypeError, ValueError) as err:
        raise AvsError(f"model config is incomplete or corrupt ({err!r})") from None


def load_model(path: str | Path, device: str = "cpu") -> AvsModel:
    """Load a model directory for inference (eval mode) on ``device`` (auto|cpu|cuda).

    Raises AvsError naming the fingerprint when the directory comes from another avs
    model version, is incomplete, or its weights do not match its fingerprint."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    doc = read_model_config(path)
    fp = str(doc.get("fingerprint", "(none)"))
    try:
        model = build_model(doc)
    except AvsError as err:
        raise AvsError(f"{path}: model fingerprint {fp}: {err}") from None
    try:
        check_regular(Path(path) / WEIGHTS, "model weights")  # never block on a FIFO
        weights = load_file(str(Path(path) / WEIGHTS), device="cpu")
    except (OSError, SafetensorError, AvsError) as err:
        raise AvsError(f"{path}: model fingerprint {fp}: cannot read {WEIGHTS} ({err})") from None
    try:
        model.load_state_dict(weights, strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise AvsError(
            f"{path}: model fingerprint {fp}: weights do not fit the config ({first})"
        ) from None
    header = {k: doc[k] for k in ("format", "version", "config", "text_encoders")}
    actual = fingerprint(header, model_weights(model))
    if actual != fp:
        raise AvsError(
            f"{path}: model fingerprint {fp} does not match its contents ({actual}): "
            "the directory was modified or mixes two models; retrain or restore it"
        )
    model.fingerprint = fp
    model.eval()
    return model.to(resolve_device(device))
