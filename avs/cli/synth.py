"""`avs synth`: generate a simulated V3C-like collection with known ground truth."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click


@click.command(name="synth")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--topics",
    "topic_files",
    multiple=True,
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Real topic file (repeatable); its year comes from the name: topics/2022.txt -> 2022.",
)
@click.option(
    "--shots", type=int, default=100_000, show_default=True, help="Shots in the collection."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--difficulty",
    type=float,
    default=1.0,
    show_default=True,
    help="Scales extractor noise, failure rates and missed detections.",
)
@click.option(
    "--train-videos",
    type=int,
    default=4000,
    show_default=True,
    help="Captioned training videos (MSR-VTT-like).",
)
@click.option(
    "--captions", type=int, default=5, show_default=True, help="Captions per training video."
)
@click.option(
    "--overwrite",
    "--force",
    "overwrite",
    is_flag=True,
    help="Replace an existing collection directory (--force is the old name).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print collection.json instead of a summary.")
def command(
    out: Path,
    topic_files: tuple[Path, ...],
    shots: int,
    seed: int,
    difficulty: float,
    train_videos: int,
    captions: int,
    overwrite: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Write a SIMULATED collection to OUT: shots.h5, train/, qrels/, truth/ and
    collection.json (docs/design.md). Same seed, same files.

    \b
    Examples:
      avs synth collections/sim --topics topics/2021.txt --topics topics/2022.txt
      avs synth /tmp/small --topics topics/2022.txt --shots 20000 --seed 3 --overwrite
    """
    if "numpy" not in sys.modules:
        # A fresh `avs synth` process: one BLAS thread, as synth runs its own threads
        # (works without threadpoolctl; see avs.synth.extractors.single_threaded_libraries).
        for var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(var, "1")
    from avs.cli.progress import progress_bar
    from avs.synth.collection import synthesize

    start = time.perf_counter()
    with progress_bar(quiet) as report:
        path = synthesize(
            out,
            topic_files,
            shots=shots,
            seed=seed,
            difficulty=difficulty,
            train_videos=train_videos,
            captions_per_video=captions,
            overwrite=overwrite,
            progress=report,
        )
    elapsed = time.perf_counter() - start
    meta = json.loads((path / "collection.json").read_text(encoding="utf-8"))
    if as_json:
        click.echo(json.dumps(meta, indent=2))
        return
    click.echo(
        f"simulated collection {path}: {meta['shots']} shots in {meta['videos']} videos, "
        f"{meta['train_videos']} training videos, extractors "
        + ", ".join(f"{k} {v}" for k, v in meta["extractors"].items())
        + f"; {elapsed:.1f} s ({meta['shots'] / elapsed:,.0f} shots/s)"
    )
    for year, counts in meta["relevant"].items():
        values = sorted(counts.values())
        click.echo(
            f"  {year}: {len(values)} topics, relevant shots per topic "
            f"{values[0]}-{values[-1]} (median {values[len(values) // 2]}), "
            f"qrels {meta['years'][year]['qrels']}"
        )
