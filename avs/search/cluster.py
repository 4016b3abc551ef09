"""Dask plumbing of ``avs index`` and ``avs score``: the cluster, and one task per shard.

Without an address a ``LocalCluster`` sized to the machine is started; with one, an
existing cluster (``dask scheduler`` / ``dask worker``) is used, whose workers must see
the index under the same absolute path.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from avs.errors import AvsError
from avs.search.score import score_shard


@contextlib.contextmanager
def dask_client(scheduler: str, device: str, shards: int) -> Iterator[tuple[Any, int | None]]:
    """A connected ``distributed.Client`` and the torch threads each task should use.

    No address: a LocalCluster sized to the machine, one single-threaded worker per core
    (each task's GEMM then runs on its own core), or one worker for a GPU."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError) as err:
            raise AvsError(f"cannot reach the Dask scheduler at {scheduler}: {err}") from None
        with client:
            yield client, None
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    workers = 1 if device.startswith("cuda") else max(1, min(cores or 1, shards))
    threads = max(1, (cores or 1) // workers)
    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client, threads


def warm_up() -> None:
    """Import the scoring stack (torch: seconds) so that no shard's time includes it."""
    import torch  # noqa: F401

    import avs.search.score  # noqa: F401


def timed_score_shard(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`score_shard` plus the seconds it took (the task the driver submits)."""
    t0 = time.perf_counter()
    scores, rows = score_shard(*args, **kwargs)
    return scores, rows, time.perf_counter() - t0


def score_shards(
    client: Any,
    shards: list[tuple[str, int, int]],
    queries: np.ndarray,
    k: int,
    device: str = "cpu",
    *,
    tiebreak: np.ndarray | None = None,
    threads: int | None = None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]] | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray, float]]:
    """One Dask task per ``(shard path, start row, stop row)``; yields ``(position, scores,
    rows, seconds)`` in completion order. The queries are scattered once to every worker,
    so each task carries only a reference to them; ``tiebreak`` (tie key per global row)
    travels as each task's own shard-sized slice."""
    from distributed import as_completed

    q_f = client.scatter(queries, broadcast=True, hash=False)
    futures = {
        client.submit(
            task or timed_score_shard,
            path,
            q_f,
            k,
            device,
            start=start,
            tiebreak=None if tiebreak is None else tiebreak[start:stop],  # not `key=`: submit's
            threads=threads,
            pure=False,
        ): j
        for j, (path, start, stop) in enumerate(shards)
    }
    try:
        for fut, (scores, rows, secs) in as_completed(futures, with_results=True):
            yield futures[fut], scores, rows, secs
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
