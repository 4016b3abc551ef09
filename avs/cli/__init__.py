"""The ``avs`` command line.

Each subcommand lives in its own module (``avs/cli/<name>.py``, attribute ``command``)
and is imported only when invoked, so ``avs eval`` never pays for torch or dask.
Commands only parse options, call one library function and format its result.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from avs import __version__
from avs.errors import AvsError

# name -> (module, one-line help shown by `avs --help` without importing the module)
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("avs.cli.synth", "Generate a simulated V3C-like collection with known ground truth."),
    "features": ("avs.cli.features", "Inspect and convert feature stores (HDF5 <-> BigFile)."),
    "train": ("avs.cli.train", "Train a (multi-head) LAFF text-to-video model."),
    "explain": ("avs.cli.explain", "Show LAFF attention weights per topic, head and feature."),
    "index": ("avs.cli.index", "Embed every shot of a collection with a model (Dask, resumable)."),
    "score": (
        "avs.cli.score",
        "Rank shots for every topic of a year (Dask) into runs/NAME.parquet.",
    ),
    "eval": ("avs.cli.eval", "Score runs with NIST's sampled infAP (sample_eval.pl semantics)."),
    "report": ("avs.cli.report", "Compare runs across years: HTML, markdown or terminal report."),
    "submit": ("avs.cli.submit", "Render and validate TRECVID run XML."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's own signature
        try:
            return super().invoke(ctx)
        except AvsError as err:
            raise click.ClickException(str(err)) from None
        except BrokenPipeError:
            # `avs eval ... | head`: stop quietly, and keep Python from complaining at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="avs")
def main() -> None:
    """avs: TRECVID Ad-hoc Video Search, from features to a validated submission.

    Typical year: avs synth (or your features) -> avs train -> avs index ->
    avs score --topics topics/2022.txt -> avs eval -> avs report -> avs submit.
    """
