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
from avs.report.data import ReportData

# Colour-blind-safe palette (Okabe-Ito), cycled over runs.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
TEMPLATES = {"html": "report.html.j2", "markdown": "report.md.j2"}


def template_dirs() -> list[Path]:
    """Where templates live: the checkout's ``templates/``, else packaged ``avs/templates``."""
    here = Path(__file__).resolve()
    return [p for p in (here.parents[2] / "templates", here.parents[1] / "templates") if p.is_dir()]


@dataclass(frozen=True)
class Bar:
    """One rectangle of a chart, in SVG user units, with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass(frozen=True)
class Chart:
    """A grouped bar chart, ready to be drawn."""

    width: float
    height: float
    bars: list[Bar]
    labels: list[tuple[float, str]]  # group label x positions
    ticks: list[tuple[float, str]]  # y positions of value gridlines
    legend: list[tuple[str, str]]  # (colour, series name)
    left: float
    bottom: float
    title: str


def bar_chart(
    title: str,
    groups: list[str],
    series: list[str],
    values: list[list[float | None]],
    sources: list[str],
    colours: list[str] | None = None,
    top: float = 1.0,
) -> Chart:
    """Grouped bars: ``values[g][s]`` is series s in group g (None: no bar).

    ``sources[s]`` is appended to each bar's tooltip, so every bar names its origin;
    ``colours[s]`` defaults to the palette in series order."""
    if colours is None:
        colours = [PALETTE[s % len(PALETTE)] for s in range(len(series))]
    left, bottom, plot_h = 44.0, 28.0, 220.0
    bar_w = max(3.0, min(18.0, 120.0 / max(1, len(series))))
    group_w = bar_w * len(series) + 10.0
    # wide enough for the bars and for the legend (4 entries of 170 units per row)
    width = max(left + group_w * len(groups) + 10.0, left + 170.0 * min(4, len(series)))
    height = plot_h + bottom + 12.0
    bars, labels = [], []
    for g, group in enumerate(groups):
        x0 = left + g * group_w + 5.0
        labels.append((x0 + bar_w * len(series) / 2, group))
        for s, value in enumerate(values[g]):
            if value is None:
                continue
            h = plot_h * max(0.0, min(value, top)) / top
            bars.append(
                Bar(
                    x=round(x0 + s * bar_w, 2),
                    y=round(12.0 + plot_h - h, 2),
                    width=round(bar_w - 1.0, 2),
                    height=round(h, 2),
                    colour=colours[s],
                    title=f"{group}: {series[s]} {value:.4f} ({sources[s]})",
                )
            )
    ticks = [(round(12.0 + plot_h * (1 - i / 4), 2), f"{top * i / 4:.2f}") for i in range(5)]
    legend = list(zip(colours, series, strict=True))
    return Chart(round(width, 2), height, bars, labels, ticks, legend, left, bottom, title)


def charts(data: ReportData) -> dict[str, Chart]:
    """The overview chart (key "overview") and one per-topic chart per year; a run keeps
    its colour in every chart."""
    out: dict[str, Chart] = {}
    colour = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(data.run_names)}
    sources = []
    for name in data.run_names:
        entries = [e for s in data.years for e in s.runs if e.name == name]
        sources.append(", ".join(sorted({e.provenance for e in entries})))
    out["overview"] = bar_chart(
        "Mean infAP per run and year",
        data.year_names,
        data.run_names,
        [[data.overview[r].get(y) for r in data.run_names] for y in data.year_names],
        sources,
        [colour[name] for name in data.run_names],
    )
    for section in data.years:
        out[section.year] = bar_chart(
            f"infAP per topic, {section.year}",
            [row.topic for row in section.rows],
            [e.name for e in section.runs],
            [row.values for row in section.rows],
            [e.source for e in section.runs],
            [colour[e.name] for e in section.runs],
        )
    return out


# Markdown punctuation that can start markup inside a line (CommonMark backslash-escapes
# any ASCII punctuation): emphasis, code, links, raw HTML, entities, table pipes, GFM ~~.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>&|~!])")


def _md(value: object) -> str:
    """Escape text for markdown (a table cell or a heading): shown literally, never as
    markup or raw HTML; line breaks, which would end the row, become spaces."""
    text = _MD_SPECIAL.sub(r"\\\1", str(value))
    return text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def render(data: ReportData, fmt: str = "html", title: str = "AVS run report") -> str:
    """The report as text in ``fmt`` ("html" or "markdown")."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in template_dirs()]),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = _md
    env.filters["f4"] = lambda v: "-" if v is None else f"{v:.4f}"
    try:
        template = env.get_template(TEMPLATES[fmt])
    except jinja2.TemplateNotFound:
        from avs.errors import AvsError

        raise AvsError(f"report template {TEMPLATES[fmt]} not found in templates/") from None
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
        table.add_row(name, source, *cells)
    Console(file=file, width=max(100, 12 * (len(data.year_names) + 4))).print(table)
