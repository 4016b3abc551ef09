"""Planting: where each topic's relevant shots and near misses go.

Relevant shots are placed deliberately, so that each topic's count lands in
``World.count_range`` at any collection size, in runs inside a few host videos, as
real relevant shots come.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from avs.errors import AvsError

if TYPE_CHECKING:
    from avs.synth.world import World


def plan_planting(world: World, rng: np.random.Generator) -> None:
    """Choose, per topic, the rows of its relevant shots and of its near misses.

    Targets are log-uniform in [lo, hi/2]: supersets of a topic's concepts planted for
    other topics also count for it, so leave room below ``hi``. Relevant shots come in
    runs inside a few host videos (as real relevant shots do); each run is followed
    by a near miss or two in the same video. A row is planted for one topic only."""
    lo, hi = world.count_range
    T, N = len(world.topics), world.shots
    top = max(lo + 1, hi // 2)
    world.targets = np.exp(rng.uniform(np.log(lo), np.log(top), T)).round().astype(np.int64)
    taken = np.zeros(N, dtype=bool)
    rows: list[np.ndarray] = []
    tops: list[np.ndarray] = []
    drops: list[np.ndarray] = []
    starts = world.video_starts
    for j, t in enumerate(world.topics):
        need = int(world.targets[j])
        got: list[int] = []
        near: list[int] = []
        tries = 0
        while len(got) < need and tries < 50 * need + 100:
            tries += 1
            v = int(rng.integers(world.n_videos))
            vlen = int(starts[v + 1] - starts[v])
            run = min(int(rng.geometric(1 / 6)), need - len(got), vlen)
            first = int(starts[v]) + int(rng.integers(vlen - run + 1))
            span = np.arange(first, first + run)
            free = span[~taken[span]]
            taken[free] = True
            got.extend(free.tolist())
            after = first + run
            if len(t.concepts) > 1 and after < starts[v + 1] and not taken[after]:
                taken[after] = True
                near.append(after)
        if len(got) < need:
            raise AvsError(
                f"cannot plant {need} relevant shots for topic {t.number} in {N} shots; "
                "use more --shots or fewer topics"
            )
        # near misses elsewhere too, half as many as relevant shots
        extra = rng.integers(0, N, max(1, need // 2)) if len(t.concepts) > 1 else []
        for r in np.unique(extra):
            if not taken[r]:
                taken[r] = True
                near.append(int(r))
        rows.append(np.array(got + near, dtype=np.int64))
        tops.append(np.full(len(got) + len(near), j, dtype=np.int32))
        missing = np.array(t.concepts)[rng.integers(0, len(t.concepts), len(near))]
        drops.append(np.concatenate([np.full(len(got), -1), missing]).astype(np.int32))
    r = np.concatenate(rows)
    order = np.argsort(r, kind="stable")
    world.plant_rows = r[order]
    world.plant_topic = np.concatenate(tops)[order]
    world.plant_drop = np.concatenate(drops)[order]
