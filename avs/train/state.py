"""Resumable training state: ``OUT/train-state/`` holds the last epoch's weights,
optimizer tensors and RNG state (``epoch-N.safetensors``) and the counters
(``state.json``, which names that tensor file). Never pickled.

The JSON is written last and points at its own epoch's tensors, so a kill between the
two writes leaves the previous, consistent pair in force."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from avs.errors import AvsError
from avs.io.atomic import atomic_path, write_text_atomic
from avs.io.textfile import check_regular, read_json
from avs.model.model import AvsModel

STATE_DIR = "train-state"


def save_state(
    out: Path,
    model: AvsModel,
    optim: torch.optim.Optimizer,
    state: dict[str, Any],
    key: dict,
    scaler: torch.amp.GradScaler | None = None,
) -> None:
    """Write the state after an epoch (tensors first, then the JSON that points at them):
    weights, optimizer, the CPU and every CUDA device's RNG, the AMP GradScaler."""
    from safetensors.torch import save_file

    d = Path(out) / STATE_DIR
    d.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    opt = optim.state_dict()
    for i, st in opt["state"].items():
        for k, v in st.items():
            t = v if torch.is_tensor(v) else torch.tensor(v)
            tensors[f"opt.{i}.{k}"] = t.detach().cpu().contiguous()
    tensors["rng.cpu"] = torch.get_rng_state()
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        # Dropout on a GPU draws from the device's generator: without it --resume on CUDA
        # would not continue bit-identically.
        for i, rng in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = rng
    tensor_file = f"epoch-{state['epoch']}.safetensors"
    with atomic_path(d / tensor_file) as tmp:
        save_file(tensors, str(tmp))
    doc = {
        "options": key,
        "state": state,
        "param_groups": opt["param_groups"],
        "tensors": tensor_file,
        "scaler": _plain(scaler.state_dict()) if scaler is not None else {},
    }
    write_text_atomic(d / "state.json", json.dumps(doc, indent=1) + "\n")
    for old in d.glob("epoch-*.safetensors"):  # only now is the previous pair superseded
        if old.name != tensor_file:
            old.unlink(missing_ok=True)


def has_state(out: Path) -> bool:
    """True if ``out`` holds a training state that ``--resume`` can continue."""
    return (Path(out) / STATE_DIR / "state.json").is_file()


def load_state(
    out: Path,
    model: AvsModel,
    optim: torch.optim.Optimizer,
    key: dict,
    scaler: torch.amp.GradScaler | None = None,
) -> dict[str, Any]:
    """Restore model, optimizer, RNGs and GradScaler from ``out``; refuse a run with other
    options."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    d = Path(out) / STATE_DIR
    if not (d / "state.json").exists():
        raise AvsError(f"{out}: nothing to resume (no {STATE_DIR}/state.json); drop --resume")
    try:
        doc = read_json(d / "state.json", "training state")
        tensor_file = d / Path(str(doc["tensors"])).name  # never a path out of the state dir
        check_regular(tensor_file, "training state")
        tensors = load_file(str(tensor_file))
        if not isinstance(doc["state"], dict) or not isinstance(doc["param_groups"], list):
            raise TypeError("state or param_groups of the wrong type")
    except (OSError, ValueError, KeyError, TypeError, AvsError, SafetensorError) as err:
        raise AvsError(
            f"{d}: unreadable training state ({err}); train again without --resume"
        ) from None
    if doc.get("options") != json.loads(json.dumps(key)):
        diff = sorted(k for k in key if doc.get("options", {}).get(k) != key[k])
        raise AvsError(f"{out}: --resume with different options than the interrupted run: {diff}")
    model.load_state_dict(
        {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
    )
    per_param: dict[int, dict[str, torch.Tensor]] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, name = k.split(".", 2)
            per_param.setdefault(int(i), {})[name] = v
    optim.load_state_dict({"state": per_param, "param_groups": doc["param_groups"]})
    torch.set_rng_state(tensors["rng.cpu"])
    cuda_states = [
        tensors[f"rng.cuda.{i}"] for i in range(len(tensors)) if f"rng.cuda.{i}" in tensors
    ]
    if cuda_states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda_states[: torch.cuda.device_count()])
    if scaler is not None and doc.get("scaler"):
        scaler.load_state_dict(doc["scaler"])
    return doc["state"]


def _plain(value: Any) -> Any:
    """A GradScaler state as JSON: plain numbers (its scale may be a 0-d tensor)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value.item() if torch.is_tensor(value) else value
