"""``avs score --topics topics/2022.txt``: rank shots for every topic into runs/NAME.parquet."""

from __future__ import annotations

import glob
import json
from pathlib import Path

import click

from avs.device import DEVICES


@click.command("score")
@click.option(
    "--topics",
    "topics",
    required=True,
    multiple=True,
    help="Topic file; its name gives the year (2022.txt, tv22.avs.txt). Repeat it, or give "
    "a quoted glob ('topics/20*.txt'), to score several files in one pass over each index.",
)
@click.option(
    "--index",
    "index",
    type=click.Path(path_type=Path),
    help="Index directory (default: avs.toml for the year's collection).",
)
@click.option(
    "--model", "model", type=click.Path(path_type=Path), help="Model directory (default: avs.toml)."
)
@click.option(
    "--run-name",
    "run_name",
    help="Run file stem under the runs directory (default: avs.toml, else MODEL-TOPICS).",
)
@click.option("--k", "k", type=int, help="Shots per topic (default: avs.toml, else 1000).")
@click.option(
    "--scheduler",
    "scheduler",
    help="Dask scheduler address (tcp://host:8786); default: a LocalCluster.",
)
@click.option(
    "--device",
    "device",
    type=click.Choice(DEVICES),
    help="Compute device (default: avs.toml, else auto).",
)
@click.option(
    "--runs",
    "runs_dir",
    type=click.Path(path_type=Path),
    help="Runs directory (default: avs.toml, else ./runs).",
)
@click.option(
    "--resume", is_flag=True, help="Continue an interrupted run from its per-shard partial results."
)
@click.option("--overwrite", is_flag=True, help="Replace an existing run of the same name.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def command(
    topics: tuple[str, ...],
    index: Path | None,
    model: Path | None,
    run_name: str | None,
    k: int | None,
    scheduler: str | None,
    device: str | None,
    runs_dir: Path | None,
    resume: bool,
    overwrite: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Rank shots for every topic of a year (Dask) into runs/NAME.parquet.

    Settings come from avs.toml (the year from the topic file's name picks the
    collection, model and index); every flag overrides it.

    \b
    Examples:
      avs score --topics topics/2022.txt
      avs score --topics topics/2019.txt --topics topics/2020.txt --topics topics/2021.txt
      avs score --topics 'topics/20*.txt'     # every year, each index read once
      avs score --topics topics/2021.txt --model models/demo --index index/demo \\
          --run-name demo-2021 --device cpu --overwrite
    """
    from avs.cli.progress import progress_bar
    from avs.search.job import plan_score, run_scores

    files = _topic_files(topics)
    if run_name is not None and len(files) > 1:
        raise click.UsageError("--run-name names one run: drop it to score several topic files")
    jobs = [
        plan_score(
            path,
            index=index,
            model=model,
            run_name=run_name,
            k=k,
            scheduler=scheduler,
            device=device,
            runs_dir=runs_dir,
            resume=resume,
            overwrite=overwrite,
        )
        for path in files
    ]
    with progress_bar(quiet, unit="shots") as progress:
        outs = run_scores(jobs, progress=progress)
    if as_json:
        rows = [{"run": str(o), "run_name": j.run_name, "year": j.year, "topics": str(j.topics)}
                for o, j in zip(outs, jobs, strict=True)]  # fmt: skip
        click.echo(json.dumps(rows[0] if len(rows) == 1 else rows))
    else:
        for out in outs:
            click.echo(f"run written: {out}")


def _topic_files(values: tuple[str, ...]) -> list[Path]:
    """--topics values as files: a value that is not a file but holds * ? [ is a glob."""
    files: list[Path] = []
    for value in values:
        if not Path(value).exists() and glob.has_magic(value):
            matched = sorted(glob.glob(value))
            if not matched:
                raise click.BadParameter(f"no file matches {value!r}", param_hint="--topics")
            files += map(Path, matched)
        else:
            files.append(Path(value))
    return files
