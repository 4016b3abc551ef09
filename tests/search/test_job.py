"""The score driver end to end on real files and a real (in-process) Dask cluster."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from avs.errors import AvsError
from avs.io.runs import read_run
from avs.search.cluster import timed_score_shard
from avs.search.job import partial_dir, run_score
from tests.support.searchkit import make_model, reference, reshard, score_job, topic_queries

VOLATILE = {"date", "elapsed", "wall_seconds"}  # differ between any two runs
CALLS: list[str] = []


def counting_task(path, *args, **kwargs):
    """timed_score_shard that records which shards were actually computed."""
    CALLS.append(Path(path).name)
    return timed_score_shard(path, *args, **kwargs)


def _stable(run):
    meta = {k: v for k, v in run.meta.items() if k not in VOLATILE}
    return run.topic, run.rank, run.shot_id, run.score, meta


def test_run_equals_brute_force_with_metadata(world, tmp_path, dask_client):
    out = run_score(score_job(world, tmp_path), client=dask_client, progress=False)
    run = read_run(out)
    ref_ids, ref_scores = reference(world.index, topic_queries(world), 50)
    for t, number in enumerate([701, 702, 703, 704]):
        ids, scores = run.ranking(number)
        assert ids.tolist() == ref_ids[t].tolist()
        np.testing.assert_allclose(scores, ref_scores[t], rtol=1e-5, atol=1e-6)
    assert run.rank.tolist()[:3] == [1, 2, 3]
    for key in (
        "run_name", "model", "model_fingerprint", "index", "collection", "simulated",
        "topics_file", "topics_sha256", "year", "k", "elapsed", "date", "avs_version",
    ):  # fmt: skip
        assert key in run.meta, key
    assert set(run.meta["elapsed"]) == {"701", "702", "703", "704"}
    assert run.meta["year"] == 2022 and run.meta["k"] == 50 and run.meta["simulated"] is True
    assert not partial_dir(tmp_path / "runs", "tiny").exists()


def test_same_run_name_refuses_unless_overwrite(world, tmp_path, dask_client):
    run_score(score_job(world, tmp_path), client=dask_client, progress=False)
    with pytest.raises(AvsError, match="already exists.*--overwrite"):
        run_score(score_job(world, tmp_path), client=dask_client, progress=False)
    run_score(score_job(world, tmp_path, overwrite=True), client=dask_client, progress=False)


def test_resume_after_crash_gives_identical_run(world, tmp_path, dask_client):
    full = read_run(run_score(score_job(world, tmp_path), client=dask_client, progress=False))
    (tmp_path / "runs" / "tiny.parquet").unlink()
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_score(score_job(world, tmp_path), client=dask_client, progress=False, crash_after=2)
    kept = sorted(partial_dir(tmp_path / "runs", "tiny").glob("shard-*.npz"))
    assert len(kept) >= 2 and not (tmp_path / "runs" / "tiny.parquet").exists()
    CALLS.clear()
    out = run_score(
        score_job(world, tmp_path, resume=True),
        client=dask_client,
        progress=False,
        task=counting_task,
    )
    assert len(CALLS) == 4 - len(kept)  # only the shards without a checkpoint
    resumed = read_run(out)
    for a, b in zip(_stable(full), _stable(resumed), strict=True):
        if isinstance(a, dict):
            assert a == b
        else:
            np.testing.assert_array_equal(a, b)


def test_resume_refuses_partials_of_another_job(world, tmp_path, dask_client):
    with pytest.raises(RuntimeError):
        run_score(score_job(world, tmp_path), client=dask_client, progress=False, crash_after=1)
    with pytest.raises(AvsError, match="different job.*k"):
        run_score(score_job(world, tmp_path, k=7, resume=True), client=dask_client, progress=False)


def test_unknown_topic_text(world, tmp_path, dask_client):
    topics = tmp_path / "2022.txt"
    topics.write_text("701 a dog on a beach\n705 zebra xylophone quartet\n")
    with pytest.raises(AvsError, match=r"705 'zebra xylophone quartet'"):
        run_score(score_job(world, tmp_path, topics=topics), client=dask_client, progress=False)


def test_empty_topic_file(world, tmp_path, dask_client):
    topics = tmp_path / "2022.txt"
    topics.write_text("\n\n")
    with pytest.raises(AvsError, match="no topics"):
        run_score(score_job(world, tmp_path, topics=topics), client=dask_client, progress=False)


def test_index_from_another_model(world, tmp_path, dask_client):
    other = make_model(tmp_path / "other", seed=1)
    fp = json.loads((world.index / "manifest.json").read_text())["fingerprint"]
    with pytest.raises(AvsError, match=f"another model.*{fp}.*{other}"):
        run_score(
            score_job(world, tmp_path, model=tmp_path / "other"), client=dask_client, progress=False
        )


def test_missing_shard(world, tmp_path, dask_client):
    index = reshard(world.index, tmp_path / "idx", 3)
    (index / "shard-00001.npy").unlink()
    with pytest.raises(AvsError, match="missing.*shard-00001.npy"):
        run_score(score_job(world, tmp_path, index=index), client=dask_client, progress=False)


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "/abs"])
def test_run_name_must_stay_in_runs_dir(world, tmp_path, name):
    with pytest.raises(AvsError, match="run name"):
        run_score(score_job(world, tmp_path, run_name=name), progress=False)


@pytest.fixture
def workspace(world, tmp_path, monkeypatch):
    """A directory with avs.toml and topics/2022.txt, as `make demo` leaves it."""
    monkeypatch.delenv("AVS_WORKSPACE", raising=False)
    (tmp_path / "topics").mkdir()
    shutil.copy(world.topics, tmp_path / "topics" / "2022.txt")
    (tmp_path / "avs.toml").write_text(
        f'[workspace]\nruns = "runs"\nk = 30\ndevice = "cpu"\n\n'
        f'[collections.V3C2]\nmodel = "{world.model}"\nindex = "{world.index}"\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _cli(args: list[str]):
    from click.testing import CliRunner

    from avs.cli import main

    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.mark.slow
def test_cli_score_exactly_as_written(workspace):
    """`avs score --topics topics/2022.txt` with only avs.toml: LocalCluster, year 2022."""
    result = _cli(["score", "--topics", "topics/2022.txt"])
    assert result.exit_code == 0, result.output
    runs = list((workspace / "runs").glob("*.parquet"))
    assert len(runs) == 1 and str(runs[0].name) in result.output
    run = read_run(runs[0])
    assert run.meta["year"] == 2022 and run.meta["collection"] == "V3C2" and run.meta["k"] == 30
    again = _cli(["score", "--topics", "topics/2022.txt"])
    assert again.exit_code != 0 and "--overwrite" in again.output


def test_cli_errors_are_one_line(workspace):
    result = _cli(["score", "--topics", "topics/2022.txt", "--run-name", "../x"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "run name '../x'" in result.output
    result = _cli(["score", "--topics", "topics/2019.txt"])
    assert result.exit_code != 0 and "no such topic file" in result.output
    (workspace / "topics" / "2019.txt").write_text("651 a dog\n")
    result = _cli(["score", "--topics", "topics/2019.txt"])
    assert result.exit_code != 0 and "no index for year 2019 (collection V3C1)" in result.output
