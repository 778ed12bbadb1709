"""Scored datasets the metric tests share, each with a property scikit-learn's reference must handle."""

from __future__ import annotations

import random


def ties_and_extremes(rows: int = 20_000, seed: int = 3) -> tuple[list[float], list[int]]:
    """5% positives; a third of the scores rounded to two decimals (ties), 2% exactly 0.0 and 2% exactly 1.0."""
    rng = random.Random(seed)
    scores, labels = [], []
    for _ in range(rows):
        label = 1 if rng.random() < 0.05 else 0
        draw = rng.random()
        if draw < 0.02:
            score = 0.0
        elif draw < 0.04:
            score = 1.0
        else:
            score = min(max(rng.gauss(0.65 if label else 0.35, 0.2), 0.0), 1.0)
            if draw < 0.37:
                score = round(score, 2)
        scores.append(score)
        labels.append(label)
    return scores, labels


def rare_positives(rows: int = 100_000, seed: int = 5) -> tuple[list[float], list[int]]:
    """0.1% positives with continuous scores."""
    rng = random.Random(seed)
    labels = [1 if rng.random() < 0.001 else 0 for _ in range(rows)]
    scores = [min(max(rng.gauss(0.7 if label else 0.3, 0.15), 0.0), 1.0) for label in labels]
    return scores, labels
