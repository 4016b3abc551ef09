"""``avs report``: compare runs across years (HTML, markdown and a terminal table)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from avs.cli.options import echo_json, json_option, pooled_warn_option

SUFFIX_FORMATS = {".md": "markdown", ".markdown": "markdown", ".csv": "csv", ".tex": "latex"}


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
    type=click.Choice(["html", "markdown", "csv", "latex"]),
    default=None,
    help="Default from --out's suffix: .md markdown, .csv csv, .tex latex, else html.",
)
@click.option(
    "--baseline",
    metavar="RUN",
    help="Test every run of a year against this run (default: every pair of runs).",
)
@click.option(
    "--topics",
    "topic_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Topic file whose texts to show (repeatable; the shipped TRECVID topic files "
    "are used without it).",
)
@pooled_warn_option()
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--title", default="AVS run report", show_default=True, help="Page title.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the paired tests.")
@click.option(
    "--permutations",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Random sign flips per paired test (and bootstrap resamples for its CI).",
)
@json_option()
def command(
    inputs: tuple[Path, ...],
    qrels: tuple[str, ...],
    out: Path,
    fmt: str | None,
    title: str,
    seed: int,
    permutations: int,
    baseline: str | None,
    topic_files: tuple[Path, ...],
    pooled_warn: float,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Report on INPUTS: runs (Parquet, TREC, XML; FILE.xml#RUNID for one run of an XML
    file), each scored against its year's
    --qrels (year from run metadata, else from its topic numbers), and/or results saved
    with `avs eval --format json`.

    Writes mean infAP per run per year, per-topic infAP per year with runs side by side,
    best and worst topics, coverage (pooled@1000) with a warning where infAP is a lower
    bound, and paired randomization tests between runs of a year, Holm-Bonferroni
    adjusted over each year's tests, with per-topic win/tie/loss counts.

    \b
    Examples:
      avs report runs/a-2021.parquet runs/b-2021.parquet --qrels 2021=q21.qrels --out r.html
      avs report runs/*.parquet --qrels 2021=q21 --qrels 2022=q22 --baseline a-2022 \\
          --format markdown --out report.md
    """
    from avs.errors import AvsError
    from avs.eval.coverage import check_threshold
    from avs.report.data import build_report, year_of
    from avs.report.inputs import collect_results, topic_texts
    from avs.report.render import print_overview, write_report

    check_threshold(pooled_warn)
    if fmt is None:
        fmt = SUFFIX_FORMATS.get(out.suffix.lower(), "html")
    if out.exists() and not overwrite:
        raise AvsError(f"{out}: exists; pass --overwrite to replace it")
    results = collect_results(inputs, qrels)
    texts = topic_texts(sorted({year_of(r) for r in results}), topic_files)
    data = build_report(
        results,
        seed=seed,
        permutations=permutations,
        baseline=baseline,
        topic_texts=texts,
        threshold=pooled_warn,
    )
    written = write_report(data, out, fmt, title)
    if as_json:
        echo_json({"report": str(written), "format": fmt, "data": data})
        return
    print_overview(data, sys.stdout)
    click.echo(f"wrote {written}")
