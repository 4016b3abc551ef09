"""Dask plumbing of ``avs index`` and ``avs score``: the cluster, and tasks of a few shards.

Without an address a ``LocalCluster`` sized to the machine is started; with one, an
existing cluster (``dask scheduler`` / ``dask worker``) is used, whose workers must see
the index under the same absolute path.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from avs import envvars
from avs.errors import AvsError
from avs.search.score import score_shard


@contextlib.contextmanager
def dask_client(scheduler: str, device: str, shards: int) -> Iterator[tuple[Any, int | None]]:
    """A connected ``distributed.Client`` and the torch threads each task should use.

    No address: a LocalCluster sized to the machine, one single-threaded worker per core
    (each task's GEMM then runs on its own core), or one worker for a GPU."""
    from distributed import Client, LocalCluster

    if scheduler:
        check_scheduler(scheduler)
        wait = envvars.seconds(envvars.WORKER_WAIT_S, WORKER_WAIT_S)
        try:
            client = Client(scheduler, timeout="15s")
        except (OSError, TimeoutError, ValueError, TypeError) as err:
            raise AvsError(
                f"--scheduler {scheduler}: cannot reach the Dask scheduler ({err})"
            ) from None
        with _quiet(_CONNECTION_LOGGERS), client:  # quiet while the client closes, too
            try:
                client.wait_for_workers(1, timeout=wait)
            except (TimeoutError, OSError) as err:
                raise AvsError(
                    f"--scheduler {scheduler}: no Dask worker joined within {wait:g} s "
                    f"({type(err).__name__}); start one with `dask worker {scheduler}`, "
                    f"or wait longer with {envvars.WORKER_WAIT_S}=SECONDS"
                ) from None
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
            # Port 0: the scheduler's HTTP server takes a free port, so a taken 8787
            # (another cluster, a notebook) costs no warning.
            dashboard_address=":0",
            # A failed task's exception is re-raised by the driver (an AvsError as one
            # clean message); the worker's own "Compute Failed" dump would only repeat
            # it as a traceback.
            silence_logs=logging.CRITICAL,
            # Workers ignore SIGINT (avs/search/worker_setup.py): Ctrl-C reaches the driver,
            # which closes the cluster, instead of every worker printing a traceback.
            preload=["avs.search.worker_setup"],
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client, threads


#: Seconds to wait for a first worker of an external scheduler ($AVS_WORKER_WAIT_S).
WORKER_WAIT_S = 30
# [scheme://]host:port, the forms distributed accepts (host may be [v6]).
_ADDRESS = re.compile(
    r"(?:(?:tcp|tls|ws|wss|ucx)://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):\d{1,5}"
)


def check_scheduler(address: str) -> None:
    """AvsError naming --scheduler unless ``address`` is ``[tcp://]host:port``: a
    malformed one made distributed raise a ValueError traceback or wait for nothing."""
    m = _ADDRESS.fullmatch(address)
    if not m or not 0 < int(address.rsplit(":", 1)[1]) < 65536:
        raise AvsError(
            f"--scheduler {address!r}: not a Dask scheduler address; expected tcp://HOST:PORT "
            "(e.g. tcp://head:8786), or leave it empty for a LocalCluster"
        )


# Loggers that print a traceback for every broken connection once a scheduler is gone.
_CONNECTION_LOGGERS = ("distributed", "distributed.client", "tornado.application", "asyncio")


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Only CRITICAL records from these loggers inside the block: a lost scheduler is
    reported once, as :class:`JobLost`, not as pages of tracebacks on stderr."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


class JobLost(AvsError):
    """The cluster cancelled the job's tasks: the scheduler connection dropped (or the
    scheduler shut down). The caller says what was kept and how to resume."""


def completed(futures: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    """``as_completed(futures, with_results=True)``, except that a cancelled task is a
    :class:`JobLost` instead of being yielded as its result: distributed hands a
    ``CancelledError`` *object* back as the result, which callers would try to unpack."""
    from distributed import as_completed

    for fut, result in as_completed(futures, with_results=True):
        if isinstance(result, BaseException):
            reason = getattr(result, "reason", "") or type(result).__name__
            raise JobLost(f"the Dask cluster dropped the job ({reason})")
        yield fut, result


def warm_up() -> None:
    """Import the scoring stack (torch: seconds) so that no shard's time includes it."""
    import torch  # noqa: F401

    import avs.search.score  # noqa: F401


def timed_score_shard(*args: Any, **kwargs: Any) -> tuple[np.ndarray, np.ndarray, float]:
    """:func:`score_shard` plus the seconds it took (the task the driver submits)."""
    t0 = time.perf_counter()
    scores, rows = score_shard(*args, **kwargs)
    return scores, rows, time.perf_counter() - t0


def score_group(
    items: list[tuple[str, int, np.ndarray | None]],
    queries: np.ndarray,
    k: int,
    device: str,
    threads: int | None,
    task: Callable[..., tuple[np.ndarray, np.ndarray, float]],
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """One Dask task: ``task`` over a few ``(shard path, start row, tie keys)``, one by one."""
    return [
        task(path, queries, k, device, start=start, tiebreak=keys, threads=threads)
        for path, start, keys in items
    ]


def shards_per_task(client: Any, shards: int) -> int:
    """Shards one task scores: about four tasks per worker thread, so that Dask's own
    cost per task (about 12 ms of the driver's CPU, measured on the 2-core box: 10 % of
    a 128 MiB shard's scoring) is paid a few times per worker, not once per shard,
    while a slow or lost worker still holds back only a small part of the job."""
    try:
        slots = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values())
    except (AttributeError, KeyError, TypeError):
        slots = 1
    return max(1, shards // (4 * max(1, slots)))


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
    per_task: int | None = None,
) -> Iterator[tuple[int, np.ndarray, np.ndarray, float]]:
    """Score ``(shard path, start row, stop row)`` items on the cluster; yields
    ``(position, scores, rows, seconds)`` per shard, in completion order.

    Consecutive shards are grouped ``per_task`` to a Dask task (default
    :func:`shards_per_task`); each shard's result is still yielded, and kept, on its own.
    The queries are scattered once to every worker, so each task carries only a
    reference to them; ``tiebreak`` (tie key per global row) travels as each shard's own
    shard-sized slice."""
    q_f = client.scatter(queries, broadcast=True, hash=False)
    size = per_task or shards_per_task(client, len(shards))
    items = [
        (path, start, None if tiebreak is None else tiebreak[start:stop])
        for path, start, stop in shards
    ]
    futures = {
        client.submit(
            score_group,
            items[j : j + size],
            q_f,
            k,
            device,
            threads,
            task or timed_score_shard,
            pure=False,
        ): j
        for j in range(0, len(items), size)
    }
    try:
        for fut, results in completed(futures):
            for offset, (scores, rows, secs) in enumerate(results):
                yield futures[fut] + offset, scores, rows, secs
    finally:
        for fut in futures:
            if not fut.done():
                fut.cancel()
