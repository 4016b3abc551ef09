"""Which topic file a year's runs must answer, when the user names none."""

from __future__ import annotations

from pathlib import Path

from avs.errors import AvsError
from avs.submit.years import REPO_ROOT

PROGRESS_FILE = "progress-2019-2021.txt"  # progress topics 591-610 (task P, 2019-2021)


def default_topics_file(year: int, task: str | None = None, workspace=None) -> Path:
    """The topic file for ``year``'s main task (``task`` "M" or None) or the progress
    topics (``task`` "P").

    Looked up in order: ``topics`` under ``[years.YEAR]`` (``[years.progress]``) of the
    workspace, then ``topics/<year>.txt`` (``topics/progress-2019-2021.txt``) next to
    the workspace file, then in avs's own repository. AvsError when none exists."""
    progress = task == "P"
    if workspace is not None:
        configured = workspace.year_config(None if progress else year).topics
        if configured is not None:
            return Path(configured)
    name = PROGRESS_FILE if progress else f"{year}.txt"
    roots = [] if workspace is None else [Path(workspace.root)]
    roots.append(REPO_ROOT)
    tried = []
    for root in roots:
        candidate = root / "topics" / name
        if candidate.is_file():
            return candidate
        tried.append(str(candidate))
    what = "progress topics" if progress else f"{year} topics"
    key = "progress" if progress else str(year)
    raise AvsError(
        f"no topic file for the {what} (looked for {', '.join(tried)}); "
        f"pass --topics FILE or set topics under [years.{key}] in avs.toml"
    )
