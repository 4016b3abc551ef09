"""Text-to-video retrieval metrics: R@1/5/10 (%), median rank, mAP (= mean 1/rank)."""

from __future__ import annotations

import numpy as np
import torch


def ranks_of_truth(sims: torch.Tensor, truth: torch.Tensor) -> np.ndarray:
    """1-based rank of column ``truth[i]`` in row i of ``sims`` (texts x videos), counting
    ties pessimistically (a video scoring equal to the truth ranks above it)."""
    true_scores = sims.gather(1, truth.view(-1, 1))
    return ((sims >= true_scores).sum(1)).cpu().numpy().astype(np.int64)


def retrieval_metrics(ranks: np.ndarray) -> dict[str, float]:
    """From the ranks of each caption's single correct video: R@1, R@5, R@10 in percent,
    median rank, and mAP, which with one relevant video per caption is the mean of
    1/rank (the paper's mAP and the validation "mean inverted rank")."""
    ranks = np.asarray(ranks, dtype=np.float64)
    if ranks.size == 0:
        return {"r1": 0.0, "r5": 0.0, "r10": 0.0, "medr": 0.0, "map": 0.0, "n": 0}
    return {
        "r1": float(100 * np.mean(ranks <= 1)),
        "r5": float(100 * np.mean(ranks <= 5)),
        "r10": float(100 * np.mean(ranks <= 10)),
        "medr": float(np.median(ranks)),
        "map": float(np.mean(1.0 / ranks)),
        "n": int(ranks.size),
    }
