"""``avs eval``: score runs with NIST's sampled infAP (sample_eval.pl semantics)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from avs.cli.options import pooled_warn_option
from avs.eval.formats import FORMATS, warnings_for, write_table


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
    help="Also write every figure to this Parquet file (see --layout).",
)
@click.option(
    "--layout",
    type=click.Choice(["wide", "long"]),
    default="wide",
    show_default=True,
    help="--parquet layout: wide = a row per run and topic, a column per figure; long = a "
    "row per run, topic and figure (run, year, topic, measure, value, provenance).",
)
@pooled_warn_option()
@click.option("--overwrite", is_flag=True, help="Replace an existing --parquet file.")
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
    layout: str,
    pooled_warn: float,
    overwrite: bool,
    truth: Path | None,
) -> None:
    """Score RUN files (our Parquet, TREC run or submission XML) against --qrels.

    Every run of an XML file is scored; FILE.xml#RUNID scores the one of that id.
    Parquet topic numbers map to qrels ids as "1" + number (701 -> 1701). Topics of a
    run missing from the qrels are skipped, as sample_eval does; no common topic is an
    error.
    Besides sample_eval's figures: infAP_judged (condensed infAP) and judged@k /
    pooled@k (k = 10, 100, 1000), in the table, --json and --parquet.

    \b
    Examples:
      avs eval --qrels avs.qrels.main.tv21 runs/sim-laff-2021.parquet
      avs eval --qrels avs.qrels.main.tv21 --format sample_eval tv21.RUCMM.trec
      avs eval --qrels avs.qrels.main.tv21 sub.xml#F_M_C_D_TEAM.21_1
      avs eval --qrels q.qrels runs/*.parquet --parquet scores.parquet --layout long
    """
    from avs.errors import AvsError
    from avs.eval.api import evaluate_files
    from avs.eval.coverage import check_threshold

    check_threshold(pooled_warn)
    if parquet is not None and parquet.exists() and not overwrite:
        raise AvsError(f"{parquet}: exists; pass --overwrite to replace it")
    results = evaluate_files(qrels, runs, truth_path=truth)
    for r in results:
        if r.evaluation.skipped:
            skipped = ", ".join(r.evaluation.skipped)
            click.echo(f"{r.name}: skipped topic(s) not in {qrels}: {skipped}", err=True)
    if parquet is not None:
        from avs.eval.formats import write_parquet

        write_parquet(parquet, results, layout)
    fmt = "json" if as_json else fmt
    if fmt == "table":  # the warnings are part of the table
        write_table(results, sys.stdout, threshold=pooled_warn)
        return
    for line in warnings_for(results, pooled_warn):  # stdout stays machine-readable
        click.echo(f"Warning: {line}", err=True)
    FORMATS[fmt](results, sys.stdout)
