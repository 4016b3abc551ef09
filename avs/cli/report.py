"""``avs report``: compare runs across years (HTML, markdown and a terminal table)."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command(name="report")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--qrels",
    "qrels",
    multiple=True,
    metavar="[YEAR=]PATH",
    help="Qrels of a year, e.g. --qrels 2021=avs.qrels.main.tv21 (repeatable). Without "
    "YEAR= the year is read from the qrels' topic ids.",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("runs/report.html"),
    show_default=True,
    help="Report file, written atomically.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "markdown"]),
    default=None,
    help="Default: markdown when --out ends in .md, else html.",
)
@click.option("--title", default="AVS run report", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the paired tests.")
@click.option(
    "--permutations",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Random sign flips per paired test (and bootstrap resamples for its CI).",
)
def command(
    inputs: tuple[Path, ...],
    qrels: tuple[str, ...],
    out: Path,
    fmt: str | None,
    title: str,
    seed: int,
    permutations: int,
) -> None:
    """Report on INPUTS: runs (Parquet, TREC, XML), each scored against its year's
    --qrels (year from run metadata, else from its topic numbers), and/or results saved
    with `avs eval --format json`.

    Writes mean infAP per run per year, per-topic infAP per year with runs side by side,
    best and worst topics, and paired randomization tests between runs of a year.
    """
    from avs.report.data import build_report
    from avs.report.inputs import collect_results
    from avs.report.render import print_overview, write_report

    if fmt is None:
        fmt = "markdown" if out.suffix.lower() in (".md", ".markdown") else "html"
    results = collect_results(inputs, qrels)
    data = build_report(results, seed=seed, permutations=permutations)
    print_overview(data, sys.stdout)
    written = write_report(data, out, fmt, title)
    click.echo(f"wrote {written}")
