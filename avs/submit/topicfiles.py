"""Which topic file a year's runs must answer, when the user names none."""

from __future__ import annotations

from pathlib import Path

from avs.errors import AvsError
from avs.resources import resource_path
from avs.trecvid import PROGRESS, year_spec


def default_topics_file(year: int, task: str | None = None, workspace=None) -> Path:
    """The topic file for ``year``'s main task (``task`` "M" or None) or the progress
    topics (``task`` "P").

    Looked up in order: ``topics`` under ``[years.YEAR]`` (``[years.progress]``) of the
    workspace, then ``topics/<file>`` next to the workspace file, then the topic files
    avs ships (avs.topics; the file names come from avs.trecvid). AvsError when none
    exists."""
    progress = task == "P"
    if workspace is not None:
        configured = workspace.year_config(None if progress else year).topics
        if configured is not None:
            return Path(configured)
    try:
        spec = year_spec(PROGRESS if progress else year)
    except ValueError as err:
        raise AvsError(str(err)) from None
    name = spec.topics_file or f"{year}.txt"
    tried = []
    if workspace is not None:
        candidate = Path(workspace.root) / "topics" / name
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    if spec.topics_file is not None:
        return resource_path("topics", spec.topics_file)
    tried.append(f"the topic files avs ships (none for {spec.key}: NIST has not published them)")
    what = "progress topics" if progress else f"{year} topics"
    raise AvsError(
        f"no topic file for the {what} (looked for {', '.join(tried)}); "
        f"pass --topics FILE or set topics under [years.{spec.key}] in avs.toml"
    )
