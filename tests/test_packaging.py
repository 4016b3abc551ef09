"""The package as users install it: every package listed, resources inside the wheel, and
a core install (no extras) that runs every command needing no model, from outside the
source tree."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "trecvid"


def test_pyproject_lists_every_package() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.relative_to(ROOT).parent.parts)
        for p in (ROOT / "avs").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    found |= {"avs.configs", "avs.templates", "avs.templates.dtd", "avs.topics"}
    assert listed == found
    assert config["package-dir"] == {"avs.templates": "templates", "avs.topics": "topics"}


def _run(args: list[str], cwd: Path, env: dict[str, str], check: bool = True):
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    if check:
        assert proc.returncode == 0, f"{args}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_wheel_without_extras_runs_the_light_commands(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("avs", "templates", "topics"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
          str(src)], tmp_path, env)  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("avs-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    work = tmp_path / "work"  # outside the source tree: nothing but the installed wheel
    work.mkdir()
    qrels = shutil.copy(FIXTURES / "avs.qrels.main.tv21", work / "q21")
    run = shutil.copy(FIXTURES / "tv21.RUCMM.trec", work / "rucmm.trec")

    heavy = _run([str(venv / "bin" / "python"), "-c", "import torch"], work, env, check=False)
    assert heavy.returncode != 0  # the core install brings no torch

    out = _run(["avs", "eval", "--qrels", qrels, "--format", "sample_eval", run], work, env)
    assert "infAP\t\tall\t\t0.3430" in out.stdout  # NIST's figure for this run
    _run(["avs", "convert", run, "rucmm.parquet"], work, env)
    out = _run(["avs", "eval", "--qrels", qrels, "--json", "rucmm.parquet"], work, env)
    assert '"infAP"' in out.stdout
    _run(["avs", "fuse", run, "rucmm.parquet", "--out", "fused.parquet"], work, env)
    _run(["avs", "report", run, "fused.parquet", "--qrels", f"2021={qrels}", "--out", "r.html"],
         work, env)  # fmt: skip
    assert "<svg" in (work / "r.html").read_text()
    submit = ["avs", "submit", run, "--pid", "WHEEL", "--priority", "1", "--tr-type", "D",
              "--class", "F", "--task", "M", "--novelty", "C", "--year", "2021",
              "--elapsed", "10", "--desc", "wheel test", "--out", "sub.xml"]  # fmt: skip
    _run(submit, work, env)
    out = _run(["avs", "submit", "--check", "sub.xml"], work, env)
    _run(["avs", "features", "--help"], work, env)
    missing = _run(["avs", "train", "x", "--video-features", "a", "--out", "m"], work, env, False)
    assert missing.returncode == 1 and "pip install 'avs[model]'" in missing.stderr
    assert "Traceback" not in missing.stderr
