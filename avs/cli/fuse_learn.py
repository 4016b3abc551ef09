"""``avs fuse-learn``: fusion weights learnt on the years with qrels -> a JSON recipe."""

from __future__ import annotations

from pathlib import Path

import click

from avs.cli.options import echo_notes_and_json, json_option
from avs.fusion.methods import DEFAULT_RRF_K, METHODS, NORMS

EPILOG = """\b
Example (models A and B, runs of 2019-2021 with qrels; then the new year):
  avs fuse-learn runs/A-2019.parquet runs/B-2019.parquet runs/A-2020.parquet \\
      runs/B-2020.parquet runs/A-2021.parquet runs/B-2021.parquet \\
      --qrels 2019=q19 --qrels 2020=q20 --qrels 2021=q21 --out runs/recipe.json
  avs fuse --recipe runs/recipe.json runs/A-2022.parquet runs/B-2022.parquet \\
      --out runs/fused-2022.parquet
"""


def _split(values: tuple[str, ...], allowed: tuple[str, ...], option: str) -> list[str]:
    out = []
    for value in values:
        for part in value.split(","):
            if part not in allowed:
                raise click.BadParameter(
                    f"{part!r} is not one of {', '.join(allowed)}", param_hint=option
                )
            out.append(part)
    return out


@click.command(name="fuse-learn", epilog=EPILOG)
@click.argument("runs", nargs=-1, required=True, metavar="[MODEL=]RUN[#RUNID]...")
@click.option(
    "--qrels",
    multiple=True,
    metavar="[YEAR=]PATH",
    help="Qrels of a year (repeatable); default: [years.YEAR] qrels in avs.toml.",
)
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Recipe (JSON)."
)
@click.option(
    "--method",
    "methods",
    multiple=True,
    default=("wsum",),
    show_default=True,
    help=f"Method(s) to try, comma-separated or repeated ({', '.join(METHODS)}).",
)
@click.option(
    "--norm",
    "norms",
    multiple=True,
    default=("minmax",),
    show_default=True,
    help=f"Normalisation(s) to try ({', '.join(NORMS)}); rrf/borda take none.",
)
@click.option(
    "--rrf-k", type=float, default=DEFAULT_RRF_K, show_default=True, help="RRF's constant k."
)
@click.option(
    "--k", type=click.IntRange(min=1), default=1000, show_default=True, help="Shots per topic."
)
@click.option(
    "--folds",
    type=click.IntRange(min=2),
    default=5,
    show_default=True,
    help="Topic folds when the runs cover a single year.",
)
@click.option("--overwrite", is_flag=True, help="Replace OUT if it exists.")
@json_option()
def command(
    runs: tuple[str, ...],
    qrels: tuple[str, ...],
    out: Path,
    methods: tuple[str, ...],
    norms: tuple[str, ...],
    rrf_k: float,
    k: int,
    folds: int,
    overwrite: bool,
    as_json: bool,
) -> None:
    """Learn fusion weights per model that maximise mean infAP (as `avs eval` computes
    it) on RUNS of the years with qrels, and write them to OUT as a recipe for
    `avs fuse --recipe`.

    Each run's year comes from its metadata (else its topics), its model from its
    metadata or a MODEL= prefix; every model needs one run per year. Prints the
    in-sample figure beside leave-one-year-out cross-validation (topic folds for a
    single year): the gain that survives on unseen topics.
    """
    from avs.fusion.learn import learn_files

    result = learn_files(
        runs,
        qrels,
        out,
        methods=_split(methods, METHODS, "--method"),
        norms=_split(norms, NORMS, "--norm"),
        rrf_k=rrf_k,
        k=k,
        folds=folds,
        overwrite=overwrite,
    )
    if echo_notes_and_json(result.warnings, result, as_json, "warning"):
        return
    click.echo(format_result(result))
    click.echo(f"wrote {out}")


def format_result(result) -> str:
    """The learnt recipe and its honest estimates as a small table."""
    recipe = result.recipe
    simulated = bool(recipe.extra.get("simulated"))
    tag = " [SIMULATED runs]" if simulated else ""
    weights = ", ".join(f"{m} {w:.3f}" for m, w in recipe.weights.items())
    lines = [
        f"learnt on {', '.join(result.years)}{tag}: {recipe.method} (norm {recipe.norm}), "
        f"weights {weights}",
        f"{result.candidates} candidates in {result.seconds:.1f} s",
        "",
        f"{'held out':<18} {'topics':>6} {'cross-val':>9} {'in-sample':>9} "
        f"{'equal w':>8} {'best single':>11}  weights learnt without it",
    ]
    for e in result.estimates:
        w = ",".join(f"{x:.2f}" for x in e.weights)
        lines.append(
            f"{e.part:<18} {e.topics:>6} {e.cross_validated:>9.4f} {e.in_sample:>9.4f} "
            f"{e.equal:>8.4f} {e.best_single:>11.4f}  {w}"
        )
    best = max(result.singles.values())
    lines += [
        "",
        f"mean infAP{tag}: in-sample {result.in_sample:.4f}, cross-validated "
        f"({result.cv_kind}) {result.cross_validated:.4f}, equal weights {result.equal:.4f}, "
        f"best single model {best:.4f}",
    ]
    return "\n".join(lines)
