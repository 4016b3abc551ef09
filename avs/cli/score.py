"""``avs score --topics topics/2022.txt``: rank shots for every topic into runs/NAME.parquet."""

from __future__ import annotations

from pathlib import Path

import click

from avs.device import DEVICES
from avs.errors import AvsError


@click.command("score")
@click.option(
    "--topics",
    "topics",
    required=True,
    type=click.Path(path_type=Path),
    help="Topic file; its name gives the year (2022.txt, tv22.avs.txt).",
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
def command(
    topics: Path,
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
) -> None:
    """Rank shots for every topic of a year (Dask) into runs/NAME.parquet.

    Settings come from avs.toml (the year from the topic file's name picks the
    collection, model and index); every flag overrides it."""
    from avs.device import resolve_device
    from avs.io.topics import read_topics, topics_year
    from avs.search.job import ScoreJob, run_score
    from avs.workspace import load_workspace

    read_topics(topics)  # a missing, empty or malformed file is the first thing to report
    ws = load_workspace()
    year = topics_year(topics)
    yc = ws.year_config(year)
    problems = []
    index = index or yc.index
    model = model or yc.model
    where = f"year {year}" if year else "the progress topics"
    if index is None:
        problems.append(
            f"no index for {where} (collection {yc.collection}): pass --index or set "
            f"index under [collections.{yc.collection}] in avs.toml"
        )
    if model is None:
        problems.append(
            f"no model for {where} (collection {yc.collection}): pass --model or set "
            f"model under [collections.{yc.collection}] in avs.toml"
        )
    if problems:
        raise AvsError("; ".join(problems))
    name = run_name or yc.run_name or f"{Path(model).name}-{topics.stem}"
    job = ScoreJob(
        topics=topics,
        index=Path(index),
        model=Path(model),
        runs_dir=runs_dir or ws.runs_dir,
        run_name=name,
        k=k if k is not None else ws.defaults.k,
        device=resolve_device(device or ws.defaults.device),
        scheduler=scheduler if scheduler is not None else ws.defaults.scheduler,
        resume=resume,
        overwrite=overwrite,
        year=year,
        collection=yc.collection,
    )
    out = run_score(job, progress=not quiet)
    click.echo(f"run written: {out}")
