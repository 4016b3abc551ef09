"""``avs index COLLECTION --model models/NAME --out index/NAME``: embed every shot."""

from __future__ import annotations

import json
from pathlib import Path

import click

from avs.cli.options import device_option


@click.command("index")
@click.argument("collection", type=click.Path(path_type=Path))
@click.option(
    "--model",
    "model",
    required=True,
    type=click.Path(path_type=Path),
    help="Trained model directory.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Index directory to create or resume.",
)
@click.option(
    "--shard-rows",
    default=65536,
    type=click.IntRange(min=1),
    show_default=True,
    help="Shots per shard file (and per Dask task).",
)
@click.option(
    "--dtype",
    type=click.Choice(["float16", "float32"]),
    default="float16",
    show_default=True,
    help="Stored embedding type (float16: half the disk and memory).",
)
@device_option()
@click.option("--scheduler", default="", help="Dask scheduler address; default: a LocalCluster.")
@click.option(
    "--allow-nan",
    is_flag=True,
    help="Index shots whose features give NaN/Inf embeddings as zero vectors (default: refuse).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def command(
    collection: Path,
    model: Path,
    out: Path,
    shard_rows: int,
    dtype: str,
    device: str,
    scheduler: str,
    allow_nan: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Embed every shot of a collection with a model (Dask, resumable).

    COLLECTION is a collection directory (its shots.h5 is used) or a feature store.
    Shards already written for the same model are kept.

    \b
    Examples:
      avs index collections/sim --model models/demo --out index/demo
      avs index shots.h5 --model models/laff --out index/laff --scheduler tcp://head:8786
    """
    from avs.cli.progress import progress_bar
    from avs.device import resolve_device
    from avs.search.index import LABEL, run_index

    with progress_bar(quiet, unit="shots") as progress:
        manifest = run_index(
            collection,
            model,
            out,
            shard_rows=shard_rows,
            dtype=dtype,
            device=resolve_device(device),
            scheduler=scheduler,
            progress=progress,
            allow_nan=allow_nan,
        )
    tp = manifest.get("throughput", {})
    if as_json:
        click.echo(json.dumps({"index": str(out), **manifest}, default=str))
        return
    rate = (
        f"embedded {tp['shots']:,} shots at {tp['shots_per_s']:,.0f} shots/s"
        if tp.get("shots_per_s")
        else f"nothing to embed ({LABEL}: all {manifest['n']:,} shots already in the index)"
    )
    click.echo(
        f"index written: {out} ({manifest['n']:,} shots, dim {manifest['dim']}, "
        f"{len(manifest['shards'])} shard(s), {manifest['dtype']}); {rate}"
    )
