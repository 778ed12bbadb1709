"""95% intervals of the day's metrics: coverage on synthetic data with a known answer, and the sampling percent.

Synthetic model: scores are Phi(x), x ~ N(0, 1) for negatives and N(mu, 1) for positives, positives a share pi.
The population's AP, precision and recall at a threshold follow from the normal CDF, so each draw's interval
either holds the true value or not. Tolerance: with R draws the empirical coverage has a Monte Carlo standard
error of sqrt(0.95 x 0.05 / R), 0.0077 at R = 800; the test allows 0.03 (about four of them, and room for the
methods' own approximation: both are large-sample intervals). The seeds are fixed, so the test cannot flake.
"""

import math

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from spark_jobs.model_quality import metrics

DRAWS = 800
BINS = 1000
THRESHOLD = 0.5


def population(mu: float, pi: float, threshold: float) -> tuple[float, float, float]:
    """True AP (the integral of precision over recall), precision and recall at the threshold."""
    x = np.linspace(-12.0, 12.0 + mu, 200_001)
    tpr, fpr = ndtr(mu - x), ndtr(-x)
    precision = pi * tpr / (pi * tpr + (1 - pi) * fpr)
    density = np.exp(-((x - mu) ** 2) / 2) / math.sqrt(2 * math.pi)
    ap = float(np.sum(precision * density) * (x[1] - x[0]))
    cut = ndtri(threshold)
    tp, fp = ndtr(mu - cut), ndtr(-cut)
    return ap, float(pi * tp / (pi * tp + (1 - pi) * fp)), float(tp)


def draw(rng, mu: float, pi: float, rows: int) -> metrics.Histogram:
    labels = rng.random(rows) < pi
    bins = np.minimum((ndtr(rng.normal(0.0, 1.0, rows) + mu * labels) * BINS).astype(int), BINS - 1)
    return metrics.Histogram(
        tuple(np.bincount(bins[labels], minlength=BINS).tolist()),
        tuple(np.bincount(bins[~labels], minlength=BINS).tolist()),
    )


@pytest.mark.parametrize(("mu", "pi", "rows", "seed"), [(2.0, 0.1, 5000, 7), (1.5, 0.05, 10_000, 8)])
def test_intervals_cover_the_true_values_95_percent_of_the_time(mu, pi, rows, seed):
    true_ap, true_precision, true_recall = population(mu, pi, THRESHOLD)
    rng = np.random.default_rng(seed)
    covered = np.zeros(3)
    for _ in range(DRAWS):
        histogram = draw(rng, mu, pi, rows)
        ap_lower, ap_upper = metrics.average_precision_interval(
            metrics.average_precision(histogram), histogram.total_positives
        )
        at = metrics.at_threshold(histogram, THRESHOLD)
        covered += [
            ap_lower <= true_ap <= ap_upper,
            at.precision_lower <= true_precision <= at.precision_upper,
            at.recall_lower <= true_recall <= at.recall_upper,
        ]
    coverage = covered / DRAWS
    assert coverage == pytest.approx([0.95, 0.95, 0.95], abs=0.03), dict(zip(("ap", "precision", "recall"), coverage))


def test_the_intervals_hold_their_estimate_and_narrow_with_more_data():
    rng = np.random.default_rng(1)
    small, large = draw(rng, 2.0, 0.1, 2000), draw(rng, 2.0, 0.1, 50_000)
    widths = []
    for histogram in (small, large):
        figures = metrics.summarize(histogram, [THRESHOLD])
        assert (
            figures["average_precision_ci_lower"] < figures["average_precision"] < figures["average_precision_ci_upper"]
        )
        at = figures["thresholds"][0]
        assert at["precision_lower"] < at["precision"] < at["precision_upper"]
        assert at["recall_lower"] < at["recall"] < at["recall_upper"]
        widths.append(figures["average_precision_ci_upper"] - figures["average_precision_ci_lower"])
    assert widths[1] < widths[0] / 4  # 25 times the rows: a fifth of the width


def test_wilson_interval_known_values_and_edges():
    # 0 of 10: the interval is [0, z^2 / (n + z^2)] = [0, 0.2775]
    assert metrics.wilson_interval(0, 10) == (0.0, pytest.approx(0.27753, abs=1e-5))
    lower, upper = metrics.wilson_interval(50, 100)
    assert (lower, upper) == (pytest.approx(0.40383, abs=1e-5), pytest.approx(0.59617, abs=1e-5))
    assert metrics.wilson_interval(0, 0) == (None, None)
    assert metrics.average_precision_interval(None, 0) == (None, None)
    assert metrics.average_precision_interval(1.0, 5) == (1.0, 1.0)


def test_sampling_at_the_reported_percent_keeps_the_intervals_near_the_target():
    """Capture the reported share of a large day: the widest interval's half-width lands at about the target."""
    rng = np.random.default_rng(3)
    target = 0.02
    full = draw(rng, 2.0, 0.1, 400_000)
    percent = metrics.summarize(full, [THRESHOLD], THRESHOLD, target)["capture_percent_for_target"]
    assert 1 < percent < 100
    sampled = draw(rng, 2.0, 0.1, 400_000 * percent // 100)
    figures = metrics.summarize(sampled, [THRESHOLD])
    at = figures["thresholds"][0]
    widest = (
        max(
            figures["average_precision_ci_upper"] - figures["average_precision_ci_lower"],
            at["precision_upper"] - at["precision_lower"],
            at["recall_upper"] - at["recall_lower"],
        )
        / 2
    )
    assert target * 0.85 <= widest <= target * 1.1


def test_capture_percent_edges():
    assert metrics.capture_percent_for([(0.5, 0.7)], 0.01) == 100  # full capture is not enough
    assert metrics.capture_percent_for([(0.5, 0.5002)], 0.01) == 1  # never below 1%
    assert metrics.capture_percent_for([(0.49, 0.51)], 0.02) == 25  # (0.01 / 0.02)^2
    assert metrics.capture_percent_for([(None, None)], 0.01) is None
