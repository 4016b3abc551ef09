"""``avs convert``: one run between Parquet, TREC run file and submission XML."""

from __future__ import annotations

from pathlib import Path

import click

from avs.cli.options import echo_notes_and_json, json_option
from avs.cli.submit import submission_options

EPILOG = """\b
Examples:
  avs convert runs/fused-2022.parquet runs/fused-2022.trec
  avs convert tv21.RUCMM.trec runs/rucmm-2021.parquet
  avs convert sub.xml#F_M_C_D_TEAM.21_1 runs/team-2021.trec
  avs convert runs/fused-2022.parquet runs/fused.xml --pid TEAM --priority 1 \\
      --tr-type D --class F --task M --novelty C --desc "fused" --elapsed 10
"""


@click.command(name="convert", epilog=EPILOG)
@click.argument("src", metavar="SRC[#RUNID]")
@click.argument("dst", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--tag", help="Run tag of a TREC file (default: the run's tag or name).")
@click.option("--overwrite", is_flag=True, help="Replace DST if it exists.")
@submission_options
@json_option()
def command(
    src: str, dst: Path, tag: str | None, overwrite: bool, as_json: bool, **options
) -> None:
    """Convert the run SRC (Parquet, TREC run file or submission XML) to DST, the format
    chosen by DST's extension: .parquet, .trec/.txt or .xml.

    XML output is a submission: the submission options apply (as for `avs submit`,
    [team] in avs.toml fills what is not given) and it is validated before it is
    written. What the destination format cannot hold is listed, not dropped silently.
    """
    from avs.cli.submit import settings_from_options
    from avs.submit.convert import convert

    result = convert(
        src, dst, settings=settings_from_options(options), tag=tag, overwrite=overwrite
    )
    if echo_notes_and_json(result.notes, result, as_json):
        return
    click.echo(
        f"wrote {result.path} ({result.source_kind} -> {result.kind}): "
        f"{result.topics} topics, {result.shots} shots"
    )
