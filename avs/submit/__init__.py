"""TRECVID run submission XML: render from Parquet runs, validate as NIST does.

``submit(SubmitSettings(...))`` writes a validated file; ``check(path)`` validates any
file. Modules: ``years`` (rules per year), ``runid`` (NIST run ids), ``render``
(Jinja), ``validate`` (DTD + NIST checks), ``topicfiles`` (default topic files).
"""

from avs.submit.api import RunSummary, SubmitResult, SubmitSettings, check, submit
from avs.submit.validate import CheckReport

__all__ = ["CheckReport", "RunSummary", "SubmitResult", "SubmitSettings", "check", "submit"]
