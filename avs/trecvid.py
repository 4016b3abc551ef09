"""TRECVID AVS facts, one table: which collection, topics, DTD and run attributes a year has.

Everything else in avs (workspace defaults, ``avs eval``'s year inference, ``avs submit``'s
rules, the shipped topic files) reads this module; adding a year is one row of
:data:`YEARS`. Sources: NIST's AVS task pages for each year (tv2016 .. tv2025) and the
run DTDs (docs/trecvid-formats.md summarises them). This module imports nothing but the standard
library, so every layer may use it.

Facts as the public guidelines give them:

- 2016-2018: IACC.3, 30 main topics a year (501-590).
- 2019-2021: V3C1, main topics 611-680, and 20 progress topics (591-610) submitted every
  year and scored over the years; ``task`` (M/P) and ``novelty`` (N/C) attributes from 2019.
- 2022-2024: V3C2, 30 new topics in 2022 (701-730), 20 in 2023 (731-750) and 20 in 2024
  (751-770), plus a progress set of 20 common queries whose numbers are not in the public
  files we ship; the ``algo`` attribute (C concept-based, V other) from 2023.
- 2025: V3C2 again, re-running the 2024 main queries (751-770) to measure progress.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "COLLECTIONS",
    "DOCTYPE_URL",
    "FIRST_YEAR",
    "PROGRESS",
    "YEARS",
    "YearSpec",
    "check_pid",
    "collection_for_year",
    "run_id",
    "topic_years",
    "year_from_doctype",
    "year_spec",
]

FIRST_YEAR = 2016  # AVS started at TRECVID 2016
#: NIST's DTD URL for a year's run files, as the DOCTYPE writes it.
DOCTYPE_URL = "https://www-nlpir.nist.gov/projects/tv{year}/dtds/videoAdhocSearchResults.dtd"
# The year a DOCTYPE's system URL names: ".../tv2022/dtds/..." (or "tv22").
_URL_YEAR = re.compile(r"(?i)(?<![a-z])tv(20\d\d|\d\d)(?!\d)")
PROGRESS = "progress"  # key of the V3C1 progress topics (591-610, 2019-2021)

#: Collections and the form a whole shot id takes in each: V3C pads the video number to
#: 5 digits, IACC.3 does not pad it.
COLLECTIONS: dict[str, re.Pattern[str]] = {
    "IACC.3": re.compile(r"shot\d+_\d+"),
    "V3C1": re.compile(r"shot\d{5}_\d+"),
    "V3C2": re.compile(r"shot\d{5}_\d+"),
}


@dataclass(frozen=True)
class YearSpec:
    """One TRECVID year (or the progress topic set) as the AVS guidelines define it."""

    key: str  # "2016" ... "2025", or "progress"
    collection: str  # a key of COLLECTIONS
    topics: range  # AVS topic numbers of the year's main task (progress: the progress set)
    topics_file: str | None  # name of the topic file avs ships (avs/topics/...), if public
    dtd: str | None  # our DTD for the year's run files (avs/templates/dtd/...)
    attributes: tuple[str, ...] = ()  # run attributes in the order the XML writes them
    progress: str | None = None  # key of the progress topic set scored this year, if any
    reruns: str | None = None  # the year whose main topics this year re-runs (2025: 2024)

    @property
    def year(self) -> int | None:
        """The year as a number (None for the progress set)."""
        return int(self.key) if self.key.isdigit() else None

    @property
    def shot_pattern(self) -> re.Pattern[str]:
        """The form of a valid shot id in this year's collection (use ``fullmatch``)."""
        return COLLECTIONS[self.collection]

    def has(self, attribute: str) -> bool:
        """Whether run files of this year carry ``attribute`` (e.g. "task", "algo")."""
        return attribute in self.attributes


_A2016 = ("trType", "class", "pid", "priority", "desc")
_A2019 = ("trType", "class", "task", "novelty", "pid", "priority", "desc")
_A2023 = ("trType", "class", "task", "novelty", "algo", "pid", "priority", "desc")

#: Every AVS year, oldest first, plus the V3C1 progress set. One row per year.
YEARS: dict[str, YearSpec] = {
    spec.key: spec
    for spec in (
        YearSpec("2016", "IACC.3", range(501, 531), "2016.txt", "avs-2016.dtd", _A2016),
        YearSpec("2017", "IACC.3", range(531, 561), "2017.txt", "avs-2016.dtd", _A2016),
        YearSpec("2018", "IACC.3", range(561, 591), "2018.txt", "avs-2018.dtd", _A2016),
        YearSpec(PROGRESS, "V3C1", range(591, 611), "progress-2019-2021.txt", None),
        YearSpec("2019", "V3C1", range(611, 641), "2019.txt", "avs-2019.dtd", _A2019, PROGRESS),
        YearSpec("2020", "V3C1", range(641, 661), "2020.txt", "avs-2019.dtd", _A2019, PROGRESS),
        YearSpec("2021", "V3C1", range(661, 681), "2021.txt", "avs-2019.dtd", _A2019, PROGRESS),
        YearSpec("2022", "V3C2", range(701, 731), "2022.txt", "avs-2019.dtd", _A2019),
        YearSpec("2023", "V3C2", range(731, 751), None, "avs-2023.dtd", _A2023),
        YearSpec("2024", "V3C2", range(751, 771), None, "avs-2023.dtd", _A2023),
        YearSpec("2025", "V3C2", range(751, 771), None, "avs-2023.dtd", _A2023, reruns="2024"),
    )
}

_LAST = max(int(key) for key in YEARS if key.isdigit())


def year_spec(year: int | str | None) -> YearSpec:
    """The row for ``year`` (None or "progress": the V3C1 progress set).

    A year after the last row takes the last row's rules (the task has kept V3C2 and the
    2023 attributes since); a year before 2016 raises ValueError."""
    key = PROGRESS if year is None else str(year)
    if key in YEARS:
        return YEARS[key]
    if not key.isdigit() or int(key) < FIRST_YEAR:
        raise ValueError(f"no TRECVID AVS year {year!r} (AVS runs from {FIRST_YEAR})")
    last = YEARS[str(_LAST)]
    return YearSpec(key, last.collection, range(0), None, last.dtd, last.attributes)


def collection_for_year(year: int | None) -> str:
    """The collection a year's topics are scored against (None: the progress topics)."""
    return year_spec(year).collection


def topic_years(number: int) -> list[str]:
    """Keys of the rows whose topics hold ``number`` (2025 re-runs 2024's: both)."""
    return [key for key, spec in YEARS.items() if number in spec.topics]


def year_from_doctype(system_url: str | None) -> int | None:
    """The year a DOCTYPE's system URL names (".../tv2022/..." -> 2022), or None."""
    if not system_url:
        return None
    match = _URL_YEAR.search(system_url)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value >= 100 else 2000 + value


# NIST's run id convention: ``class_task_novelty_trType_pid.YY_priority``, e.g.
# ``F_M_C_D_GodSpeed.21_1``. Years before 2019 have no task or novelty, so those parts
# are left out (``F_D_TEAM.18_1``); algo (2023 on) is not part of the id.
# A pid becomes part of a file name: letters, digits, '_', '-' and '.' only.
_PID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


def check_pid(pid: str) -> str | None:
    """A problem with ``pid`` as a run id / file name part, or None when it is fine."""
    if not pid:
        return "pid is empty"
    if not _PID.fullmatch(pid):
        return f"pid {pid!r} may hold only letters, digits, '_', '-' and '.'"
    return None


def run_id(
    *,
    class_: str,
    tr_type: str,
    pid: str,
    year: int,
    priority: int | str,
    task: str | None = None,
    novelty: str | None = None,
) -> str:
    """The NIST run id of one run, e.g. ``F_M_C_D_GodSpeed.21_1``.

    ``task`` and ``novelty`` are left out when None (years before 2019)."""
    parts = [class_] + [p for p in (task, novelty) if p is not None] + [tr_type, pid]
    return f"{'_'.join(parts)}.{year % 100:02d}_{priority}"
