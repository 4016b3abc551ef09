"""The ``avs`` command line.

Each subcommand lives in its own module (``avs/cli/<name>.py``, attribute ``command``)
and is imported only when invoked, so ``avs eval`` never pays for torch or dask.
Commands only parse options, call one library function and format its result.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading

import click

from avs import __version__
from avs.errors import AvsError, bounded, os_error_message

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
    "fuse": ("avs.cli.fuse", "Fuse runs (CombSUM, CombMNZ, weighted sum, RRF, Borda) into one."),
    "fuse-learn": ("avs.cli.fuse_learn", "Learn fusion weights on years with qrels -> recipe."),
    "convert": ("avs.cli.convert", "Convert a run between Parquet, TREC run file and XML."),
}


# Commands that run a model or a cluster: they need the `model` extra (torch, dask,
# safetensors). Every other command works on the core install.
MODEL_COMMANDS = frozenset({"synth", "train", "explain", "index", "score"})
MODEL_PACKAGES = ("torch", "dask", "distributed", "safetensors")


def missing_model_packages() -> list[str]:
    """The packages of the `model` extra that are not installed."""
    return [name for name in MODEL_PACKAGES if importlib.util.find_spec(name) is None]


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the process is so that context managers clean up (temporary
    files, the LocalCluster) exactly as after Ctrl-C."""


def _stop_logging() -> None:
    # The command is ending and says why in one line. Meanwhile the LocalCluster's
    # scheduler (in this process) logs every connection the shutdown closes, tracebacks
    # included, once the cluster has restored its log level: nothing of that is news.
    logging.disable(logging.CRITICAL)


def _on_sigterm(signum: int, frame: object) -> None:
    _stop_logging()
    raise Terminated


def _on_sigint(signum: int, frame: object) -> None:
    _stop_logging()
    raise KeyboardInterrupt


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if name in MODEL_COMMANDS and (missing := missing_model_packages()):
            raise click.ClickException(
                f"avs {name} needs the 'model' extra ({', '.join(missing)} not installed): "
                "pip install 'avs[model]'"
            )
        module = importlib.import_module(COMMANDS[name][0])
        return module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context):  # noqa: ANN201 - click's own signature
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _on_sigterm)
            # Only where Python installed its own handler: an inherited SIG_IGN (nohup,
            # a background job) stays ignored.
            if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
                signal.signal(signal.SIGINT, _on_sigint)
        try:
            return super().invoke(ctx)
        except AvsError as err:
            raise click.ClickException(bounded(str(err))) from None
        except click.ClickException as err:  # click's own usage errors quote values too
            err.message = bounded(err.message)
            raise
        except BrokenPipeError:
            # `avs eval ... | head`: the reader has what it wanted. Stop quietly with 0, as
            # `set -o pipefail` scripts expect, and keep Python from complaining at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)
        except OSError as err:
            # A read-only disk, a missing permission, a name too long...: the user's
            # environment, not a bug in avs, so one line naming the path.
            raise click.ClickException(bounded(os_error_message(err))) from None
        except Terminated:
            click.echo("terminated (SIGTERM); nothing half-written was kept", err=True)
            sys.exit(143)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="avs")
def main() -> None:
    """avs: TRECVID Ad-hoc Video Search, from features to a validated submission.

    Typical year: avs synth (or your features) -> avs train -> avs index ->
    avs score --topics topics/2022.txt -> avs eval -> avs report -> avs submit.

    Conventions: -q/--quiet silences progress bars, --json prints results for machines,
    --overwrite replaces an existing output (nothing is replaced without it).
    eval, report, submit, convert, fuse and features need only the core install;
    synth, train, explain, index and score need avs[model].

    \b
    Examples:
      avs score --topics topics/2022.txt
      avs eval --qrels avs.qrels.main.tv21 runs/*.parquet
    \b
    Shell completion (bash; zsh and fish likewise):
      eval "$(_AVS_COMPLETE=bash_source avs)"
    """
