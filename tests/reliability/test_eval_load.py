"""Load: `avs eval` on 200 runs at once (the real 2021 qrels, 20 topics x 999 shots per
run), memory bounded. Peak RSS is the `avs eval` child's own (wait4), compared with
the same command on one run: 200 runs may cost at most 256 MiB more than one, so
results kept per run are small and runs are not all held in memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.cli import measure_avs
from tests.support.files import QRELS_2021, write_eval_runs

pytestmark = pytest.mark.slow
RUNS = 200
MIB = 1 << 20


def test_eval_200_runs_with_bounded_memory(tmp_path: Path, record_property) -> None:
    runs = write_eval_runs(tmp_path / "runs", RUNS)
    single = measure_avs(["eval", "--qrels", QRELS_2021, runs[0], "--json"], tmp_path)
    assert single.returncode == 0, single.stderr
    alone = json.loads((tmp_path / "stdout.txt").read_text())
    crowd = measure_avs(["eval", "--qrels", QRELS_2021, *runs, "--json"], tmp_path)
    assert crowd.returncode == 0, crowd.stderr
    together = json.loads((tmp_path / "stdout.txt").read_text())
    one, peak = single.driver_peak, crowd.driver_peak

    assert len(together["runs"]) == RUNS
    assert together["runs"][0] == alone["runs"][0]  # same figures alone or in a crowd
    assert peak < one + 256 * MIB, (peak / MIB, one / MIB)
    record_property(
        "eval_200", f"wall={crowd.wall:.1f}s peak={peak / MIB:.0f}MiB one_run={one / MIB:.0f}MiB"
    )
