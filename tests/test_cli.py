"""The CLI shell: help everywhere, version, lazy imports, errors without tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from avs import __version__
from avs.cli import COMMANDS, main


def test_version():
    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


@pytest.mark.parametrize("name", ["eval", "report", "submit"])
def test_fast_commands_import_neither_torch_nor_dask(name: str):
    """`avs eval|report|submit` must start fast: importing their modules pulls in no torch/dask."""
    code = (
        "import json, sys, importlib; from avs.cli import COMMANDS;"
        f"importlib.import_module(COMMANDS[{name!r}][0]);"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'dask', 'distributed'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_user_error_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "2022.txt"
    bad.write_text("701 a topic\n701 again\n")
    out = subprocess.run(
        [sys.executable, "-m", "avs", "submit", "--check", str(tmp_path / "missing.xml")],
        capture_output=True,
        text=True,
    )
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
