"""Render :class:`avs.report.data.ReportData`: HTML or markdown through Jinja, and a rich
table for the terminal.

Charts are inline SVG whose geometry is computed here (:func:`bar_chart`) and drawn by
the template, so the page needs no script, font or network. HTML templates are
autoescaped; markdown cells go through the ``md`` filter (pipes and newlines escaped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from avs import __version__
from avs.io.atomic import write_text_atomic
from avs.io.textfile import printable
from avs.report.data import ReportData, RunEntry
from avs.resources import get_template, jinja_env

TEMPLATES = {"html": "report.html.j2", "markdown": "report.md.j2", "latex": "report.tex.j2"}
FORMATS = ("html", "markdown", "csv", "latex")
# A perceptually uniform sequential scale (viridis, 9 stops): colour encodes a value, so no
# categorical palette can run out of colours and repeat one when there are many runs.
VIRIDIS = (
    (68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
    (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37),
)  # fmt: skip
MAX_WIDTH = 1040.0  # SVG user units; the page scales charts down to its column


def colour(value: float | None, top: float = 1.0) -> str:
    """Viridis colour of ``value`` in [0, top] (grey for a missing value)."""
    if value is None:
        return "#e8e8e8"
    x = max(0.0, min(1.0, value / top if top > 0 else 0.0)) * (len(VIRIDIS) - 1)
    i = min(int(x), len(VIRIDIS) - 2)
    f = x - i
    rgb = [round(a + (b - a) * f) for a, b in zip(VIRIDIS[i], VIRIDIS[i + 1], strict=True)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def ink(value: float | None, top: float = 1.0) -> str:
    """Text colour readable on :func:`colour` (light on the dark half of the scale)."""
    return "#000" if value is None or value / (top or 1.0) > 0.55 else "#fff"


@dataclass(frozen=True)
class Cell:
    """One heatmap cell, in SVG user units, with its tooltip and printed value."""

    x: float
    y: float
    width: float
    height: float
    fill: str
    ink: str
    label: str  # value printed in the cell ("" when cells are too small)
    title: str


@dataclass(frozen=True)
class Heatmap:
    """A rows x columns matrix of values drawn as coloured cells, ready to be drawn."""

    title: str
    width: float
    height: float
    left: float  # x where the cells start (row labels to the left)
    top: float  # y where the cells start (column labels above)
    cell_w: float
    cell_h: float
    rows: list[tuple[float, str, str]]  # (y centre, label, full text for its tooltip)
    columns: list[tuple[float, str, str]]  # (x centre, label, tooltip)
    cells: list[Cell]
    x_title: str
    y_title: str
    legend: list[tuple[float, str]]  # (x, fill) of the colour scale swatches
    legend_ticks: list[tuple[float, str]]
    legend_title: str


def heatmap(
    title: str,
    row_labels: list[str],
    column_labels: list[str],
    values: list[list[float | None]],
    tooltips: list[list[str]],
    *,
    x_title: str,
    y_title: str,
    column_tips: list[str] | None = None,
    legend_title: str = "infAP",
) -> Heatmap:
    """Cells ``values[r][c]`` (None: grey, no value) coloured on one scale from 0 to the
    largest value; every cell's tooltip is ``tooltips[r][c]``. The width never exceeds
    :data:`MAX_WIDTH` units: cells narrow as columns are added (and lose their printed
    value below 30 units), so 30 topics or 7 years fit one column of the page."""
    left, top_margin, bottom = 170.0, 34.0, 70.0
    avail = MAX_WIDTH - left - 10.0
    cell_w = max(8.0, min(64.0, avail / max(1, len(column_labels))))
    cell_h = 18.0
    top = max([v for row in values for v in row if v is not None] + [0.0]) or 1.0
    cells = []
    for r, row in enumerate(values):
        for c, value in enumerate(row):
            cells.append(
                Cell(
                    x=round(left + c * cell_w, 2),
                    y=round(top_margin + r * cell_h, 2),
                    width=round(cell_w - 1, 2),
                    height=cell_h - 1,
                    fill=colour(value, top),
                    ink=ink(value, top),
                    label="" if value is None or cell_w < 30 else _cell_label(value),
                    title=tooltips[r][c],
                )
            )
    tips = column_tips or column_labels
    width = left + cell_w * len(column_labels) + 10.0
    grid_bottom = top_margin + cell_h * len(row_labels)
    swatches = 10
    legend = [(round(left + i * 16.0, 2), colour(top * i / (swatches - 1), top)) for i in
              range(swatches)]  # fmt: skip
    legend_ticks = [(left, "0"), (round(left + (swatches - 1) * 16.0 + 16, 2), f"{top:.2f}")]
    return Heatmap(
        title=title,
        width=round(max(width, left + 16.0 * swatches + 120), 2),
        height=round(grid_bottom + bottom, 2),
        left=left,
        top=top_margin,
        cell_w=round(cell_w, 2),
        cell_h=cell_h,
        rows=[
            (round(top_margin + (r + 0.5) * cell_h + 4, 2), _short(label, 24), label)
            for r, label in enumerate(row_labels)
        ],
        columns=[
            (round(left + (c + 0.5) * cell_w, 2), label, tip)
            for c, (label, tip) in enumerate(zip(column_labels, tips, strict=True))
        ],
        cells=cells,
        x_title=x_title,
        y_title=y_title,
        legend=legend,
        legend_ticks=legend_ticks,
        legend_title=legend_title,
    )


def _cell_label(value: float) -> str:
    """Two decimals without the leading zero (".42"); "1.0" for values that round to 1."""
    text = f"{value:.2f}"
    return "1.0" if text == "1.00" else text.removeprefix("0")


def _short(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters (the full text goes in the tooltip)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _topic_label(topic: str) -> str:
    # qrels ids carry a leading "1" (1661); the page shows AVS numbers (661)
    return topic[1:] if topic.isdigit() and len(topic) == 4 and topic[0] == "1" else topic


def charts(data: ReportData) -> dict[str, Heatmap]:
    """The overview (key "overview": runs x years, mean infAP with pooled@1000 in each
    tooltip) and one run x topic heatmap per year."""
    out: dict[str, Heatmap] = {}
    years = data.year_names
    values, tips = [], []
    for name in data.run_names:
        row, tip = [], []
        for year in years:
            e = data.entry(name, year)
            row.append(None if e is None else e.mean_infap)
            tip.append(f"{name}, {year}: no run" if e is None else _tip(e, e.mean_infap, year))
        values.append(row)
        tips.append(tip)
    out["overview"] = heatmap(
        "Mean infAP per run and year",
        data.run_names,
        years,
        values,
        tips,
        x_title="TRECVID year (topic set)",
        y_title="run (best mean infAP first)",
        legend_title="mean infAP",
    )
    for section in data.years:
        topics = [row.topic for row in section.rows]
        out[section.year] = heatmap(
            f"infAP per run and topic, {section.year}",
            [e.name for e in section.runs],
            [_topic_label(t) for t in topics],
            [[e.infap.get(t) for t in topics] for e in section.runs],
            [
                [
                    _tip(e, e.infap[row.topic], row.topic, e.topic_pooled.get(row.topic))
                    if row.topic in e.infap
                    else f"{e.name}, topic {row.topic}: not in this run"
                    for row in section.rows
                ]
                for e in section.runs
            ],
            x_title=f"topic ({section.year}; hover for its text)",
            y_title="run (best mean infAP first)",
            column_tips=[
                f"{row.topic}: {row.text}" if row.text else row.topic for row in section.rows
            ],  # fmt: skip
        )
    return out


def _tip(e: RunEntry, value: float, where: str, pooled: float | None = None) -> str:
    pooled = e.pooled if pooled is None else pooled
    cover = "" if pooled is None else f", pooled@1000 {pooled:.2f}"
    return f"{e.name}, {where}: infAP {value:.4f}{cover} ({e.source})"


# Markdown punctuation that can start markup inside a line (CommonMark backslash-escapes
# any ASCII punctuation): emphasis, code, links, raw HTML, entities, table pipes, GFM ~~.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~!])")


def _md(value: object) -> str:
    """Escape text for markdown (a table cell or a heading): shown literally, never as
    markup or raw HTML; line breaks, which would end the row, become spaces."""
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


_TEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
    "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}", "<": r"\textless{}", ">": r"\textgreater{}",
    "|": r"\textbar{}", "\n": " ", "\r": " ",
}  # fmt: skip


def _tex(value: object) -> str:
    """Escape text for LaTeX: every special character shown literally."""
    return "".join(_TEX_SPECIAL.get(ch, ch) for ch in str(value))


CSV_COLUMNS = (
    "year", "run", "topic", "topic_text", "infAP", "infAP_judged", "pooled@1000",
    "judged@10", "provenance", "run_path", "qrels",
)  # fmt: skip


def to_csv(data: ReportData) -> str:
    """One row per (year, run, topic) plus an ``all`` row per run and year."""
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for section in data.years:
        for e in section.runs:
            rows = [(r.topic, r.text, e.infap.get(r.topic), None) for r in section.rows]
            for topic, text, value, _ in rows:
                if value is None:
                    continue
                pooled = e.topic_pooled.get(topic)
                writer.writerow(
                    [section.year, e.name, topic, text, f"{value:.6f}", "",
                     "" if pooled is None else f"{pooled:.4f}", "", e.provenance, e.path,
                     e.qrels]
                )  # fmt: skip
            cov = e.coverage
            writer.writerow(
                [section.year, e.name, "all", "", f"{e.mean_infap:.6f}",
                 _num(cov.get("infAP_judged")), _num(cov.get("pooled@1000")),
                 _num(cov.get("judged@10")), e.provenance, e.path, e.qrels]
            )  # fmt: skip
    return buf.getvalue()


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


def render(data: ReportData, fmt: str = "html", title: str = "AVS run report") -> str:
    """The report as text in ``fmt`` ("html", "markdown", "latex" or "csv")."""
    import jinja2

    if fmt == "csv":
        return to_csv(data)

    env = jinja_env(
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _md
    env.filters["tex"] = _tex
    env.filters["f2"] = lambda v: "-" if v is None else f"{v:.2f}"
    env.filters["short"] = _short
    env.filters["topic_label"] = _topic_label
    env.filters["f4"] = lambda v: "-" if v is None else f"{v:.4f}"
    template = get_template(env, TEMPLATES[fmt])
    return template.render(
        data=data,
        charts=charts(data) if fmt == "html" else {},
        title=title,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
    )


def write_report(
    data: ReportData, out: str | Path, fmt: str = "html", title: str = "AVS run report"
) -> Path:
    """Render and write atomically; returns the path written."""
    out = Path(out)
    write_text_atomic(out, render(data, fmt, title))
    return out


def print_overview(data: ReportData, file: TextIO) -> None:
    """Mean infAP per run (rows) per year (columns) as a rich table."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Mean infAP per run and year")
    table.add_column("run")
    table.add_column("source")
    for year in data.year_names:
        table.add_column(year, justify="right")
    for name in data.run_names:
        entries = [e for s in data.years for e in s.runs if e.name == name]
        source = ", ".join(sorted({f"{e.kind}, {e.provenance}" for e in entries}))
        cells = [
            f"{data.overview[name][y]:.4f}" if y in data.overview[name] else "-"
            for y in data.year_names
        ]
        low = any(e.low_coverage(data.threshold) for e in entries)
        table.add_row(printable(name) + (" !" if low else ""), printable(source), *cells)
    console = Console(file=file, width=max(100, 12 * (len(data.year_names) + 4)))
    console.print(table)
    for line in data.warnings:
        console.print(
            f"WARNING {printable(line, markup=False)}",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for year, e in data.mismatched:
        console.print(
            printable(
                f"WARNING {e.name} ({year}): a {e.provenance} run scored against "
                f"{e.qrels_provenance} qrels {e.qrels}: shown apart, not compared",
                markup=False,
            ),
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
