"""``--device auto|cpu|cuda`` resolved once, the same way for every command."""

from __future__ import annotations

from avs.errors import AvsError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(spec: str = "auto") -> str:
    """Return "cuda" or "cpu" for a ``--device`` value.

    "auto" picks CUDA when torch sees a GPU; "cuda" on a machine without one is an
    error rather than a silent fallback, so a cluster job never runs 50x slower unnoticed.
    Choosing CUDA also turns TF32 off for this process (below)."""
    spec = (spec or "auto").lower()
    if spec not in DEVICES:
        raise AvsError(f"--device must be one of {', '.join(DEVICES)}, not {spec!r}")
    if spec == "cpu":
        return "cpu"
    import torch

    has_cuda = torch.cuda.is_available()
    if spec == "cuda" and not has_cuda:
        raise AvsError("--device cuda: no CUDA device is visible to torch; use --device cpu")
    if not has_cuda:
        return "cpu"
    # TF32 rounds float32 inputs to 10 bits (1e-3 relative): a GRU in cuDNN then gave
    # topic embeddings 5e-5 away from the CPU's (measured, H200). Plain float32 keeps
    # CUDA and CPU results equal to float tolerance, as `avs score` promises.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return "cuda"
