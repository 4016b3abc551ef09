"""The HTML report of 20 runs x 7 years in a real browser (headless Chromium).

A small script added to a copy of the page (the report itself has none) writes what
the browser measured into the DOM: the document's scroll width against the viewport,
and for every chart whether its axis titles are there and visible.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from avs.report.data import build_report, natural_key
from avs.report.render import render
from tests.report.bigreport import BIG_YEARS, big_results

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
MEASURE = """<script>
window.addEventListener("load", () => {
  const charts = [...document.querySelectorAll("svg.chart")].map(svg => {
    const x = svg.querySelector(".x-title"), y = svg.querySelector(".y-title");
    const r = svg.getBoundingClientRect();
    return {x: x ? x.textContent.trim() : "", y: y ? y.textContent.trim() : "",
            xw: x ? x.getBBox().width : 0, yw: y ? y.getBBox().height : 0, right: r.right};
  });
  const out = document.createElement("pre");
  out.id = "measured";
  out.textContent = JSON.stringify({scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth, charts});
  document.body.appendChild(out);
});
</script>"""


def chromium(args: list[str], tmp: Path) -> subprocess.CompletedProcess:
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def big_page(tmp_path_factory) -> tuple[str, object]:
    data = build_report(big_results(), seed=0, permutations=200)
    return render(data, "html", "20 runs x 7 years (simulated)"), data


def test_big_report_data_orders_and_corrects(big_page):
    _, data = big_page
    assert data.year_names == list(BIG_YEARS)
    assert len(data.run_names) == 20
    means = [sum(data.overview[n].values()) / 7 for n in data.run_names]
    assert means == sorted(means, reverse=True)  # best mean infAP first
    section = data.years[0]
    assert len(section.comparisons) == 190  # every pair of 20 runs
    for c in section.comparisons:  # Holm never lowers a p-value, and caps at 1
        assert c.test.p_value <= c.p_adjusted <= 1.0
        assert c.wins + c.ties + c.losses == c.test.topics
    assert any("team5" in w and "lower bound" in w for w in data.warnings)  # post-hoc run
    assert sorted(["team10", "team2", "team1"], key=natural_key) == ["team1", "team2", "team10"]


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium not installed (/usr/bin/chromium)")
def test_big_report_fits_1280_px_and_every_chart_has_axis_titles(big_page, tmp_path):
    html, _ = big_page
    assert "<script" not in html.lower()  # the report itself stays script-free
    page = tmp_path / "page.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"))
    res = chromium(["--window-size=1280,900", "--virtual-time-budget=5000", "--dump-dom",
                    page.as_uri()], tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-2000:]
    found = re.search(r'<pre id="measured">(.*?)</pre>', res.stdout, re.S)
    assert found, res.stdout[-2000:]
    measured = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert measured["inner"] == 1280
    assert measured["scroll"] <= measured["inner"], measured["scroll"]
    assert len(measured["charts"]) == 1 + len(BIG_YEARS)  # overview + a heatmap per year
    for chart in measured["charts"]:
        assert chart["x"] and chart["y"], chart
        assert chart["xw"] > 0 and chart["yw"] > 0, chart  # drawn, not just present
        assert chart["right"] <= 1280, chart
