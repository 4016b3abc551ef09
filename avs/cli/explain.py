"""``avs explain``: LAFF attention weights per topic, head and feature (HTML), or the
feature ranking averaged over a training split."""

from __future__ import annotations

from pathlib import Path

import click

from avs.device import DEVICES
from avs.errors import AvsError


def _shots_store(collection: Path | None, model_dir: Path) -> Path:
    """The shot feature store: --collection's shots.h5, else the training collection's."""
    if collection is None:
        from avs.model.io import read_model_config

        trained_on = read_model_config(model_dir).get("training", {}).get("collection")
        if not trained_on:
            raise AvsError("give --collection: the model does not record its collection")
        collection = Path(trained_on)
    if collection.is_file() or (collection.is_dir() and not (collection / "shots.h5").exists()):
        return collection  # a feature store (HDF5 file or BigFile / FeatureData directory)
    store = collection / "shots.h5"
    if not store.exists():
        raise AvsError(f"{collection}: no shots.h5; pass the shot feature store with --collection")
    return store


def _is_store(path: Path) -> bool:
    return path.is_file() or (path / "feature.bin").exists() or path.name == "FeatureData"


@click.command("explain")
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, path_type=Path))
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
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
def command(
    model_dir: Path,
    topics: Path | None,
    html_out: Path | None,
    collection: Path | None,
    top: int,
    sample: int,
    split: str | None,
    seed: int,
    device: str,
) -> None:
    """Show which features a LAFF model trusts: per topic and head, and for the topic's top shots."""
    if topics is None and split is None:
        raise AvsError("nothing to explain: give --topics (with --html) and/or --split")
    if topics is not None and html_out is None:
        raise AvsError("--topics needs --html OUT.html")
    from avs.model.io import load_model

    model = load_model(model_dir, device)
    if split is not None:
        _print_ranking(model, model_dir, collection, split)
    if topics is not None:
        from avs.io.atomic import write_text_atomic
        from avs.io.topics import read_topics
        from avs.train.explain import explain_topics, render_html

        store = _shots_store(collection, model_dir)
        items = read_topics(topics)
        explanations = explain_topics(model, items, store, top=top, sample=sample, seed=seed)
        note = f"shots from {store}" + (f" (sample of {sample})" if sample else "")
        page = render_html(explanations, model, f"LAFF explanations: {topics.name}", note)
        write_text_atomic(html_out, page)
        click.echo(f"wrote {html_out} ({len(items)} topics, {top} shots each)")


def _print_ranking(model, model_dir: Path, collection: Path | None, split: str) -> None:  # noqa: ANN001
    from rich.console import Console
    from rich.table import Table

    from avs.model.io import read_model_config
    from avs.train.data import load_training_data
    from avs.train.explain import average_weights

    root = read_model_config(model_dir).get("training", {}).get("collection")
    if collection is not None and collection.is_dir() and not _is_store(collection):
        root = collection
    if not root:
        raise AvsError("give --collection: the model does not record its training collection")
    data = load_training_data(root, model.video_features, model.frame_features)
    avg = average_weights(model, data, split)
    table = Table(title=f"average attention over the {split} split")
    for col in ("side", "rank", "feature", "weight"):
        table.add_column(col)
    for side, ws in avg.items():
        for i, (name, w) in enumerate(ws.items(), 1):
            table.add_row(side, str(i), name, f"{w:.3f}")
    Console().print(table)
