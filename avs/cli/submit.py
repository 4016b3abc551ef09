"""``avs submit``: runs of any kind -> one validated TRECVID submission XML; ``--check`` any XML.

Options left out come from ``[team]`` in avs.toml. Several runs go into one file; their
priorities are given one per run (``--priority 1 --priority 3``) or as one N, meaning
N, N+1, ... in the order the runs are named. ``--desc`` likewise: once for all runs, or
once per run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from avs.cli.options import echo_json, echo_notes_and_json, json_option
from avs.errors import FormatErrors
from avs.submit.api import ALGOS, NOVELTIES, TASKS, TR_TYPES

CLASSES = ("F", "M", "R")

EPILOG = """\b
Examples:
  avs submit                       # everything from [team] in avs.toml
  avs submit runs/a-2022.parquet runs/fused-2022.parquet --pid TEAM --priority 1 \\
      --tr-type D --class F --task M --novelty C --desc "LAFF" --desc "fused"
  avs submit runs/fused-2022.parquet --elapsed 12 --shots collections/V3C2/shots.txt ...
  avs submit --check runs/F_M_C_D_TEAM.22_1.xml --shots collections/V3C2/shots.txt
"""


def parse_elapsed(text: str | None) -> float | dict[int, float] | None:
    """``"12"`` -> 12.0 (every topic); ``"701=3,702=4.5"`` -> {701: 3.0, 702: 4.5}."""
    if text is None:
        return None
    try:
        if "=" not in text:
            value = float(text)
            if not value >= 0:
                raise ValueError
            return value
        out = {}
        for part in text.split(","):
            topic, _, seconds = part.partition("=")
            out[int(topic)] = float(seconds)
            if not out[int(topic)] >= 0:
                raise ValueError
        return out
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected SECONDS (one value for every topic) or TOPIC=SECONDS,...",
            param_hint="--elapsed",
        ) from None


_OPTIONS = [
    click.option("--pid", help="Team id registered with NIST."),
    click.option(
        "--priority",
        "priorities",
        type=int,
        multiple=True,
        help="1-10; once per run, or once (N, N+1, ... for the runs in order).",
    ),
    click.option("--tr-type", type=click.Choice(TR_TYPES), help="Training type."),
    click.option(
        "--class",
        "class_",
        type=click.Choice(CLASSES),
        help="F automatic, M manually assisted, R relevance feedback (2018 on).",
    ),
    click.option("--task", type=click.Choice(TASKS), help="M main or P progress (2019 on)."),
    click.option(
        "--novelty", type=click.Choice(NOVELTIES), help="N novelty or C common run (2019 on)."
    ),
    click.option("--algo", type=click.Choice(ALGOS), help="C concept-based or V other (2023 on)."),
    click.option("--desc", "descs", multiple=True, help="Run description; once, or once per run."),
    click.option("--year", type=int, help="TRECVID year (default: from the runs' metadata)."),
    click.option(
        "--topics",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Topic file every run must answer (default: the year's).",
    ),
    click.option(
        "--elapsed",
        metavar="SECONDS|TOPIC=SECONDS,...",
        help="Seconds per topic for runs that record none (TREC, fused): one value for "
        "every topic, or one per topic.",
    ),
    click.option(
        "--shots",
        type=click.Path(path_type=Path),
        help="Master shot list (one id per line, a feature store or a collection "
        "directory): every shot id not in it is a problem. Default: [collections.X] shots.",
    ),
]


def submission_options(fn: Callable) -> Callable:
    """The options that say what a submission file holds (shared with `avs convert`)."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def settings_from_options(options: dict[str, Any], runs: tuple = (), out: Path | None = None):
    """A :class:`avs.submit.SubmitSettings` from the parsed submission options."""
    from avs.submit import SubmitSettings

    return SubmitSettings(
        runs=runs,
        pid=options["pid"],
        priorities=options["priorities"],
        tr_type=options["tr_type"],
        class_=options["class_"],
        task=options["task"],
        novelty=options["novelty"],
        algo=options["algo"],
        descs=options["descs"],
        year=options["year"],
        topics=options["topics"],
        out=out,
        elapsed=parse_elapsed(options["elapsed"]),
        shots=options["shots"],
    )


def _summary(result) -> str:
    lines = []
    for run in result.runs:
        lines.append(
            f"run {run.run_id} (priority {run.priority}) from {run.source}: "
            f"{len(run.topics)} topics, {run.items} items, elapsed {run.elapsed} s in all"
        )
        sizes = {n for _, n, _ in run.topics}
        if len(sizes) == 1:  # the usual case: say it once
            lines.append(f"  items per topic: {sizes.pop()} for each of {len(run.topics)} topics")
        else:
            counts = " ".join(f"{t}:{n}" for t, n, _ in run.topics)
            lines.append(f"  items per topic (topic:items): {counts}")
    lines.append(f"checked against: {', '.join(result.topics_files) or '-'}")
    return "\n".join(lines)


@click.command(name="submit", epilog=EPILOG)
@click.argument("runs", nargs=-1, metavar="[RUN[#RUNID]]...")
@submission_options
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output file (default: <runs dir>/<run id>.xml).",
)
@click.option("--dry-run", is_flag=True, help="Validate and print a summary; write nothing.")
@click.option(
    "--check",
    "check_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Validate this XML file instead (exit 0 only if it has no problem).",
)
@json_option()
def command(
    runs: tuple[str, ...],
    out: Path | None,
    dry_run: bool,
    check_path: Path | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Render runs (Parquet, TREC run files, submission XML: whatever `avs eval` reads)
    as TRECVID run XML, validate it (our DTD + NIST's checks), write it.

    Plain `avs submit` takes everything from [team] in avs.toml. Nothing is written
    when any check fails; every problem is listed. One run of an XML file holding
    several is named FILE.xml#RUNID.
    """
    from avs.submit import check, submit

    if check_path is not None:
        if runs:
            raise click.UsageError("--check validates an XML file; do not name runs with it")
        report = check(
            check_path, topics=options["topics"], year=options["year"], shots=options["shots"]
        )
        if not report.ok:
            raise FormatErrors(check_path, report.problems)
        if as_json:
            echo_json(report)
            return
        click.echo(
            f"{check_path}: OK ({len(report.runs)} run(s), {report.year} rules, "
            f"topics from {', '.join(report.topics_files)})"
        )
        return
    result = submit(settings_from_options(options, runs, out), dry_run=dry_run)
    if echo_notes_and_json(result.notes, result, as_json):
        return
    click.echo(_summary(result))
    if result.written:
        click.echo(f"wrote {result.path} (validated, {result.year} rules)")
    else:
        click.echo(f"dry run: would write {result.path} (validated, nothing written)")
