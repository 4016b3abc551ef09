"""Rich progress bars for the command line, behind the library's progress callback.

Bars go to stderr and only to a terminal: in a log file or a pipe there is no bar and no
escape code, just the command's own result lines."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from avs.progress import ProgressFn


def stderr_console():  # noqa: ANN201 - rich.console.Console, imported lazily
    """The console every avs bar and table on stderr uses."""
    from rich.console import Console

    return Console(stderr=True)


@contextlib.contextmanager
def progress_bar(quiet: bool = False, unit: str = "") -> Iterator[ProgressFn]:
    """A callback drawing one bar per label, with a rate in ``unit``/s when given (the rate
    counts from the first call of each label, so start-up time is not in it)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = stderr_console()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        console=console,
        disable=quiet or not console.is_terminal,
    )
    tasks: dict[str, tuple[int, float, int]] = {}  # label -> (task id, start time, done then)

    def update(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            task = bar.add_task(label, total=total, completed=done, rate="")
            tasks[label] = (task, time.perf_counter(), done)
            return
        task, t0, base = tasks[label]
        wall = time.perf_counter() - t0
        rate = f"{(done - base) / wall:,.0f} {unit}/s" if unit and wall > 0 else ""
        bar.update(task, completed=done, total=total, rate=rate)

    with bar:
        yield update
