"""Every command's --help follows the CLI conventions: an example, help text on every
option, choices for enumerations, -q/--quiet and --overwrite spelled one way."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from avs.cli import COMMANDS, main


def _walk(command: click.Command, path: tuple[str, ...]):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name))


def _all_commands():
    ctx = click.Context(main)
    for name in COMMANDS:
        yield from _walk(main.get_command(ctx, name), (name,))


ALL = list(_all_commands())


@pytest.mark.parametrize("path,command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_help_has_an_example_and_every_option_says_what_it_does(path, command) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example" in result.output, f"avs {' '.join(path)} --help shows no example"
    if not isinstance(command, click.Group):  # every command that prints results
        assert "--json" in result.output, f"avs {' '.join(path)} has no --json"
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"avs {' '.join(path)}: {param.opts[0]} has no help text"
            if "quiet" in param.opts[0]:
                assert param.opts[0] == "--quiet" and "-q" in param.opts, param.opts
            assert "--force" not in param.opts or "--overwrite" in param.opts, param.opts


def test_top_level_help_lists_every_command_and_completion() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in COMMANDS)
    assert "_AVS_COMPLETE=bash_source" in result.output


def test_broken_pipe_exits_zero_for_pipefail_scripts(tmp_path) -> None:
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    fixtures = Path(__file__).parent / "fixtures" / "trecvid"
    avs = shutil.which("avs") or Path(sys.executable).parent / "avs"
    # Eight runs print ~200 KB, more than a pipe holds, so the write after `head` exits fails.
    runs = []
    for i in range(8):
        runs.append(tmp_path / f"run{i}.trec")
        shutil.copy(fixtures / "tv21.RUCMM.trec", runs[-1])
    script = (
        f"set -o pipefail; {avs} eval --qrels {fixtures / 'avs.qrels.main.tv21'} "
        f"--format sample_eval {' '.join(map(str, runs))} | head -1"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# run run0.trec") and "Traceback" not in proc.stderr
