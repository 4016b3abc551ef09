"""``avs explain``: LAFF attention weights per topic, head and feature (HTML), or the
feature ranking averaged over a training split."""

from __future__ import annotations

from pathlib import Path

import click

from avs.cli.options import device_option, echo_json, json_option
from avs.errors import AvsError


@click.command("explain")
@click.option(
    "--model",
    "model_dir",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="Trained LAFF model directory (models/NAME).",
)
@click.option(
    "--topics",
    type=click.Path(exists=True, path_type=Path),
    help="Topic file, e.g. topics/2022.txt.",
)
@click.option(
    "--html", "html_out", type=click.Path(path_type=Path), help="Write the explanation page here."
)
@click.option("--collection", type=click.Path(exists=True, path_type=Path),
              help="Collection directory (its shots.h5) or feature store to take shots from; default: the model's training collection.")  # fmt: skip
@click.option("--top", type=int, default=5, show_default=True, help="Shots explained per topic.")
@click.option("--sample", type=int, default=20000, show_default=True,
              help="Rank a seeded sample of this many shots (0: all).")  # fmt: skip
@click.option("--split", type=click.Choice(["train", "val", "test"]), default=None,
              help="Print the features ranked by average weight over this split of the training collection.")  # fmt: skip
@click.option(
    "--run",
    "run_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Explain this run's own top shots (Parquet, TREC or XML) instead of a sample.",
)
@click.option(
    "--qrels",
    type=click.Path(dir_okay=False, path_type=Path),
    help="NIST qrels or full truth: mark each shot relevant, not relevant or unjudged.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the shot sample.")
@device_option()
@json_option()
def command(
    model_dir: Path,
    topics: Path | None,
    html_out: Path | None,
    collection: Path | None,
    top: int,
    sample: int,
    split: str | None,
    run_path: Path | None,
    qrels: Path | None,
    seed: int,
    device: str,
    as_json: bool,
) -> None:
    """Show which features a LAFF model trusts: per topic and head, and for the topic's top shots.

    \b
    Examples:
      avs explain --model models/demo --topics topics/2022.txt --html runs/explain.html
      avs explain --model models/demo --split test
      avs explain --model models/demo --topics topics/2022.txt --html runs/explain.html \\
          --run runs/sim-laff-2022.parquet --qrels collections/sim/qrels/2022.qrels
    """
    if topics is None and split is None:
        raise AvsError("nothing to explain: give --topics (with --html) and/or --split")
    if topics is not None and html_out is None:
        raise AvsError("--topics needs --html OUT.html")
    from avs.model.io import load_model
    from avs.train.explain import require_weights

    model = load_model(model_dir, device)
    require_weights(model)  # before anything is read or written
    if split is not None:
        _print_ranking(model, model_dir, collection, split)
    if topics is not None:
        from avs.io.atomic import write_text_atomic
        from avs.io.topics import read_topics
        from avs.train.explain import (
            explain_topics,
            read_judgements,
            render_html,
            run_rankings,
            shots_for_model,
        )

        store = shots_for_model(collection, model_dir)
        items = read_topics(topics)
        run = run_rankings(run_path) if run_path is not None else None
        marks = read_judgements(qrels) if qrels is not None else None
        explanations = explain_topics(
            model, items, store, top=top, sample=sample, seed=seed, run=run, judgements=marks
        )
        if run_path is not None:
            note = f"the top {top} shots of run {run_path}, features from {store}"
        else:
            note = f"shots from {store}" + (f" (sample of {sample})" if sample else "")
        if qrels is not None:
            note += f"; judgements from {qrels}"
        page = render_html(explanations, model, f"LAFF explanations: {topics.name}", note)
        write_text_atomic(html_out, page)
        if as_json:
            echo_json({"html": str(html_out), "topics": len(items), "shots": top})
        else:
            click.echo(f"wrote {html_out} ({len(items)} topics, {top} shots each)")


def _print_ranking(model, model_dir: Path, collection: Path | None, split: str) -> None:  # noqa: ANN001
    from rich.console import Console
    from rich.table import Table

    from avs.io.textfile import printable
    from avs.train.explain import feature_ranking

    avg = feature_ranking(model, model_dir, collection, split)
    table = Table(title=f"average attention over the {split} split")
    for col in ("side", "rank", "feature", "weight"):
        table.add_column(col)
    for side, ws in avg.items():
        for i, (name, w) in enumerate(ws.items(), 1):
            table.add_row(side, str(i), printable(name), f"{w:.3f}")
    Console().print(table)
