"""How ``avs train`` shows the training loop's events (``callback(event, info)`` of
:func:`avs.train.loop.train`): a bar per epoch with the running loss, a line of validation
metrics per epoch, the result table. The library itself draws nothing."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from avs.io.textfile import printable

console = Console(stderr=True)
# Bars only on a terminal: a log gets the epoch lines, not escape codes.
_BARS = console.is_terminal


class RichProgress:
    """Callback for :func:`avs.train.loop.train`: one bar per epoch with the running loss,
    then a line with the epoch's validation metrics."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]:.3f}"),
            TimeElapsedColumn(),
            console=console,
            disable=not (enabled and _BARS),
            transient=True,
        )
        self.task: Any = None

    def __enter__(self) -> RichProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, event: str, info: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if event == "start":
            data, model = info["data"], info["model"]
            sizes = {k: len(v.texts) for k, v in data.splits.items()}
            console.print(
                f"training {model.config.fusion} ({model.heads} heads, dim {model.dim}) on "
                f"{info['device']}: {len(data.video_ids)} videos, captions {sizes}"
                + (r" \[simulated collection]" if data.simulated else "")
            )
        elif event == "note":
            console.print(printable(info["text"]))
        elif event == "batch":
            if self.task is None:
                self.task = self.progress.add_task(
                    f"epoch {info['epoch']}", total=info["total"], loss=0.0
                )
            self.progress.update(self.task, completed=info["done"], loss=info["loss"])
        elif event == "epoch":
            if self.task is not None:
                self.progress.remove_task(self.task)
                self.task = None
            mark = " *" if info["improved"] else ""
            console.print(
                f"epoch {info['epoch']:3d}  loss {info['loss']:.3f}  lr {info['lr']:.2e}  "
                f"val R@1 {info['r1']:.1f} R@5 {info['r5']:.1f} R@10 {info['r10']:.1f} "
                f"mAP {info['map']:.4f}{mark}"
            )


def metrics_table(rows: dict[str, dict[str, float]], title: str) -> Table:
    """A table of R@1/5/10, median rank and mAP per named model."""
    table = Table(title=title)
    for col in ("model", "R@1", "R@5", "R@10", "medR", "mAP"):
        table.add_column(col, justify="left" if col == "model" else "right")
    for name, m in rows.items():
        table.add_row(
            printable(name), f"{m['r1']:.1f}", f"{m['r5']:.1f}", f"{m['r10']:.1f}", f"{m['medr']:.0f}",
            f"{m['map']:.4f}",
        )  # fmt: skip
    return table


def print_result(opts: Any, result: Any) -> None:
    """Print the test metrics of a finished run and where the model is."""
    out = Console()
    out.print(metrics_table({opts.out: result.test}, "test split (text-to-video)"))
    out.print(
        f"best epoch {result.best_epoch} of {result.epochs_run}; {result.captions_per_s:.0f} "
        f"captions/s; fingerprint {result.fingerprint[:16]}; model in {printable(opts.out)}"
    )
