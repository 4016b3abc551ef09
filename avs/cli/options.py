"""Options several commands share, defined once so their names, choices and help agree."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import click

from avs.device import DEVICES
from avs.io.textfile import printable


def device_option(what: str = "the model runs") -> Callable[[Any], Any]:
    """``--device auto|cpu|cuda`` (default auto)."""
    return click.option(
        "--device",
        type=click.Choice(DEVICES),
        default="auto",
        show_default=True,
        help=f"Where {what}: auto picks CUDA when a GPU is visible.",
    )


def pooled_warn_option() -> Callable[[Any], Any]:
    """``--pooled-warn X``: the coverage below which infAP is flagged as a lower bound."""
    from avs.eval.measures import POOLED_WARN

    return click.option(
        "--pooled-warn",
        "pooled_warn",
        type=float,
        default=POOLED_WARN,
        show_default=True,
        help="Warn that a run's infAP is a lower bound when its mean pooled@1000 (share of "
        "its top-1000 shots present in the qrels) is below this.",
    )


def json_option(what: str = "the result") -> Callable[[Any], Any]:
    """``--json``: print ``what`` as one JSON document instead of text."""
    return click.option("--json", "as_json", is_flag=True, help=f"Print {what} as JSON.")


def echo_json(value: Any) -> None:
    """Print a result (a dataclass, a dict...) as one JSON document on stdout."""
    import dataclasses
    import json

    def plain(obj: Any) -> Any:  # nested results: dataclasses inside dicts, paths, sets
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, set | frozenset | tuple):
            return list(obj)
        return str(obj)

    click.echo(json.dumps(value, indent=2, default=plain))


def echo_notes_and_json(
    notes: Sequence[str], result: Any, as_json: bool, kind: str = "note"
) -> bool:
    """The tail every writing command shares: its notes (or warnings) on stderr, one line
    each, then, with --json, the result as JSON. True when the JSON was printed (the
    command has nothing more to say)."""
    for note in notes:
        click.echo(f"{kind}: {printable(note, markup=False)}", err=True)
    if as_json:
        echo_json(result)
    return as_json
