"""Fixtures of the search tests (helpers live in searchkit.py)."""

from __future__ import annotations

import pytest

from tests.support.searchkit import TOPIC_LINES, World, make_features, make_model


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    from avs.search.index import build_index

    root = tmp_path_factory.mktemp("world")
    features = root / "shots.h5"
    ids = make_features(features)
    make_model(root / "models" / "tiny")
    build_index(features, root / "models" / "tiny", root / "index" / "tiny", shard_rows=128)
    topics = root / "topics" / "2022.txt"
    topics.parent.mkdir()
    topics.write_text("\n".join(TOPIC_LINES) + "\n")
    return World(root, features, root / "models" / "tiny", root / "index" / "tiny", topics, ids)


@pytest.fixture(scope="session")
def dask_client():
    """An in-process LocalCluster (threads, 2 workers): real Dask scheduling, fast start."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client
