"""``avs convert``: a run between our Parquet, a TREC run file and submission XML.

The format is chosen by the destination's extension (``.parquet``; ``.trec`` or
``.txt``; ``.xml``). XML output is a submission: it goes through :func:`avs.submit.submit`
(rendered, validated, only then written), so the submission options apply. Every run
is read as ``avs eval`` reads it: a shot listed twice is one shot with the later score,
ranks follow the tie rule. Metadata a format cannot hold is listed in the notes, never
dropped silently. TREC -> Parquet -> TREC gives back the same bytes for a canonical
TREC file (the one ``avs convert`` writes: ranks 1.. in tie-rule order, iter 0, scores
as Python's shortest repr, one tag): Parquet keeps such scores as float64 when float32
cannot hold them exactly, and the tag as ``trec_tag``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from avs.errors import AvsError
from avs.eval.runs import LoadedRun, sniff_kind, split_run_address
from avs.fusion.inputs import distinct_ranking, load_run_spec, sha256_file
from avs.io.records import RunRecord, avs_topic, qrels_topic
from avs.io.runs import Run

__all__ = ["ConvertResult", "as_run", "convert", "dst_kind", "read_any_run"]

KINDS = {".parquet": "parquet", ".trec": "trec", ".txt": "trec", ".xml": "xml"}
# keys that say what a file is, not what a run is: never reported as lost
_FORMAT_KEYS = {"format", "version", "run_name", "trec_tag"}


def dst_kind(path: Path) -> str:
    """The format a destination's extension asks for."""
    kind = KINDS.get(path.suffix.lower())
    if kind is None:
        raise AvsError(
            f"{path}: cannot tell the format from the extension (use {', '.join(KINDS)})"
        )
    return kind


def as_run(loaded: LoadedRun, label: str | None = None) -> tuple[Run, int]:
    """A loaded run of any kind as a :class:`~avs.io.runs.Run` (distinct shots, tie-rule
    ranks, topics in file order) and the number of duplicate records dropped."""
    columns: list[list] = [[], [], [], []]
    duplicates = 0
    for topic, records in loaded.topics.items():
        try:
            number = avs_topic(topic)
        except ValueError as err:
            raise AvsError(f"{label or loaded.path}: {err} (TRECVID ids look like 1701)") from None
        shots, scores = distinct_ranking(records)
        duplicates += len(records) - len(shots)
        columns[0].append(np.full(len(shots), number, dtype=np.int64))
        columns[1].append(np.arange(1, len(shots) + 1))
        columns[2].append(shots)
        columns[3].append(scores)
    meta = dict(loaded.meta)
    meta.setdefault("run_name", loaded.name)
    if loaded.year is not None:
        meta.setdefault("year", int(loaded.year) if loaded.year.isdigit() else loaded.year)
    if loaded.simulated is not None:
        meta.setdefault("simulated", loaded.simulated)
    empty = [np.zeros(0, dtype=np.int64)] * 2 + [np.zeros(0, dtype=object), np.zeros(0)]
    arrays = [np.concatenate(c) if c else e for c, e in zip(columns, empty, strict=True)]
    run = Run(loaded.name, Path(label or loaded.path), *arrays, meta=meta)
    return run, duplicates


def _xml_elapsed(path: Path, loaded: LoadedRun) -> dict[str, int]:
    """The elapsedTime per topic of the XML run ``loaded`` came from."""
    from avs.io.xmlrun import read_xml_runs

    for xml_run in read_xml_runs(path):
        if xml_run.run_id == loaded.name and xml_run.line == loaded.meta.get("line"):
            return {str(t): e for t, e in xml_run.elapsed.items()}
    return {}


def _trec_tags(path: Path) -> list[str]:
    """Distinct tags (6th field) of a TREC run file, in order of appearance."""
    from avs.io.textfile import read_text

    tags: dict[str, None] = {}
    for line in read_text(path, "run").split("\n"):
        fields = line.split()
        if len(fields) == 6:
            tags[fields[5]] = None
    return list(tags)


def read_any_run(spec: str | Path, notes: list[str] | None = None) -> Run:
    """Any run ``avs eval`` reads (``FILE.xml#RUNID`` for one of several) as a Run.

    Parquet runs are read as they are; TREC and XML runs get their metadata from the
    file (TREC: the tag; XML: run attributes and elapsedTime per topic)."""
    from avs.io.runs import read_run

    path, run_id = split_run_address(spec)
    if run_id is None and sniff_kind(path) == "parquet":
        return read_run(path)
    loaded = load_run_spec(spec)
    run, duplicates = as_run(loaded, str(spec))
    if duplicates and notes is not None:
        notes.append(
            f"{spec}: {duplicates} duplicate record(s) dropped (the later score kept, as "
            "avs eval does)"
        )
    meta = dict(run.meta)
    if loaded.kind == "xml":
        meta["elapsed"] = _xml_elapsed(path, loaded)
        meta["xml_attributes"] = meta.pop("attributes", {})
        meta.pop("line", None)
    else:
        tags = _trec_tags(path)
        if len(tags) == 1:
            meta["trec_tag"] = tags[0]
            meta["run_name"] = tags[0]
        elif notes is not None:
            notes.append(f"{spec}: {len(tags)} different tags in the file; run name {run.name}")
    return replace(run, meta=meta)


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert` wrote."""

    path: Path
    source_kind: str
    kind: str
    topics: int
    shots: int
    notes: list[str] = field(default_factory=list)


def _lost(meta: dict[str, Any], kept: set[str]) -> list[str]:
    return sorted(k for k in meta if k not in kept and k not in _FORMAT_KEYS)


def convert(
    src: str | Path,
    dst: str | Path,
    *,
    settings=None,
    tag: str | None = None,
    overwrite: bool = False,
) -> ConvertResult:
    """Convert ``src`` (any run ``avs eval`` reads) to ``dst``, the format by extension.

    ``settings`` (:class:`avs.submit.SubmitSettings`) carry the submission options for
    XML output; ``tag`` names the run in a TREC file (default: its TREC tag or name)."""
    from avs.io.runs import write_run
    from avs.io.trecrun import write_trec_run

    dst = Path(dst)
    kind = dst_kind(dst)
    if dst.exists() and not overwrite:
        raise AvsError(f"{dst}: exists; pass --overwrite to replace it")
    notes: list[str] = []
    source_kind = sniff_kind(split_run_address(src)[0])
    if kind == "xml":
        from avs.submit.api import SubmitSettings, submit

        result = submit(replace(settings or SubmitSettings(), runs=(src,), out=dst))
        notes += result.notes
        run = read_any_run(src)
        notes.append(
            "XML holds ranks, not scores (read back, score = 10000 - seqNum); "
            f"not kept: {', '.join(_lost(run.meta, {'year', 'elapsed'})) or 'nothing else'}"
        )
        return ConvertResult(dst, source_kind, kind, len(run.topics), len(run.shot_id), notes)
    run = read_any_run(src, notes)
    if not len(run.shot_id):
        raise AvsError(f"{src}: empty run (no ranked shots): nothing to convert")
    if kind == "parquet":
        meta = dict(run.meta)
        path, _ = split_run_address(src)
        meta["converted_from"] = {
            "path": str(src),
            "sha256": sha256_file(path),
            "kind": source_kind,
        }
        exact32 = np.array_equal(run.score.astype(np.float32).astype(np.float64), run.score)
        # float32 as `avs score` writes, unless that would change a score (and so maybe
        # the order): a converted TREC run keeps its scores exactly.
        dtype = np.float32 if exact32 else np.float64
        write_run(dst, run.topic, run.rank, run.shot_id, run.score, meta, score_dtype=dtype)
        if not exact32:
            notes.append("scores kept as float64 (float32 would round some of them)")
    else:
        name = tag or run.meta.get("trec_tag") or run.name
        name = "_".join(str(name).split()) or "avs"
        records = [
            RunRecord(qrels_topic(int(t)), str(s), float(x))
            for t, s, x in zip(run.topic, run.shot_id, run.score, strict=True)
        ]
        write_trec_run(dst, records, name)
        lost = _lost(run.meta, set())
        if lost:
            notes.append(f"TREC run files hold no metadata; not kept: {', '.join(lost)}")
    return ConvertResult(dst, source_kind, kind, len(run.topics), len(run.shot_id), notes)
