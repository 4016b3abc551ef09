"""``avs submit``: Parquet runs -> one validated TRECVID submission XML; ``--check`` any XML.

Options left out come from ``[team]`` in avs.toml. Several runs go into one file; their
priorities are given one per run (``--priority 1 --priority 3``) or as one N, meaning
N, N+1, ... in the order the runs are named. ``--desc`` likewise: once for all runs, or
once per run.
"""

from __future__ import annotations

from pathlib import Path

import click

from avs.errors import FormatErrors


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


@click.command(name="submit")
@click.argument("runs", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pid", help="Team id registered with NIST.")
@click.option(
    "--priority",
    "priorities",
    type=int,
    multiple=True,
    help="1-10; once per run, or once (N, N+1, ... for the runs in order).",
)
@click.option("--tr-type", help="Training type: A, D, E or F.")
@click.option("--class", "class_", help="F automatic, M manually assisted, R relevance feedback.")
@click.option("--task", help="M main or P progress (2019 on).")
@click.option("--novelty", help="N novelty or C common run (2019 on).")
@click.option("--algo", help="C concept-based or V other (2023 on).")
@click.option("--desc", "descs", multiple=True, help="Run description; once, or once per run.")
@click.option("--year", type=int, help="TRECVID year (default: from the runs' metadata).")
@click.option(
    "--topics",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Topic file every run must answer (default: the year's).",
)
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
def command(
    runs: tuple[Path, ...],
    pid: str | None,
    priorities: tuple[int, ...],
    tr_type: str | None,
    class_: str | None,
    task: str | None,
    novelty: str | None,
    algo: str | None,
    descs: tuple[str, ...],
    year: int | None,
    topics: Path | None,
    out: Path | None,
    dry_run: bool,
    check_path: Path | None,
) -> None:
    """Render runs as TRECVID run XML, validate it (our DTD + NIST's checks), write it.

    Plain `avs submit` takes everything from [team] in avs.toml. Nothing is written
    when any check fails; every problem is listed.
    """
    from avs.submit import SubmitSettings, check, submit

    if check_path is not None:
        if runs:
            raise click.UsageError("--check validates an XML file; do not name runs with it")
        report = check(check_path, topics=topics, year=year)
        if not report.ok:
            raise FormatErrors(check_path, report.problems)
        click.echo(
            f"{check_path}: OK ({len(report.runs)} run(s), {report.year} rules, "
            f"topics from {', '.join(report.topics_files)})"
        )
        return
    settings = SubmitSettings(
        runs=runs,
        pid=pid,
        priorities=priorities,
        tr_type=tr_type,
        class_=class_,
        task=task,
        novelty=novelty,
        algo=algo,
        descs=descs,
        year=year,
        topics=topics,
        out=out,
    )
    result = submit(settings, dry_run=dry_run)
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(_summary(result))
    if result.written:
        click.echo(f"wrote {result.path} (validated, {result.year} rules)")
    else:
        click.echo(f"dry run: would write {result.path} (validated, nothing written)")
