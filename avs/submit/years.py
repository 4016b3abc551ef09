"""What a TRECVID AVS run file may contain in a given year.

The run attributes grew over the years: class R (relevance feedback) from 2018,
task (main/progress) and novelty from 2019, algo from 2023. Each rule set has its own
DTD in ``templates/dtd/``; the collection decides the form of a valid shot id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from avs.errors import AvsError

FIRST_YEAR = 2016  # AVS started at TRECVID 2016
ROOT = "videoAdhocSearchResults"
DOCTYPE_URL = "https://www-nlpir.nist.gov/projects/tv{year}/dtds/videoAdhocSearchResults.dtd"
# The year a DOCTYPE's system URL names: ".../tv2022/dtds/..." (or "tv22").
_URL_YEAR = re.compile(r"(?i)(?<![a-z])tv(20\d\d|\d\d)(?!\d)")

# Repository root (editable install): templates/ and topics/ live there.
REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = REPO_ROOT / "templates"

# Shot ids: V3C pads the video number to 5 digits, IACC.3 does not pad it.
_SHOT_V3C = re.compile(r"shot\d{5}_\d+")
_SHOT_IACC = re.compile(r"shot\d+_\d+")


@dataclass(frozen=True)
class YearRules:
    """The rules one year's run files follow."""

    year: int
    dtd: Path  # our DTD for this year's rule set
    collection: str  # IACC.3, V3C1 or V3C2 (progress topics are V3C1 too)
    shot_pattern: re.Pattern[str]  # a whole shot id must match (fullmatch)
    attributes: tuple[str, ...]  # run attributes in the order we write them

    @property
    def doctype_url(self) -> str:
        """NIST's DTD URL for this year, as written in the DOCTYPE."""
        return DOCTYPE_URL.format(year=self.year)

    def has(self, attribute: str) -> bool:
        """Whether runs of this year carry ``attribute`` (e.g. "task", "algo")."""
        return attribute in self.attributes


def rules_for_year(year: int) -> YearRules:
    """The rule set of ``year``; AvsError for a year before AVS existed."""
    if year < FIRST_YEAR or year > 2099:
        raise AvsError(f"no TRECVID AVS rules for year {year} (AVS runs from {FIRST_YEAR})")
    attrs = ["trType", "class"]
    if year >= 2019:
        attrs += ["task", "novelty"]
    if year >= 2023:
        attrs.append("algo")
    attrs += ["pid", "priority", "desc"]
    if year <= 2017:
        dtd = "avs-2016.dtd"
    elif year == 2018:
        dtd = "avs-2018.dtd"
    elif year <= 2022:
        dtd = "avs-2019.dtd"
    else:
        dtd = "avs-2023.dtd"
    if year <= 2018:
        collection, pattern = "IACC.3", _SHOT_IACC
    elif year <= 2021:
        collection, pattern = "V3C1", _SHOT_V3C
    else:
        collection, pattern = "V3C2", _SHOT_V3C
    return YearRules(year, TEMPLATES / "dtd" / dtd, collection, pattern, tuple(attrs))


def year_from_doctype(system_url: str | None) -> int | None:
    """The year a DOCTYPE's system URL names (".../tv2022/..." -> 2022), or None."""
    if not system_url:
        return None
    match = _URL_YEAR.search(system_url)
    if match is None:
        return None
    value = int(match.group(1))
    return value if value >= 100 else 2000 + value
