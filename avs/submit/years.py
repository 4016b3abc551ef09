"""What a TRECVID AVS run file may contain in a given year.

The run attributes grew over the years: class R (relevance feedback) from 2018,
task (main/progress) and novelty from 2019, algo from 2023. Each rule set has its own
DTD in ``templates/dtd/`` (shipped as package resources); the collection decides the form
of a valid shot id. The facts come from the one TRECVID table, :mod:`avs.trecvid`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from avs.errors import AvsError
from avs.resources import resource_path
from avs.trecvid import DOCTYPE_URL, FIRST_YEAR, year_from_doctype, year_spec

__all__ = ["ROOT", "YearRules", "rules_for_year", "year_from_doctype"]

ROOT = "videoAdhocSearchResults"
LAST_YEAR = 2099  # a later "year" is a typo, not a TRECVID


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
    """The rule set of ``year`` (from the TRECVID table, avs.trecvid); AvsError for a year
    before AVS existed."""
    if year < FIRST_YEAR or year > LAST_YEAR:
        raise AvsError(f"no TRECVID AVS rules for year {year} (AVS runs from {FIRST_YEAR})")
    spec = year_spec(year)
    return YearRules(
        year, resource_path("dtd", spec.dtd), spec.collection, spec.shot_pattern, spec.attributes
    )
