"""``avs features info|convert``: inspect and convert feature stores."""

from __future__ import annotations

import json
from pathlib import Path

import click

from avs.cli.progress import progress_bar
from avs.features import FeatureInfo, convert_features, feature_info


@click.group("features")
def command() -> None:
    """Inspect and convert feature stores (HDF5 <-> BigFile / FeatureData).

    \b
    Examples:
      avs features info collections/sim/shots.h5
      avs features convert collections/sim/shots.h5 /tmp/bigfiles
    """


@command.command("info")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--no-scan", is_flag=True, help="Skip the NaN/Inf scan (reads every row).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def info_cmd(path: Path, no_scan: bool, as_json: bool, quiet: bool) -> None:
    """Show ids, extractors, dims, dtype, NaN/Inf counts of the store at PATH
    (an HDF5 file, a BigFile directory or a FeatureData directory of BigFiles).

    \b
    Examples:
      avs features info collections/sim/shots.h5
      avs features info VisualSearch/v3c1/FeatureData --no-scan --json
    """
    with progress_bar(quiet) as update:
        info = feature_info(path, scan=not no_scan, progress=update)
    if as_json:
        # default=str: attributes from other tools may hold values JSON has no type for
        click.echo(json.dumps(info.to_dict(), indent=2, default=str))
    else:
        click.echo(_format_info(info, scanned=not no_scan))


def _format_info(info: FeatureInfo, scanned: bool) -> str:
    kinds = {"hdf5": "HDF5 feature store", "bigfile": "BigFile", "featuredata": "FeatureData"}
    lines = [
        f"path:       {info.path}",
        f"format:     {kinds[info.kind]}",
        f"simulated:  {'yes' if info.simulated else 'no'}",
        f"ids:        {info.n:,}",
        f"first ids:  {', '.join(info.first_ids)}{', ...' if info.n > len(info.first_ids) else ''}",
        f"extractors: {len(info.extractors)}",
    ]
    if info.attrs.get("collection"):
        lines.insert(3, f"collection: {info.attrs['collection']}")
    header = ["extractor", "dim", "dtype", "frames"]
    if scanned:
        header += ["NaN", "Inf", "bad rows", "first bad row"]
    rows = [header]
    for e in info.extractors:
        row = [e.name, str(e.dim), e.dtype, "-" if e.frame_dim is None else f"dim {e.frame_dim}"]
        if scanned:
            first = "-" if e.first_bad_row is None else str(e.first_bad_row)
            row += [f"{e.nan:,}", f"{e.inf:,}", f"{e.bad_rows:,}", first]
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines.append("")
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


@command.command("convert")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.argument("dst", type=click.Path(path_type=Path))
@click.option(
    "--dtype",
    type=click.Choice(["float16", "float32"]),
    default=None,
    help="Values in an HDF5 destination (default: the source's, float32 for BigFile).",
)
@click.option("--allow-nan", is_flag=True, help="Copy rows holding NaN/Inf instead of refusing.")
@click.option(
    "--overwrite",
    "--force",
    "force",
    is_flag=True,
    help="Replace DST if it exists (--force is the old name).",
)
@click.option("--block-rows", type=click.IntRange(min=1), default=None, help="Rows per block.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def convert_cmd(
    src: Path,
    dst: Path,
    dtype: str | None,
    allow_nan: bool,
    force: bool,
    block_rows: int | None,
    quiet: bool,
    as_json: bool,
) -> None:
    """Convert SRC to DST, streaming; DST is written atomically.

    DST ending in .h5 gets an HDF5 store; any other DST becomes a directory with one
    BigFile per extractor (DST/<name>/feature.bin, id.txt, shape.txt).

    \b
    Examples:
      avs features convert shots.h5 bigfiles/          # HDF5 -> one BigFile per extractor
      avs features convert VisualSearch/v3c1/FeatureData shots.h5 --dtype float16
    """
    with progress_bar(quiet) as update:
        result = convert_features(
            src,
            dst,
            allow_nan=allow_nan,
            dtype=dtype,
            overwrite=force,
            block_rows=block_rows,
            progress=update,
        )
    if as_json:
        click.echo(json.dumps({"dst": str(result.dst), "rows": result.n, "dtype": result.dtype,
                               "extractors": result.extractors,
                               "skipped_frames": list(result.skipped_frames)}))  # fmt: skip
        return
    dims = ", ".join(f"{k} ({v})" for k, v in result.extractors.items())
    click.echo(f"wrote {result.dst}: {result.n:,} rows, {result.dtype}, extractors {dims}")
    for name in result.skipped_frames:
        click.echo(
            f"note: frame-level features of {name!r} were not converted (BigFile holds one "
            "matrix per extractor)",
            err=True,
        )
