"""SIMULATED runs of several systems of known, different quality, for checking fusion.

Given a simulated collection's full ground truth (``avs synth``'s ``truth/YEAR.qrels``),
each system scores every shot of a topic as ``quality * relevant + noise`` (the model
``avs synth`` uses for its pooling systems), where the noise is partly shared by all
systems (they see the same collection) and partly their own; each system has its own
score scale and offset, so normalisation matters. Every run written says
``simulated=true``.

:func:`perturbed_run` makes a second system from a real TREC run and its qrels (a
partly SIMULATED run, for checking fusion on real data when only one real run is at
hand). Used by the fusion tests and ``benchmarks/fuse_bench.py``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avs.io.records import avs_topic

__all__ = ["QUALITIES", "perturbed_run", "simulated_runs"]

#: signal-to-noise of the simulated systems, best first (cf. avs.synth.judgements)
QUALITIES = (2.4, 1.8, 1.2, 0.7, 0.4)
SHARED = 0.3  # share of the noise variance common to all systems


def simulated_runs(
    truth: Path,
    shot_ids: Sequence[str],
    out_dir: Path,
    year: str,
    *,
    qualities: Sequence[float] = QUALITIES,
    seed: int = 0,
    k: int = 1000,
) -> list[Path]:
    """Write one Parquet run per system (``sys{i}-{year}.parquet``, model ``sys{i}``)
    for the topics of ``truth`` (4-field qrels listing every relevant shot)."""
    from avs.io.qrels import read_qrels
    from avs.io.runs import write_run
    from avs.ties import tie_order

    shots = np.asarray(shot_ids, dtype=object)
    relevant: dict[str, set[str]] = {}
    for q in read_qrels(truth):
        if q.rel > 0:
            relevant.setdefault(q.topic, set()).add(q.shot)
    topics = sorted(relevant, key=int)
    rng_year = np.random.default_rng([seed, zlib.crc32(year.encode())])
    shared = {t: rng_year.standard_normal(len(shots)) for t in topics}
    paths = []
    for i, quality in enumerate(qualities):
        rng = np.random.default_rng([seed, zlib.crc32(year.encode()), i + 1])
        scale, offset = 0.5 + 2 * rng.random(), 3 * rng.standard_normal()
        columns: list[list] = [[], [], [], []]
        for t in topics:
            is_rel = np.isin(shots, list(relevant[t]))
            noise = np.sqrt(SHARED) * shared[t] + np.sqrt(1 - SHARED) * rng.standard_normal(
                len(shots)
            )
            score = ((quality * is_rel + noise) * scale + offset).astype(np.float32)
            order = tie_order(shots, score)[:k]
            columns[0].append(np.full(len(order), avs_topic(t)))
            columns[1].append(np.arange(1, len(order) + 1))
            columns[2].append(shots[order])
            columns[3].append(score[order])
        path = Path(out_dir) / f"sys{i}-{year}.parquet"
        meta = {
            "run_name": path.stem,
            "model": f"models/sys{i}",
            "year": int(year),
            "simulated": True,
            "note": f"SIMULATED system, quality {quality}",
        }
        write_run(path, *(np.concatenate(c) for c in columns), meta)
        paths.append(path)
    return paths


def perturbed_run(
    run: Path, qrels: Path, out: Path, *, seed: int = 1, tag: str = "PERTURBED"
) -> Path:
    """A second TREC run from ``run``: its ranking with log-rank noise, a fifth of its
    shots dropped, and an eighth of the judged relevant shots it misses brought in at
    ranks like its own. So it knows things ``run`` does not (as a second real system
    does) and fusing the two can beat both. Deterministic for a seed."""
    from avs.io.qrels import read_qrels
    from avs.io.records import RunRecord
    from avs.io.trecrun import read_trec_run, write_trec_run

    rng = np.random.default_rng(seed)
    relevant: dict[str, list[str]] = {}
    for q in read_qrels(qrels):
        if q.rel > 0:
            relevant.setdefault(q.topic, []).append(q.shot)
    by_topic: dict[str, list[str]] = {}
    for rec in read_trec_run(run):
        by_topic.setdefault(rec.topic, []).append(rec.shot)
    records = []
    for topic, shots in by_topic.items():
        n = len(shots)
        keep = rng.random(n) >= 0.2
        scores = -np.log(np.arange(1, n + 1)) + rng.normal(0.0, 1.5, n)
        chosen = {s: float(x) for s, x, k in zip(shots, scores, keep, strict=True) if k}
        missed = sorted(set(relevant.get(topic, [])) - set(shots))
        for shot in missed:
            if rng.random() < 0.12:
                chosen[shot] = float(-np.log(rng.integers(1, n + 1)) + rng.normal(0.0, 1.0))
        top = sorted(chosen.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:n]
        records += [RunRecord(topic, s, round(x, 6)) for s, x in top]
    write_trec_run(out, records, tag)
    return out
