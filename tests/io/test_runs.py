"""Parquet runs: round trip, metadata, the tie rule, and bad files."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from avs.errors import FormatError
from avs.io.runs import read_run, write_run
from avs.ties import tie_order


def test_tie_order_is_score_then_shot_id_descending():
    shots = np.array(["shot00001_2", "shot00001_10", "shot00002_1", "shot00001_3"])
    scores = np.array([1.0, 1.0, 2.0, 1.0])
    assert shots[tie_order(shots, scores)].tolist() == [
        "shot00002_1",
        "shot00001_3",
        "shot00001_2",
        "shot00001_10",
    ]


def test_round_trip_keeps_columns_and_metadata(tmp_path: Path):
    path = tmp_path / "r.parquet"
    meta = {"run_name": "demo", "elapsed": {"701": 1.25}, "k": 2, "simulated": True}
    write_run(path, [701, 701, 702], [1, 2, 1], ["a", "b", "c"], [0.9, 0.5, 0.1], meta)
    run = read_run(path)
    assert run.name == "demo" and run.simulated and run.topics == [701, 702]
    assert run.elapsed(701) == 1.25 and run.elapsed(702) is None
    shots, scores = run.ranking(701)
    assert shots.tolist() == ["a", "b"] and scores[0] == pytest.approx(0.9)
    assert run.meta["format"] == "avs-run"
    # plain pyarrow sees the columns with their documented types
    schema = pq.read_schema(path)
    assert str(schema.field("topic").type) == "int32" and str(schema.field("score").type) == "float"
    assert not list(tmp_path.glob(".*tmp"))


def test_missing_column_is_named(tmp_path: Path):
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"topic": [1], "shot_id": ["x"]}), path)
    with pytest.raises(FormatError, match="missing column.*rank.*score"):
        read_run(path)


def test_not_parquet(tmp_path: Path):
    path = tmp_path / "bad.parquet"
    path.write_text("hello")
    with pytest.raises(FormatError, match="not a readable Parquet"):
        read_run(path)


def test_failed_write_leaves_previous_file(tmp_path: Path):
    path = tmp_path / "r.parquet"
    write_run(path, [701], [1], ["a"], [1.0], {"run_name": "old"})
    with pytest.raises(ValueError):
        write_run(path, [701, 702], [1], ["a"], [1.0], {"run_name": "new"})
    assert read_run(path).name == "old"
    assert not list(tmp_path.glob(".*tmp"))


def test_written_files_get_the_umask_mode_not_0600(tmp_path: Path):
    """Regression: mkstemp's 0600 survived os.replace, so teammates could not read runs."""
    import os

    path = tmp_path / "r.parquet"
    old = os.umask(0o022)
    try:
        write_run(path, [701], [1], ["a"], [1.0], {"run_name": "x"})
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644
