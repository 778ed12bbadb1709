"""Histogram metrics against scikit-learn's exact values, and the AP bounds as a property."""

import math
import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score, roc_auc_score

from spark_jobs.model_quality import metrics
from tests.spark_jobs.model_quality import cases


def histogram_of(scores, labels, bins=10_000):
    counts = {}
    for score, label in zip(scores, labels):
        pos, neg = counts.get(metrics.bin_of(score, bins), (0, 0))
        counts[metrics.bin_of(score, bins)] = (pos + label, neg + (1 - label))
    return metrics.Histogram.from_counts(bins, counts)


@pytest.mark.parametrize("dataset", [cases.ties_and_extremes, cases.rare_positives])
def test_average_precision_and_roc_auc_match_scikit_learn(dataset):
    scores, labels = dataset()
    histogram = histogram_of(scores, labels)
    assert metrics.average_precision(histogram) == pytest.approx(average_precision_score(labels, scores), abs=1e-4)
    assert metrics.roc_auc(histogram) == pytest.approx(roc_auc_score(labels, scores), abs=1e-4)
    lower, upper = metrics.average_precision_bounds(histogram)
    assert lower <= average_precision_score(labels, scores) <= upper


def test_scores_on_bin_edges_give_exact_values():
    scores = [0.0, 0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 0.75, 0.5, 0.25]  # one value per bin of 4
    labels = [0, 0, 1, 1, 0, 1, 1, 0, 1, 0]
    histogram = histogram_of(scores, labels, bins=4)
    assert metrics.average_precision(histogram) == pytest.approx(average_precision_score(labels, scores), abs=1e-12)
    assert metrics.roc_auc(histogram) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    at_half = metrics.at_threshold(histogram, 0.5)
    predicted = [int(score >= 0.5) for score in scores]
    assert at_half.precision == pytest.approx(precision_score(labels, predicted))
    assert at_half.recall == pytest.approx(recall_score(labels, predicted))
    assert at_half.f1 == pytest.approx(f1_score(labels, predicted))
    assert at_half.fpr == pytest.approx(2 / 5)


def test_one_class_days_are_defined():
    only_negatives = histogram_of([0.1, 0.5, 0.9], [0, 0, 0])
    assert metrics.average_precision(only_negatives) is None
    assert metrics.average_precision_bounds(only_negatives) == (None, None)
    assert metrics.roc_auc(only_negatives) is None
    assert metrics.best_f1(only_negatives) is None
    assert metrics.curve(only_negatives) == []
    assert metrics.at_threshold(only_negatives, 0.5).recall is None

    only_positives = histogram_of([0.1, 0.5, 0.9], [1, 1, 1])
    assert metrics.average_precision(only_positives) == average_precision_score([1, 1, 1], [0.1, 0.5, 0.9]) == 1.0
    assert metrics.roc_auc(only_positives) is None
    assert metrics.at_threshold(only_positives, 0.5).fpr is None


def test_best_f1_is_the_best_bin_edge():
    scores, labels = cases.ties_and_extremes(rows=3_000)
    histogram = histogram_of(scores, labels, bins=100)
    best = metrics.best_f1(histogram)
    for edge in range(100):
        assert metrics.at_threshold(histogram, edge / 100).f1 <= best.f1 + 1e-12
    assert best.f1 == pytest.approx(f1_score(labels, [int(s >= best.threshold) for s in scores]))


def test_curve_is_thinned_to_at_most_a_thousand_points_keeping_both_ends():
    scores, labels = cases.ties_and_extremes()
    histogram = histogram_of(scores, labels)
    points = metrics.curve(histogram)
    assert len(points) <= 1000
    assert points[-1][2] == 1.0
    thresholds = [point[0] for point in points]
    assert thresholds == sorted(thresholds, reverse=True)
    assert (
        points[0][0]
        == max(i for i, (p, n) in enumerate(zip(histogram.positives, histogram.negatives)) if p or n) / histogram.bins
    )


def test_merged_histograms_equal_the_histogram_of_all_records():
    first, second = cases.ties_and_extremes(seed=1), cases.ties_and_extremes(seed=2)
    merged = histogram_of(*first).merge(histogram_of(*second))
    assert merged == histogram_of(first[0] + second[0], first[1] + second[1])
    with pytest.raises(ValueError, match="10000 and 10 bins"):
        merged.merge(metrics.Histogram.empty(10))


def test_harmonic_sums_are_accurate_for_long_runs():
    exact = math.fsum(1.0 / i for i in range(1_000, 3_000_001))
    assert metrics._harmonic_difference(999, 3_000_000) == pytest.approx(exact, rel=1e-12)


scored_records = st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 1)), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(records=scored_records, bins=st.integers(1, 50))
def test_exact_average_precision_always_lies_within_the_reported_bounds(records, bins):
    scores = [score for score, _ in records]
    labels = [label for _, label in records]
    histogram = histogram_of(scores, labels, bins=bins)
    lower, upper = metrics.average_precision_bounds(histogram)
    if sum(labels) == 0:
        assert (lower, upper) == (None, None)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exact = average_precision_score(labels, scores)
    assert lower - 1e-9 <= exact <= upper + 1e-9
    assert lower - 1e-9 <= metrics.average_precision(histogram) <= upper + 1e-9
