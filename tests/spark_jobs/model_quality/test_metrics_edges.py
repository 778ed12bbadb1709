"""Edges of the interval math, against values computed independently (scipy's normal quantile and logistic
functions, and Wilson's formula worked by hand), and the empty histogram a day without data gets."""

import math

import pytest
from scipy.special import digamma, expit, logit
from scipy.stats import norm

from spark_jobs.model_quality import metrics

Z = norm.ppf(0.975)


@pytest.mark.parametrize(("ap", "positives"), [(0.5, 100), (0.8, 30), (0.35, 1)])
def test_the_average_precision_interval_is_the_logit_interval_of_boyd_eng_and_page(ap, positives):
    spread = Z / math.sqrt(positives * ap * (1 - ap))
    lower, upper = metrics.average_precision_interval(ap, positives)
    assert lower == pytest.approx(expit(logit(ap) - spread), abs=1e-12)
    assert upper == pytest.approx(expit(logit(ap) + spread), abs=1e-12)


def test_the_average_precision_interval_needs_an_ap_and_a_positive():
    assert metrics.average_precision_interval(0.5, 0) == (None, None)
    assert metrics.average_precision_interval(None, 10) == (None, None)
    assert metrics.average_precision_interval(0.0, 10) == (0.0, 0.0)


def test_wilson_interval_of_one_success_in_one_trial():
    # share 1, n 1: centre (1 + z^2/2) / (1 + z^2), half (z^2/2) / (1 + z^2): [1 / (1 + z^2), 1].
    assert metrics.wilson_interval(1, 1) == (pytest.approx(1 / (1 + Z * Z), abs=1e-12), pytest.approx(1.0))


def test_an_empty_histogram_has_no_rows_and_no_metrics():
    empty = metrics.Histogram.empty(4)
    assert empty == metrics.Histogram((0, 0, 0, 0), (0, 0, 0, 0))
    assert metrics.average_precision(empty) is None


# Four bins, worked by hand: from the top, bin 3 holds 2 positives, bin 2 one positive, bin 1 one of each, bin 0
# two negatives. Thresholds at the lower edges 0.75, 0.5, 0.25, 0: precision 2/2, 3/3, 4/5, 4/7; recall 2/4, 3/4, 1,
# 1; F1 2/3, 6/7, 8/9, 8/11, so the best F1 is at 0.25.
HAND = metrics.Histogram((0, 1, 1, 2), (2, 1, 0, 0))


def test_bin_edges():
    assert [(HAND.lower(i), HAND.upper(i)) for i in range(4)] == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]


def test_the_curve_of_a_histogram_worked_by_hand():
    assert metrics.curve(HAND) == pytest.approx(
        [(0.75, 1.0, 0.5), (0.5, 1.0, 0.75), (0.25, 0.8, 1.0), (0.0, 4 / 7, 1.0)]
    )


def test_the_summary_names_the_best_f1_threshold_worked_by_hand():
    assert metrics.summarize(HAND, [0.5])["best_f1_threshold"] == 0.25


@pytest.mark.parametrize(("low", "high"), [(0, 2_500_000), (10, 1_500_000), (100, 3_000_000), (1000, 1001)])
def test_harmonic_differences_match_the_digamma_function(low, high):
    # H(n) = digamma(n + 1) + Euler's gamma, so the sum of 1/i over (low, high] is a difference of digammas.
    expected = digamma(high + 1) - digamma(low + 1)
    assert metrics._harmonic_difference(low, high) == pytest.approx(expected, rel=1e-12)
