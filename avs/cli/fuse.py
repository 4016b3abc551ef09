"""``avs fuse``: late fusion of runs of any kind into one Parquet run (docs/fusion.md)."""

from __future__ import annotations

from pathlib import Path

import click

from avs.cli.options import echo_notes_and_json, json_option
from avs.fusion.methods import DEFAULT_RRF_K, METHODS, NORMS

EPILOG = """\b
Examples:
  avs fuse runs/a-2022.parquet runs/b-2022.trec --out runs/fused-2022.parquet
  avs fuse A.parquet B.parquet --method wsum --weights 0.7,0.3 --out F.parquet
  avs fuse sub.xml#F_M_C_D_TEAM.22_1 runs/b.parquet --method rrf --out F.parquet
  avs fuse --recipe runs/recipe.json runs/a-2022.parquet runs/b-2022.parquet \\
      --out runs/fused-2022.parquet
"""


def parse_weights(text: str | None) -> list[float] | None:
    """``"0.7,0.3"`` -> [0.7, 0.3]; a UsageError naming the value that is no number."""
    if text is None:
        return None
    values = []
    for part in text.split(","):
        try:
            values.append(float(part))
        except ValueError:
            raise click.BadParameter(f"{part!r} is not a number", param_hint="--weights") from None
    return values


@click.command(name="fuse", epilog=EPILOG)
@click.argument("runs", nargs=-1, required=True, metavar="[MODEL=]RUN[#RUNID]...")
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Parquet run."
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    help="Default combsum (min-max normalised CombSUM): docs/fusion.md says why.",
)
@click.option(
    "--norm",
    type=click.Choice(NORMS),
    help="Score normalisation per run and topic (default minmax; rrf/borda take none).",
)
@click.option("--weights", help="One weight per run, comma-separated (wsum, combmnz, rrf, borda).")
@click.option(
    "--rrf-k", type=float, default=DEFAULT_RRF_K, show_default=True, help="RRF's constant k."
)
@click.option(
    "--k", type=click.IntRange(min=1), default=1000, show_default=True, help="Shots per topic."
)
@click.option(
    "--recipe",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Recipe from `avs fuse-learn`: method, normalisation and weights per model.",
)
@click.option("--name", help="Run name (default: OUT without .parquet).")
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@json_option()
def command(
    runs: tuple[str, ...],
    out: Path,
    method: str | None,
    norm: str | None,
    weights: str | None,
    rrf_k: float,
    k: int,
    recipe: Path | None,
    name: str | None,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Fuse RUNS (Parquet, TREC run files, submission XML) topic by topic into OUT.

    Topics are matched as `avs eval` matches them; the fused run covers the union of
    the runs' topics (a warning names the topics each run lacks). A shot missing from a
    run gets that run's per-topic minimum after normalisation. One run of an XML file
    holding several is named FILE.xml#RUNID; MODEL=RUN names the run's model for --recipe.
    """
    from avs.fusion.fuse import fuse_files

    result = fuse_files(
        runs,
        out,
        method=method,
        norm=norm,
        weights=parse_weights(weights),
        rrf_k=rrf_k,
        k=k,
        recipe=recipe,
        name=name,
        overwrite=overwrite,
    )
    if echo_notes_and_json(result.warnings, result, as_json, "warning"):
        return
    fusion = result.meta["fusion"]
    weights_text = ",".join(f"{w:g}" for w in fusion["weights"])
    simulated = " (SIMULATED: an input is a simulated run)" if result.meta["simulated"] else ""
    click.echo(
        f"wrote {result.path}: {len(runs)} runs fused with {fusion['method']} "
        f"(norm {fusion['norm']}, weights {weights_text}), {result.topics} topics, "
        f"{result.shots} shots{simulated}"
    )
