"""The `avs submit` command: options, workspace defaults, dry runs, nothing written on failure."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from avs.cli import main
from avs.submit.runid import file_stem, run_id

TEAM_ARGS = ["--pid", "TEAM", "--tr-type", "D", "--class", "F", "--task", "M", "--novelty", "C"]


def _submit(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["submit", *map(str, args)])
    return result.exit_code, result.output


def _files(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob("*") if p.is_file())


def test_submit_writes_a_validated_file(workdir: Path, new_run, topics_of) -> None:
    run = new_run(workdir / "run.parquet", 2022, topics_of("2022.txt"))
    code, out = _submit(run, *TEAM_ARGS, "--priority", 2, "--desc", "mine")
    assert code == 0, out
    path = workdir / "runs" / "F_M_C_D_TEAM.22_2.xml"
    assert path.is_file()
    assert f"wrote {path}" in out
    assert "30 topics, 150 items" in out and "5 for each of 30 topics" in out
    code, out = _submit("--check", path)
    assert code == 0, out


def test_failure_lists_every_problem_and_writes_nothing(workdir: Path, new_run, topics_of) -> None:
    """A run lacking topics of the year is refused whole: no XML, no temporary file."""
    run = new_run(workdir / "run.parquet", 2022, topics_of("2022.txt")[:-2])
    out_path = workdir / "out" / "sub.xml"
    code, out = _submit(run, *TEAM_ARGS, "--priority", 1, "--desc", "d", "--out", out_path)
    assert code != 0
    assert "Missing results for 2 topic(s)" in out and "729, 730" in out
    assert "not written" in out
    assert not out_path.exists()
    assert not (workdir / "out").exists() or _files(workdir / "out") == []
    assert _files(workdir) == ["run.parquet"]


def test_argument_problems_are_reported_together(workdir: Path, new_run) -> None:
    run = new_run(workdir / "run.parquet", 2022, [701])
    code, out = _submit(run, "--class", "F", "--priority", 11, "--novelty", "C", "--desc", "d")
    assert code != 0
    for text in ("--pid is required", "--tr-type is required", "--task is required"):
        assert text in out, out
    assert "priorities must be 1-10" in out
    assert "Traceback" not in out
    assert _files(workdir) == ["run.parquet"]
    # a value outside a choice is refused by the option itself, naming it
    code, out = _submit(run, *TEAM_ARGS, "--tr-type", "Q", "--priority", 1, "--desc", "d")
    assert code == 2 and "Invalid value for '--tr-type': 'Q' is not one of" in out, out


def test_year_specific_options_are_refused_in_other_years(workdir: Path, new_run) -> None:
    run = new_run(workdir / "run.parquet", 2018, [561], iacc=True)
    code, out = _submit(run, *TEAM_ARGS, "--algo", "V", "--priority", 1, "--desc", "d")
    assert code != 0
    for option in ("--task", "--novelty", "--algo"):
        assert f"{option} does not exist in 2018 run files" in out


def test_priorities_one_per_run_or_consecutive(workdir: Path, new_run, topics_of) -> None:
    topics = topics_of("2022.txt")
    runs = [new_run(workdir / f"r{i}.parquet", 2022, topics, seed=i) for i in range(2)]
    code, out = _submit(*runs, *TEAM_ARGS, "--priority", 3, "--priority", 7, "--desc", "d")
    assert code == 0, out
    assert (workdir / "runs" / "F_M_C_D_TEAM.22_3-7.xml").is_file()
    code, out = _submit(*runs, *TEAM_ARGS, "--priority", 3, "--priority", 3, "--desc", "d")
    assert code != 0 and "priorities must be unique" in out
    code, out = _submit(*runs, *TEAM_ARGS, "--priority", 10, "--desc", "d")
    assert code != 0 and "priorities must be 1-10" in out and "[10, 11]" in out


def test_dry_run_prints_a_summary_and_writes_nothing(workdir: Path, new_run, topics_of) -> None:
    run = new_run(workdir / "run.parquet", 2019, topics_of("2019.txt"), k=3)
    code, out = _submit(run, *TEAM_ARGS, "--priority", 1, "--desc", "d", "--dry-run")
    assert code == 0, out
    assert "dry run" in out and "F_M_C_D_TEAM.19_1" in out
    assert "30 topics, 90 items" in out
    # make_run records 2.5 + 0.25 j seconds for topic j; each rounds up to whole seconds
    total = sum(math.ceil(2.5 + 0.25 * j) for j in range(30))
    assert total == 195 and f"elapsed {total} s" in out
    assert _files(workdir) == ["run.parquet"]


def test_plain_submit_uses_the_workspace_team(workdir: Path, new_run, topics_of) -> None:
    new_run(workdir / "runs" / "sim.parquet", 2022, topics_of("2022.txt"))
    (workdir / "avs.toml").write_text(
        '[workspace]\nruns = "out"\n\n'
        '[team]\npid = "AVSDEMO"\npriority = 1\ntr_type = "D"\nclass = "F"\n'
        'task = "M"\nnovelty = "C"\ndesc = "LAFF on simulated features"\n'
        'runs = ["runs/sim.parquet"]\n',
        encoding="utf-8",
    )
    code, out = _submit()
    assert code == 0, out
    path = workdir / "out" / "F_M_C_D_AVSDEMO.22_1.xml"
    assert path.is_file()
    assert f"wrote {path}" in out
    # command-line options override the workspace
    code, out = _submit("--priority", 5, "--dry-run")
    assert code == 0 and "F_M_C_D_AVSDEMO.22_5" in out


def test_missing_elapsed_time_is_a_problem(workdir: Path) -> None:
    import numpy as np

    from avs.io.runs import write_run

    run = write_run(
        workdir / "run.parquet",
        np.array([701]),
        np.array([1]),
        np.array(["shot00001_1"]),
        np.array([0.5]),
        {"year": 2022},
    )
    topics = workdir / "t.txt"
    topics.write_text("701 a\n", encoding="utf-8")
    code, out = _submit(run, *TEAM_ARGS, "--priority", 1, "--desc", "d", "--topics", topics)
    assert code != 0 and "no elapsed time recorded for topic 701" in out


def test_check_and_runs_are_exclusive(workdir: Path, new_run) -> None:
    run = new_run(workdir / "run.parquet", 2022, [701])
    code, out = _submit(run, "--check", workdir / "x.xml")
    assert code != 0 and "--check" in out


def test_run_id_convention() -> None:
    assert run_id(class_="F", task="M", novelty="C", tr_type="D", pid="GodSpeed", year=2021, priority=1) == "F_M_C_D_GodSpeed.21_1"  # fmt: skip
    assert run_id(class_="M", tr_type="A", pid="T", year=2016, priority=3) == "M_A_T.16_3"
    assert file_stem(["F_M_C_D_T.22_1", "F_M_C_D_T.22_2"], [1, 2]) == "F_M_C_D_T.22_1-2"


@pytest.mark.parametrize("mode", ["check", "dry-run"])
def test_submit_does_not_import_torch_or_dask(workdir: Path, new_run, topics_of, mode) -> None:
    run = new_run(workdir / "run.parquet", 2022, topics_of("2022.txt"))
    args = [str(run), *TEAM_ARGS, "--priority", "1", "--desc", "d"]
    if mode == "check":
        CliRunner().invoke(main, ["submit", *args])
        args = ["--check", str(workdir / "runs" / "F_M_C_D_TEAM.22_1.xml")]
    else:
        args.append("--dry-run")
    script = (
        "import sys\n"
        "from avs.cli import main\n"
        f"try:\n    main(['submit', *{args!r}])\n"
        "except SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'dask', 'distributed'))\n"
        "print('HEAVY', heavy)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=workdir, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "HEAVY []" in proc.stdout, proc.stdout
