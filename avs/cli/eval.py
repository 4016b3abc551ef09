"""``avs eval``: score runs with NIST's sampled infAP (sample_eval.pl semantics)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from avs.eval.formats import FORMATS


@click.command(name="eval")
@click.option(
    "--qrels",
    "qrels",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="NIST qrels (5 fields: topic iter shot stratum rel) or 4-field TREC qrels.",
)
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(FORMATS)),
    default="table",
    show_default=True,
    help="sample_eval: the script's -q output byte for byte.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--parquet",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write every figure to this Parquet file (one row per run and topic).",
)
@click.option(
    "--truth",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Complete ground truth (4-field qrels): also report true AP per topic.",
)
def command(
    qrels: Path,
    runs: tuple[Path, ...],
    fmt: str,
    as_json: bool,
    parquet: Path | None,
    truth: Path | None,
) -> None:
    """Score RUN files (our Parquet, TREC run or submission XML) against --qrels.

    Parquet topic numbers map to qrels ids as "1" + number (701 -> 1701). Topics of a run
    missing from the qrels are skipped, as sample_eval does; no common topic is an error.
    """
    from avs.eval.api import evaluate_files

    results = evaluate_files(qrels, runs, truth_path=truth)
    for r in results:
        if r.evaluation.skipped:
            skipped = ", ".join(r.evaluation.skipped)
            click.echo(f"{r.name}: skipped topic(s) not in {qrels}: {skipped}", err=True)
    if parquet is not None:
        from avs.eval.formats import write_parquet

        write_parquet(parquet, results)
    FORMATS["json" if as_json else fmt](results, sys.stdout)
