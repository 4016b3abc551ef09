"""Several topic files of one collection in one pass (issue #14): each index read once,
every run identical to what a separate call writes (timing metadata apart)."""

from __future__ import annotations

from pathlib import Path

import pytest

from avs.errors import AvsError
from avs.io.runs import read_run
from avs.search.job import run_score, run_scores
from tests.support.searchkit import score_job

VOLATILE = {"date", "elapsed", "wall_seconds"}
FILES = {  # ties on purpose: 702 and 705 share a text, two files repeat topic 701
    "2019.txt": "701 a person walking a dog\n702 a red car at night\n",
    "2020.txt": "701 a person walking a dog\n705 a red car at night\n703 running\n",
    "2021.txt": "704 a dog and a car\n",
}


def _stable(path: Path):
    run = read_run(path)
    meta = {k: v for k, v in run.meta.items() if k not in VOLATILE}
    return run.topic.tolist(), run.rank.tolist(), run.shot_id.tolist(), run.score.tolist(), meta


def test_one_pass_equals_separate_calls(world, tmp_path, dask_client) -> None:
    files = []
    for name, text in FILES.items():
        files.append(tmp_path / name)
        files[-1].write_text(text)
    calls: list[str] = []
    together = run_scores(
        [score_job(world, tmp_path / "one", topics=f, run_name=f.stem) for f in files],
        client=dask_client,
        on_result=lambda i: calls.append(i),
    )
    shards = len(calls)  # one pass: each shard scored once for all files
    separate = [
        run_score(
            score_job(world, tmp_path / "sep", topics=f, run_name=f.stem),
            client=dask_client,
            on_result=lambda i: calls.append(i),
        )  # fmt: skip
        for f in files
    ]
    assert len(calls) == 4 * shards
    for a, b in zip(together, separate, strict=True):
        assert _stable(a) == _stable(b)
    assert set(read_run(together[1]).meta["elapsed"]) == {"701", "705", "703"}


def test_two_files_cannot_write_one_run(world, tmp_path) -> None:
    f = tmp_path / "2019.txt"
    f.write_text(FILES["2019.txt"])
    jobs = [score_job(world, tmp_path, topics=f, run_name="same") for _ in range(2)]
    with pytest.raises(AvsError, match="same run"):
        run_scores(jobs)
    assert not (tmp_path / "runs").exists()


def test_cli_scores_a_glob_of_topic_files(world, tmp_path) -> None:
    from click.testing import CliRunner

    from avs.cli import main

    for name, text in FILES.items():
        (tmp_path / name).write_text(text)
    args = ["score", "--topics", str(tmp_path / "20*.txt"), "--model", str(world.model),
            "--index", str(world.index), "--runs", str(tmp_path / "runs"), "--k", "20",
            "--device", "cpu", "-q"]  # fmt: skip
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    assert res.output.count("run written:") == 3
    assert sorted(p.name for p in (tmp_path / "runs").glob("*.parquet")) == [
        f"{world.model.name}-{y}.parquet" for y in (2019, 2020, 2021)
    ]
    res = CliRunner().invoke(main, [*args, "--run-name", "x", "--overwrite"])
    assert res.exit_code == 2 and "--run-name names one run" in res.output
