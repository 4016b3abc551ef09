"""``avs index COLLECTION --model models/NAME --out index/NAME``: embed every shot."""

from __future__ import annotations

import contextlib
from pathlib import Path

import click

from avs.device import DEVICES


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
    show_default=True,
    help="Shots per shard file (and per Dask task).",
)
@click.option(
    "--dtype", type=click.Choice(["float16", "float32"]), default="float16", show_default=True
)
@click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True)
@click.option("--scheduler", default="", help="Dask scheduler address; default: a LocalCluster.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def command(
    collection: Path,
    model: Path,
    out: Path,
    shard_rows: int,
    dtype: str,
    device: str,
    scheduler: str,
    quiet: bool,
) -> None:
    """Embed every shot of a collection with a model (Dask, resumable).

    COLLECTION is a collection directory (its shots.h5 is used) or a feature store.
    Shards already written for the same model are kept."""
    from avs.device import resolve_device
    from avs.search.cluster import dask_client
    from avs.search.index import build_index, features_path, read_manifest

    dev = resolve_device(device)
    features_path(collection)  # fail before starting a cluster
    with contextlib.ExitStack() as stack:
        bar = None
        if not quiet:
            from rich.console import Console
            from rich.progress import Progress

            bar = stack.enter_context(Progress(console=Console(stderr=True)))
            task = bar.add_task("embedding shots", total=None)

        def progress(done: int, total: int) -> None:
            if bar is not None:
                bar.update(task, completed=done, total=total)

        from avs.io.h5store import open_features

        with open_features(features_path(collection)) as store:
            shards = -(-store.n // max(1, shard_rows))
        client, threads = stack.enter_context(dask_client(scheduler, dev, shards))
        build_index(
            collection,
            model,
            out,
            shard_rows=shard_rows,
            dtype=dtype,
            device=dev,
            client=client,
            threads=threads,
            progress=progress,
        )
    manifest = read_manifest(out)
    tp = manifest.get("throughput", {})
    click.echo(
        f"index written: {out} ({manifest['n']:,} shots, dim {manifest['dim']}, "
        f"{len(manifest['shards'])} shard(s), {manifest['dtype']}); "
        f"{tp.get('shots_per_s')} shots/s, transform at {tp.get('gemm_fraction')} of GEMM peak"
    )
