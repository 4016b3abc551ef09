"""Load any kind of run (our Parquet, a TREC run file, submission XML) as sample_eval sees it.

The kind is decided by content first (Parquet magic ``PAR1``, a leading ``<`` for XML),
then by extension; everything else is read as a 6-field TREC run. Every run ends up as
topic id ("1" + AVS number, as in qrels) -> [(shot, score), ...] in file order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from avs.errors import AvsError, short
from avs.io.records import RunRecord, avs_topic, qrels_topic
from avs.io.textfile import check_regular
from avs.trecvid import YEARS

RunKind = Literal["parquet", "trec", "xml"]

#: TRECVID AVS topic numbers per year (main task; "progress" = V3C1 progress topics),
#: from the one TRECVID table. 2025 re-runs 2024's topics, so a run of those numbers is
#: taken as 2024 unless its metadata says otherwise.
YEAR_TOPICS: dict[str, range] = {key: spec.topics for key, spec in YEARS.items()}


@dataclass(frozen=True)
class LoadedRun:
    """A run ready for scoring, with where it came from."""

    name: str
    path: Path
    kind: RunKind
    topics: dict[str, list[tuple[str, float]]]  # qrels topic id -> (shot, score) in file order
    meta: dict[str, Any] = field(default_factory=dict)
    simulated: bool | None = None  # None: the file does not say (TREC and XML runs)
    year: str | None = None  # from metadata, else from the topic numbers

    @property
    def provenance(self) -> str:
        """'simulated', 'real' or 'unknown' (runs without avs metadata)."""
        if self.simulated is None:
            return "unknown"
        return "simulated" if self.simulated else "real"


def infer_year(topic_ids: Iterable[str]) -> str | None:
    """The TRECVID year whose topic range holds most of ``topic_ids`` (qrels-style ids)."""
    votes: dict[str, int] = {}
    for topic in topic_ids:
        try:
            number = avs_topic(topic)
        except ValueError:
            continue
        for year, numbers in YEAR_TOPICS.items():
            if number in numbers:
                votes[year] = votes.get(year, 0) + 1
    return max(votes, key=lambda y: votes[y]) if votes else None


def sniff_kind(path: Path) -> RunKind | Literal["json"]:
    """Decide a file's kind from its first bytes, then its extension."""
    check_regular(path, "run")  # a FIFO would block the read below forever
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as err:
        raise AvsError(f"{path}: cannot read the run file ({err.strerror})") from None
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if head.startswith(b"PAR1") or path.suffix == ".parquet":
        return "parquet"
    if stripped.startswith(b"<") or path.suffix == ".xml":
        return "xml"
    if stripped.startswith(b"{") or path.suffix == ".json":
        return "json"
    return "trec"


def _group(records: Iterable[RunRecord]) -> dict[str, list[tuple[str, float]]]:
    """Records -> topic id -> [(shot, score), ...], file order kept (XML runs)."""
    from avs.io.trecrun import group_by_topic

    records = list(records)
    return group_by_topic(
        [r.topic for r in records], [r.shot for r in records], [r.score for r in records]
    )


def _load_parquet(path: Path) -> LoadedRun:
    from avs.io.runs import read_run  # pyarrow is imported only for Parquet runs

    run = read_run(path)
    topics: dict[str, list[tuple[str, float]]] = {}
    for topic, shot, score in zip(
        run.topic.tolist(), run.shot_id.tolist(), run.score.tolist(), strict=True
    ):
        topics.setdefault(qrels_topic(topic), []).append((shot, score))
    year = run.meta.get("year")
    return LoadedRun(
        name=run.name,
        path=path,
        kind="parquet",
        topics=topics,
        meta=dict(run.meta),
        simulated=bool(run.meta.get("simulated", False)),
        year=str(year) if year is not None else infer_year(topics),
    )


def _load_trec(path: Path) -> LoadedRun:
    from avs.io.trecrun import read_trec_topics

    topics = read_trec_topics(path)
    return LoadedRun(path.name, path, "trec", topics, year=infer_year(topics))


def _load_xml(path: Path) -> list[LoadedRun]:
    from avs.io.xmlrun import read_xml_runs

    loaded = []
    for xml_run in read_xml_runs(path):
        topics = _group(xml_run.records)
        year = str(xml_run.year) if xml_run.year else infer_year(topics)
        meta = {"attributes": dict(xml_run.attributes), "line": xml_run.line}
        loaded.append(LoadedRun(xml_run.run_id, path, "xml", topics, meta, None, year))
    return loaded


def split_run_address(spec: str | Path) -> tuple[Path, str | None]:
    """``"sub.xml#RUNID"`` -> (Path("sub.xml"), "RUNID"): one run of a submission XML
    holding several, named by the NIST run id ``avs eval`` prints. A path that exists as
    written (even with a '#' in its name) is taken whole. AvsError for an empty id or no
    file before the '#'."""
    text = str(spec)
    path = Path(text)
    if path.exists() or "#" not in text:
        return path, None
    head, _, run_id = text.rpartition("#")
    if not head or not run_id:
        raise AvsError(
            f"{short(text)}: expected FILE.xml#RUNID (a file, '#', the run id of one of its runs)"
        )
    return Path(head), run_id


def load_run_address(spec: str | Path) -> list[LoadedRun]:
    """The runs ``spec`` names: every run of a file, or with ``FILE.xml#RUNID`` the one
    run of that id (an unknown id is an error listing the ids the file holds)."""
    path, run_id = split_run_address(spec)
    if run_id is not None and (kind := sniff_kind(path)) != "xml":
        raise AvsError(
            f"{path}#{short(run_id)}: '#RUNID' picks one run of a submission XML; "
            f"{path} is a {KIND_NAMES.get(kind, kind)} (name it without '#')"
        )
    runs = load_runs(path)
    if run_id is None:
        return runs
    chosen = [r for r in runs if r.name == run_id]
    if not chosen:
        ids = ", ".join(r.name for r in runs)
        raise AvsError(f"{path}: no run {short(run_id)} in this file (it holds: {ids})")
    if len(chosen) > 1:
        raise AvsError(f"{path}: {len(chosen)} runs are named {short(run_id)}; cannot tell which")
    return chosen


#: What each kind sniff_kind returns is called in messages.
KIND_NAMES = {
    "parquet": "Parquet run",
    "trec": "TREC run file",
    "json": "saved `avs eval --format json` result",
}


def load_runs(path: str | Path) -> list[LoadedRun]:
    """Every run in ``path`` (one, except for XML files holding several)."""
    path = Path(path)
    kind = sniff_kind(path)
    if kind == "parquet":
        return [_load_parquet(path)]
    if kind == "xml":
        return _load_xml(path)
    if kind == "json":
        raise AvsError(
            f"{path}: looks like JSON, not a run (Parquet, TREC run or submission XML); "
            "saved `avs eval --format json` results are read by `avs report`"
        )
    return [_load_trec(path)]
