"""Output writers for ``avs eval``, picked by name from :data:`FORMATS`.

- ``sample_eval``: NIST's ``sample_eval.pl -q`` output byte for byte (per topic, then
  ``all``), so it diffs cleanly against the script's. With several runs each block is
  preceded by one ``# run NAME (PATH)`` line.
- ``table``: a readable rich table (default).
- ``json``: every figure at full precision, with sources; ``avs report`` reads it back.
Plus :func:`write_parquet` (one row per run and topic, ``all`` included).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from avs.errors import AvsError, FormatError
from avs.eval.api import RunEvaluation
from avs.eval.measures import ALL_ORDER, MEASURES, TOPIC_ORDER
from avs.eval.xinfap import Evaluation, TopicResult
from avs.io.atomic import atomic_path

JSON_FORMAT = "avs-eval"
JSON_VERSION = 1


def sample_eval_text(evaluation: Evaluation) -> str:
    """What ``sample_eval.pl -q`` prints for one run."""
    lines = [
        MEASURES[name].line(t.topic, t.values[name])
        for t in evaluation.topics
        for name in TOPIC_ORDER
    ]
    lines += [MEASURES[name].line("all", evaluation.all[name]) for name in ALL_ORDER]
    return "\n".join(lines) + "\n"


def write_sample_eval(results: Sequence[RunEvaluation], out: TextIO) -> None:
    """sample_eval -q output; a ``# run`` header line per run when there are several."""
    for result in results:
        if len(results) > 1:
            out.write(f"# run {result.name} ({result.path})\n")
        out.write(sample_eval_text(result.evaluation))


def to_json(results: Sequence[RunEvaluation]) -> dict[str, Any]:
    """A JSON-ready document of every figure and its sources."""
    runs = []
    for r in results:
        runs.append(
            {
                "name": r.name,
                "path": r.path,
                "kind": r.kind,
                "provenance": r.provenance,
                "year": r.year,
                "qrels": r.qrels,
                "truth": r.truth,
                "topics": {t.topic: t.values for t in r.evaluation.topics},
                "distinct": {t.topic: t.distinct for t in r.evaluation.topics},
                "all": r.evaluation.all,
                "skipped_topics": r.evaluation.skipped,
                "true_ap": r.true_ap,
                "mean_true_ap": r.mean_true_ap,
            }
        )
    return {"format": JSON_FORMAT, "version": JSON_VERSION, "runs": runs}


def write_json(results: Sequence[RunEvaluation], out: TextIO) -> None:
    """Write :func:`to_json` as indented JSON."""
    json.dump(to_json(results), out, indent=1)
    out.write("\n")


def read_json(path: str | Path) -> list[RunEvaluation]:
    """Read back a file written with ``avs eval --format json``."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AvsError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise FormatError(path, f"not valid JSON ({err})", line=line) from None
    if not isinstance(doc, dict) or doc.get("format") != JSON_FORMAT:
        raise FormatError(
            path, f"not an `avs eval --format json` result (format != {JSON_FORMAT!r})"
        )
    results = []
    where = "runs"
    try:
        for i, run in enumerate(doc["runs"]):
            where = f"runs[{i}]"
            topics = [
                TopicResult(topic, dict(values), int(run["distinct"][topic]))
                for topic, values in run["topics"].items()
            ]
            evaluation = Evaluation(topics, dict(run["all"]), list(run.get("skipped_topics", [])))
            results.append(
                RunEvaluation(
                    name=str(run["name"]),
                    path=str(run["path"]),
                    kind=str(run["kind"]),
                    provenance=str(run["provenance"]),
                    year=None if run.get("year") is None else str(run["year"]),
                    qrels=str(run["qrels"]),
                    evaluation=evaluation,
                    truth=run.get("truth"),
                    true_ap=run.get("true_ap"),
                )
            )
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise FormatError(path, f"malformed result ({err!r})", field=where) from None
    return results


# Columns of the readable table; the rest is in json/parquet.
TABLE_MEASURES = ("infAP", "infNDCG", "iP10", "iP100", "inum_rel_ret", "inum_rel", "num_ret")


def _fmt(name: str, value: float) -> str:
    if name == "num_ret":
        return str(int(value))
    if name.startswith("inum"):
        return f"{value:.1f}"
    return f"{value:.4f}"


def write_table(results: Sequence[RunEvaluation], out: TextIO) -> None:
    """A rich table: per topic for one run; infAP per topic x run plus a summary for several."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=max(130, 16 * (len(results) + 2)))
    with_truth = any(r.true_ap is not None for r in results)
    if len(results) == 1:
        r = results[0]
        table = Table(title=f"{r.name} vs {r.qrels} ({r.provenance})")
        table.add_column("topic")
        for name in TABLE_MEASURES:
            table.add_column(name, justify="right")
        if with_truth:
            table.add_column("true AP", justify="right")
        rows = [(t.topic, t.values) for t in r.evaluation.topics] + [("all", r.evaluation.all)]
        for topic, values in rows:
            cells = [_fmt(n, values[n]) for n in TABLE_MEASURES]
            if with_truth:
                truth = r.mean_true_ap if topic == "all" else (r.true_ap or {}).get(topic)
                cells.append("" if truth is None else f"{truth:.4f}")
            table.add_row(topic, *cells, end_section=topic == rows[-2][0])
        console.print(table)
        return
    topics = sorted({t.topic for r in results for t in r.evaluation.topics}, key=_numeric)
    wide = Table(title="infAP per topic")
    wide.add_column("topic")
    for r in results:
        wide.add_column(r.name, justify="right")
    per_run = [r.evaluation.per_topic("infAP") for r in results]
    for topic in topics:
        wide.add_row(topic, *[f"{p[topic]:.4f}" if topic in p else "-" for p in per_run])
    console.print(wide)
    summary = Table(title="all topics")
    summary.add_column("run")
    summary.add_column("source")
    for name in TABLE_MEASURES:
        summary.add_column(name, justify="right")
    if with_truth:
        summary.add_column("true AP", justify="right")
    for r in results:
        cells = [_fmt(n, r.evaluation.all[n]) for n in TABLE_MEASURES]
        if with_truth:
            truth = r.mean_true_ap
            cells.append("" if truth is None else f"{truth:.4f}")
        summary.add_row(r.name, f"{r.kind}, {r.provenance}", *cells)
    console.print(summary)


def _numeric(topic: str) -> tuple[int, int | str]:
    return (0, int(topic)) if topic.isdigit() else (1, topic)


def write_parquet(path: str | Path, results: Sequence[RunEvaluation]) -> Path:
    """One row per (run, topic) plus an ``all`` row per run; a column per measure
    (and ``true_AP`` when ground truth was given). Written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns: dict[str, list] = {k: [] for k in ("run", "run_path", "qrels", "topic")}
    for name in ALL_ORDER:
        columns[name] = []
    columns["true_AP"] = []
    for r in results:
        rows = [(t.topic, t.values) for t in r.evaluation.topics] + [("all", r.evaluation.all)]
        for topic, values in rows:
            columns["run"].append(r.name)
            columns["run_path"].append(r.path)
            columns["qrels"].append(r.qrels)
            columns["topic"].append(topic)
            for name in ALL_ORDER:
                columns[name].append(values[name])
            truth = r.mean_true_ap if topic == "all" else (r.true_ap or {}).get(topic)
            columns["true_AP"].append(truth)
    columns["num_ret"] = [int(v) for v in columns["num_ret"]]
    table = pa.table(columns)
    meta = {"format": "avs-eval-parquet", "version": JSON_VERSION}
    table = table.replace_schema_metadata({b"avs": json.dumps(meta)})
    path = Path(path)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
    return path


#: --format name -> writer(results, out)
FORMATS: dict[str, Callable[[Sequence[RunEvaluation], TextIO], None]] = {
    "table": write_table,
    "sample_eval": write_sample_eval,
    "json": write_json,
}
