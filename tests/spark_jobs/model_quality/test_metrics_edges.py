"""Edges of the interval math, against values computed independently (scipy's normal quantile and logistic
functions, and Wilson's formula worked by hand), and the empty histogram a day without data gets."""

import math

import pytest
from scipy.special import expit, logit
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
