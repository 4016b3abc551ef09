"""Output writers for ``avs eval``, picked by name from :data:`FORMATS`.

- ``sample_eval``: NIST's ``sample_eval.pl -q`` output byte for byte (per topic, then
  ``all``), so it diffs cleanly against the script's. With several runs each block is
  preceded by one ``# run NAME (PATH)`` line.
- ``table``: a readable rich table (default).
- ``json``: every figure at full precision, with sources; ``avs report`` reads it back.
Plus :func:`write_parquet`: ``wide`` (one row per run and topic, ``all`` included, a
column per figure) or ``long`` (one row per run, topic and figure: run, year, topic,
measure, value, provenance), the form pandas ``pivot_table`` and duckdb ``PIVOT`` take.

The table and the warnings on stderr name every run whose ``pooled@1000`` is below the
threshold (:mod:`avs.eval.coverage`); sample_eval's output never changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from avs.errors import AvsError, FormatError
from avs.eval.api import RunEvaluation
from avs.eval.coverage import coverage_warning, low_coverage
from avs.eval.measures import ALL_ORDER, EXTRA_ORDER, MEASURES, POOLED_WARN, TOPIC_ORDER
from avs.eval.xinfap import Evaluation, TopicResult
from avs.io.atomic import atomic_path
from avs.io.textfile import printable, read_text

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
        doc = json.loads(read_text(path, "evaluation JSON"))
    except (json.JSONDecodeError, RecursionError) as err:
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
TABLE_MEASURES = (
    "infAP",
    "infAP_judged",
    "infNDCG",
    "iP10",
    "iP100",
    "inum_rel_ret",
    "inum_rel",
    "num_ret",
    "judged@10",
    "pooled@1000",
)


def _fmt(name: str, value: float | None) -> str:
    if value is None:  # a figure missing from results saved by an older avs
        return "-"
    if name == "num_ret":
        return str(int(value))
    if name.startswith("inum"):
        return f"{value:.1f}"
    return f"{value:.4f}"


def write_table(
    results: Sequence[RunEvaluation], out: TextIO, *, threshold: float = POOLED_WARN
) -> None:
    """A rich table: per topic for one run; infAP per topic x run plus a summary for several.

    Topics and runs whose pooled@1000 is below ``threshold`` are marked ``!`` and a
    warning under the table says their infAP is a lower bound."""
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=max(160, 16 * (len(results) + 2)))
    with_truth = any(r.true_ap is not None for r in results)
    if len(results) == 1:
        r = results[0]
        table = Table(title=printable(f"{r.name} vs {r.qrels} ({r.provenance})"))
        table.add_column("topic")
        for name in TABLE_MEASURES:
            table.add_column(name, justify="right")
        if with_truth:
            table.add_column("true AP", justify="right")
        rows = [(t.topic, t.values) for t in r.evaluation.topics] + [("all", r.evaluation.all)]
        for topic, values in rows:
            cells = [_fmt(n, values.get(n)) for n in TABLE_MEASURES]
            if with_truth:
                truth = r.mean_true_ap if topic == "all" else (r.true_ap or {}).get(topic)
                cells.append("" if truth is None else f"{truth:.4f}")
            mark = " !" if low_coverage(values, threshold) else ""
            table.add_row(printable(topic) + mark, *cells, end_section=topic == rows[-2][0])
        console.print(table)
        _print_warnings(results, console, threshold)
        return
    topics = sorted({t.topic for r in results for t in r.evaluation.topics}, key=_numeric)
    wide = Table(title="infAP per topic")
    wide.add_column("topic")
    for r in results:
        wide.add_column(printable(r.name), justify="right")
    per_run = [r.evaluation.per_topic("infAP") for r in results]
    for topic in topics:
        wide.add_row(printable(topic), *[f"{p[topic]:.4f}" if topic in p else "-" for p in per_run])
    console.print(wide)
    summary = Table(title="all topics")
    summary.add_column("run")
    summary.add_column("source")
    for name in TABLE_MEASURES:
        summary.add_column(name, justify="right")
    if with_truth:
        summary.add_column("true AP", justify="right")
    for r in results:
        cells = [_fmt(n, r.evaluation.all.get(n)) for n in TABLE_MEASURES]
        if with_truth:
            truth = r.mean_true_ap
            cells.append("" if truth is None else f"{truth:.4f}")
        mark = " !" if low_coverage(r.evaluation.all, threshold) else ""
        summary.add_row(printable(r.name) + mark, printable(f"{r.kind}, {r.provenance}"), *cells)
    console.print(summary)
    _print_warnings(results, console, threshold)


def warnings_for(results: Sequence[RunEvaluation], threshold: float = POOLED_WARN) -> list[str]:
    """The low-coverage warning line of every run that needs one."""
    return [w for r in results if (w := coverage_warning(r, threshold)) is not None]


def _print_warnings(results: Sequence[RunEvaluation], console: Any, threshold: float) -> None:
    for line in warnings_for(results, threshold):
        console.print(
            f"WARNING {printable(line, markup=False)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def _numeric(topic: str) -> tuple[int, int | str]:
    return (0, int(topic)) if topic.isdigit() else (1, topic)


#: Every figure a Parquet result holds, in column (wide) or row (long) order.
PARQUET_MEASURES: tuple[str, ...] = (*ALL_ORDER, *EXTRA_ORDER)
LAYOUTS = ("wide", "long")


def _rows(r: RunEvaluation) -> list[tuple[str, dict[str, float], float | None]]:
    """(topic, figures, true AP) per evaluated topic, then the ``all`` line."""
    truth = r.true_ap or {}
    rows = [(t.topic, t.values, truth.get(t.topic)) for t in r.evaluation.topics]
    return [*rows, ("all", r.evaluation.all, r.mean_true_ap)]


def write_parquet(path: str | Path, results: Sequence[RunEvaluation], layout: str = "wide") -> Path:
    """Every figure of ``results`` as Parquet, written atomically.

    ``wide``: one row per (run, topic) plus an ``all`` row per run, columns run,
    run_path, qrels, year, provenance, topic, then one per figure (``true_AP`` when
    ground truth was given, else null). ``long``: one row per (run, topic, figure) with
    columns run, year, topic, measure, value, provenance (``true_AP`` rows only where
    known). A figure missing from an older saved result is null (wide) or absent (long)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if layout not in LAYOUTS:
        raise AvsError(f"--layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
    if layout == "wide":
        keys = ("run", "run_path", "qrels", "year", "provenance", "topic")
        columns: dict[str, list] = {k: [] for k in (*keys, *PARQUET_MEASURES, "true_AP")}
        for r in results:
            for topic, values, truth in _rows(r):
                for key, value in zip(
                    keys, (r.name, r.path, r.qrels, r.year, r.provenance, topic), strict=True
                ):
                    columns[key].append(value)
                for name in PARQUET_MEASURES:
                    columns[name].append(values.get(name))
                columns["true_AP"].append(truth)
        columns["num_ret"] = [None if v is None else int(v) for v in columns["num_ret"]]
        types = {"true_AP": pa.float64(), "year": pa.string()}  # typed even when all null
        table = pa.table({k: pa.array(v, types.get(k)) for k, v in columns.items()})
    else:
        long: dict[str, list] = {k: [] for k in ("run", "year", "topic", "measure", "value")}
        provenance: list[str] = []
        for r in results:
            for topic, values, truth in _rows(r):
                figures = [(n, values[n]) for n in PARQUET_MEASURES if n in values]
                if truth is not None:
                    figures.append(("true_AP", truth))
                for name, value in figures:
                    for key, cell in zip(
                        long, (r.name, r.year, topic, name, float(value)), strict=True
                    ):
                        long[key].append(cell)
                    provenance.append(r.provenance)
        long["provenance"] = provenance
        table = pa.table(
            {k: pa.array(v, pa.string()) if k == "year" else v for k, v in long.items()}
        )
    meta = {"format": "avs-eval-parquet", "version": JSON_VERSION, "layout": layout}
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
