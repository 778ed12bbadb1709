"""The AP bounds are the exact least and greatest AP of scores inside the bins (issue 22: a negative lower bound or a
meaningless upper one passed, because the tests checked only lower <= AP <= upper)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score

from spark_jobs.model_quality import metrics


def arrangement(histogram, best):
    """Labels and scores inside each bin: the bin's positives tied above its negatives (best), or every negative
    above positives ranked one by one (worst)."""
    labels, scores = [], []
    width = 1.0 / histogram.bins
    for index in range(histogram.bins):
        low, pos, neg = index * width, histogram.positives[index], histogram.negatives[index]
        labels += [0] * neg
        scores += [low + width * (0.2 if best else 0.9)] * neg
        labels += [1] * pos
        scores += [low + width * 0.5] * pos if best else [low + width * (0.8 - 0.7 * k / (pos + 1)) for k in range(pos)]
    return labels, scores


def test_bounds_of_a_small_histogram_computed_by_hand():
    # High bin: 1 positive, 1 negative; low bin: 1 positive.
    # Least: the negative first (1/2), then the low positive third (2/3): (1/2 + 2/3) / 2 = 7/12.
    # Greatest: the high positive first (1/1), the low one third (2/3): (1 + 2/3) / 2 = 5/6.
    histogram = metrics.Histogram(positives=(1, 1), negatives=(0, 1))
    assert metrics.average_precision_bounds(histogram) == (pytest.approx(7 / 12), pytest.approx(5 / 6))


def test_bounds_of_one_bin_with_everything_tied():
    # 2 positives, 3 negatives in one bin. Least: negatives first, then 1/4 + 2/5; greatest: tied positives 2/2.
    histogram = metrics.Histogram(positives=(2,), negatives=(3,))
    lower, upper = metrics.average_precision_bounds(histogram)
    assert lower == pytest.approx((1 / 4 + 2 / 5) / 2)
    assert upper == pytest.approx(1.0)
    assert metrics.average_precision(histogram) == pytest.approx(2 / 5)  # scikit-learn's tie group: 2 of 5


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=1, max_size=6).filter(
        lambda bins: sum(p for p, _ in bins) > 0
    )
)
def test_the_bounds_are_attained_by_scores_inside_the_bins(bins):
    histogram = metrics.Histogram(tuple(p for p, _ in bins), tuple(n for _, n in bins))
    lower, upper = metrics.average_precision_bounds(histogram)
    assert lower == pytest.approx(average_precision_score(*arrangement(histogram, best=False)), abs=1e-12)
    assert upper == pytest.approx(average_precision_score(*arrangement(histogram, best=True)), abs=1e-12)
