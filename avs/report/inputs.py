"""What ``avs report`` reads: runs of any kind plus per-year qrels, or saved eval results.

``--qrels`` takes ``YEAR=PATH`` or just ``PATH`` (the year is then inferred from the
qrels' topic ids, e.g. 1661-1680 -> 2021). Each run is scored against the qrels of its
year: the ``year`` in its metadata, else the year its topic numbers fall in. Files
written by ``avs eval --format json`` are taken as they are (they name their qrels).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from avs.errors import AvsError
from avs.eval.api import RunEvaluation, evaluate_loaded
from avs.eval.formats import read_json
from avs.eval.qrels_args import parse_qrels_specs
from avs.eval.runs import (
    LoadedRun,
    infer_year,
    load_run_address,
    sniff_kind,
    split_run_address,
)
from avs.eval.xinfap import TopicJudgements, prepare_qrels


class QrelsByYear:
    """Qrels files keyed by year, read and prepared on first use."""

    def __init__(self, specs: Sequence[str]) -> None:
        self._paths: dict[str, Path] = {}
        self._unlabelled: list[Path] = []
        self._prepared: dict[Path, dict[str, TopicJudgements]] = {}
        for year, path in parse_qrels_specs(specs):
            if year is None:
                self._unlabelled.append(path)
            else:
                self._paths[year] = path
        for path in self._unlabelled:  # infer their years now: a run needs its year's file
            inferred = infer_year(self._load(path))
            if inferred is None:
                raise AvsError(
                    f"{path}: cannot tell the year of these qrels from their topic ids; "
                    "pass --qrels YEAR=PATH"
                )
            self._paths.setdefault(inferred, path)

    def _load(self, path: Path) -> dict[str, TopicJudgements]:
        if path not in self._prepared:
            from avs.io.qrels import read_qrels

            self._prepared[path] = prepare_qrels(read_qrels(path))
        return self._prepared[path]

    def for_run(self, run: LoadedRun) -> tuple[Path, dict[str, TopicJudgements]]:
        """The qrels for ``run``'s year (the only qrels given, if the year is unknown)."""
        if run.year in self._paths:
            path = self._paths[run.year]
        elif run.year is None and len(self._paths) == 1:
            path = next(iter(self._paths.values()))
        else:
            known = ", ".join(sorted(self._paths)) or "none"
            raise AvsError(
                f"{run.path}: no qrels for year {run.year or 'unknown'} of run {run.name} "
                f"(qrels given for: {known}); pass --qrels {run.year or 'YEAR'}=PATH"
            )
        return path, self._load(path)


def collect_results(
    inputs: Sequence[str | Path], qrels_specs: Sequence[str]
) -> list[RunEvaluation]:
    """Score every run input against its year's qrels; read saved results as they are."""
    qrels = QrelsByYear(qrels_specs)
    results: list[RunEvaluation] = []
    for item in inputs:
        path, run_id = split_run_address(item)
        if run_id is None and sniff_kind(path) == "json":
            results.extend(read_json(path))
            continue
        for run in load_run_address(item):
            qrels_path, judgements = qrels.for_run(run)
            results.append(evaluate_loaded(run, judgements, qrels_path))
    if not results:
        raise AvsError("nothing to report: give at least one run or saved result")
    return results


def topic_texts(
    years: Sequence[str], topic_files: Sequence[str | Path] = ()
) -> dict[str, dict[str, str]]:
    """year -> qrels topic id ("1661") -> topic text, for the report.

    The topic files avs ships cover the real TRECVID years (no flag needed); each
    ``--topics FILE`` adds or overrides texts, its year taken from the file name
    (``2022.txt``, ``tv22.avs.txt``) or else from its topic numbers."""
    from avs.io.records import qrels_topic
    from avs.io.topics import read_topics, topics_year
    from avs.resources import resource_path
    from avs.trecvid import YEARS

    texts: dict[str, dict[str, str]] = {}
    for year in years:
        spec = YEARS.get(year)
        if spec is None or spec.topics_file is None:
            continue
        path = resource_path("topics", spec.topics_file)
        texts[year] = {qrels_topic(t.number): t.text for t in read_topics(path)}
    for item in topic_files:
        topics = read_topics(item)
        named = topics_year(item)
        ids = [qrels_topic(t.number) for t in topics]
        year = str(named) if named is not None else infer_year(ids)
        if year is None:
            raise AvsError(
                f"--topics {item}: cannot tell its year from the file name or topic numbers"
            )
        texts.setdefault(year, {}).update(zip(ids, (t.text for t in topics), strict=True))
    return texts
