"""Training state on disk: a crash between its two writes, and --resume with no state."""

from __future__ import annotations

from pathlib import Path

import pytest

import avs.train.state as state_mod
from avs.train.loop import train
from tests.support.training import options


def test_crash_between_tensor_and_json_writes_resumes_to_the_same_model(
    tiny_collection: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: state.safetensors was replaced before state.json, so a kill between the
    two paired epoch N's tensors with epoch N-1's counters and resume diverged."""
    full = train(options(tiny_collection, tmp_path / "full", epochs=3))
    real_write = state_mod.write_text_atomic
    calls = {"n": 0}

    def crash_on_second_epoch(path: Path, text: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # epoch 2's tensors are on disk, its JSON is not
            raise KeyboardInterrupt("simulated kill")
        real_write(path, text)

    monkeypatch.setattr(state_mod, "write_text_atomic", crash_on_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        train(options(tiny_collection, tmp_path / "part", epochs=3))
    monkeypatch.setattr(state_mod, "write_text_atomic", real_write)
    resumed = train(options(tiny_collection, tmp_path / "part", epochs=3), resume=True)
    assert resumed.fingerprint == full.fingerprint
    assert resumed.history == full.history
    assert [p.name for p in (tmp_path / "part" / "train-state").glob("*.safetensors")] == [
        "epoch-3.safetensors"
    ]


def test_resume_without_state_starts_afresh(tiny_collection: Path, tmp_path: Path) -> None:
    """A run killed before its first epoch ended left nothing; --resume must still work."""
    full = train(options(tiny_collection, tmp_path / "full", epochs=2))
    resumed = train(options(tiny_collection, tmp_path / "fresh", epochs=2), resume=True)
    assert resumed.fingerprint == full.fingerprint
