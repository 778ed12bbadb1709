"""Precision-recall metrics from a fixed-bin score histogram, computed on the driver.

A histogram holds, for each of B even bins on [0, 1], the count of positives and negatives whose score falls in it.
Counts are exact at bin edges; only the order of records inside one bin is unknown. Every metric below treats a
bin as one group of tied scores (as scikit-learn treats equal scores), and the average precision also gets the
range it could take for any order inside the bins. Pure Python: it runs on a Spark driver and in tests alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

MAX_CURVE_POINTS = 1000
Z_95 = 1.959963984540054  # two-sided 95% normal quantile
# Only differences of two asymptotic sums are used, where this constant cancels: a mutant of it is equivalent.
_EULER_GAMMA = 0.5772156649015329  # pragma: no mutate


@dataclass(frozen=True)
class Histogram:
    """Counts per even score bin; bin i covers [i/B, (i+1)/B), and the last bin includes 1.0."""

    positives: tuple[int, ...]
    negatives: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.positives) != len(self.negatives) or not self.positives:
            raise ValueError("a histogram needs the same, non-zero number of positive and negative bins")

    @classmethod
    def empty(cls, bins: int) -> Histogram:
        return cls((0,) * bins, (0,) * bins)

    @classmethod
    def from_counts(cls, bins: int, counts: dict[int, tuple[int, int]]) -> Histogram:
        """Build from sparse {bin: (positives, negatives)} as an aggregation returns it."""
        positives, negatives = [0] * bins, [0] * bins
        for index, (pos, neg) in counts.items():
            positives[index] += pos
            negatives[index] += neg
        return cls(tuple(positives), tuple(negatives))

    @property
    def bins(self) -> int:
        return len(self.positives)

    @property
    def total_positives(self) -> int:
        return sum(self.positives)

    @property
    def total_negatives(self) -> int:
        return sum(self.negatives)

    def lower(self, index: int) -> float:
        return index / self.bins

    def upper(self, index: int) -> float:
        return (index + 1) / self.bins

    def merge(self, other: Histogram) -> Histogram:
        if other.bins != self.bins:
            raise ValueError(f"cannot merge histograms of {self.bins} and {other.bins} bins")
        return Histogram(
            tuple(a + b for a, b in zip(self.positives, other.positives)),
            tuple(a + b for a, b in zip(self.negatives, other.negatives)),
        )

    def descending(self) -> Iterator[tuple[int, int, int, int, int]]:
        """Non-empty bins from the highest score down, with the counts above each: (index, pos, neg, tp, fp)."""
        true_pos = false_pos = 0
        for index in range(self.bins - 1, -1, -1):
            pos, neg = self.positives[index], self.negatives[index]
            if pos or neg:
                yield index, pos, neg, true_pos, false_pos
                true_pos += pos
                false_pos += neg


def bin_of(score: float, bins: int) -> int:
    """The bin a score in [0, 1] falls in; the same rule as the Spark job's column expression."""
    return min(int(math.floor(score * bins)), bins - 1)


def _harmonic_difference(low: int, high: int) -> float:
    """Sum of 1/i for i in (low, high]: exact for short runs, asymptotic (error below 1e-15) for long ones."""
    # Both ways are exact to 1e-15 at the cut-over, so moving it by one is an equivalent mutant.
    if high - low <= 256 or low < 64:  # pragma: no mutate
        start = low + 1
        if high - start > 1_000_000:  # pragma: no mutate (the split point does not change the sum)
            return _harmonic_difference(low, start + 63) + _harmonic_difference(start + 63, high)
        return math.fsum(1.0 / i for i in range(start, high + 1))
    return _harmonic_asymptotic(high) - _harmonic_asymptotic(low)


def _harmonic_asymptotic(n: int) -> float:
    inverse_square = 1.0 / (n * n)
    return (
        math.log(n)
        + _EULER_GAMMA
        + 0.5 / n
        - inverse_square * (1.0 / 12 - inverse_square * (1.0 / 120 - inverse_square / 252))
    )


def _precision_run(true_pos: int, ranked: int, positives: int) -> float:
    """Sum of precisions at positives ranked one after another: sum over i of (tp + i) / (ranked + i)."""
    if positives == 0:
        return 0.0
    above_negatives = ranked - true_pos
    if above_negatives == 0:
        return float(positives)
    return positives - above_negatives * _harmonic_difference(ranked, ranked + positives)


def average_precision(histogram: Histogram) -> float | None:
    """Step-wise AP with each bin as one tie group, as scikit-learn's average_precision_score; None without positives."""
    total = histogram.total_positives
    if total == 0:
        return None
    area = 0.0
    for _, pos, neg, true_pos, false_pos in histogram.descending():
        if pos:
            area += pos * (true_pos + pos) / (true_pos + false_pos + pos + neg)
    return area / total


def average_precision_bounds(histogram: Histogram) -> tuple[float, float] | tuple[None, None]:
    """The least and greatest AP that any scores inside the bins could give, ties among them included.

    A positive's precision is (tp + k) / (ranked + k + j) with k >= its rank among the bin's positives and j at
    most the bin's negatives. The least is each negative ranked ahead and positives one by one; the greatest is
    the bin's positives tied together ahead of its negatives, (tp + p) / (ranked + p) for each. Bins never mix.
    """
    total = histogram.total_positives
    if total == 0:
        return None, None
    lower = upper = 0.0
    for _, pos, neg, true_pos, false_pos in histogram.descending():
        ranked = true_pos + false_pos
        lower += _precision_run(true_pos, ranked + neg, pos)
        upper += pos * (true_pos + pos) / (ranked + pos) if pos else 0.0
    return min(lower / total, 1.0), min(upper / total, 1.0)


def roc_auc(histogram: Histogram) -> float | None:
    """Area under the ROC curve with ties inside a bin counted half; None unless both classes are present."""
    total_pos, total_neg = histogram.total_positives, histogram.total_negatives
    if total_pos == 0 or total_neg == 0:
        return None
    area = 0.0
    for _, pos, neg, true_pos, _ in histogram.descending():
        area += neg * (true_pos + pos / 2)
    return area / (total_pos * total_neg)


@dataclass(frozen=True)
class ThresholdMetrics:
    """Classification at `score >= threshold`; a ratio with a zero denominator is None."""

    threshold: float
    precision: float | None
    recall: float | None
    f1: float | None
    fpr: float | None
    precision_lower: float | None
    precision_upper: float | None
    recall_lower: float | None
    recall_upper: float | None

    def as_dict(self) -> dict[str, float | None]:
        return {
            "threshold": self.threshold,
            "precision": self.precision,
            "recall": self.recall,
            "f1": self.f1,
            "fpr": self.fpr,
            "precision_lower": self.precision_lower,
            "precision_upper": self.precision_upper,
            "recall_lower": self.recall_lower,
            "recall_upper": self.recall_upper,
        }


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | tuple[None, None]:
    """Wilson score interval of a binomial proportion; (None, None) without trials.

    Precision is true positives out of predicted positives, recall true positives out of positives: each is a
    proportion, and Wilson's interval keeps near its nominal coverage at small counts and near 0 or 1, where
    the plain normal interval does not (Brown, Cai, DasGupta, "Interval Estimation for a Binomial Proportion",
    Statistical Science 16(2), 2001).
    """
    if trials <= 0:
        return None, None
    share = successes / trials
    z2 = z * z
    centre = (share + z2 / (2 * trials)) / (1 + z2 / trials)
    half = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials)) / (1 + z2 / trials)
    return max(0.0, centre - half), min(1.0, centre + half)


def average_precision_interval(
    ap: float | None, positives: int, z: float = Z_95
) -> tuple[float, float] | tuple[None, None]:
    """95% logit interval of the average precision: expit(logit(AP) +- z / sqrt(n AP (1 - AP))), n positives.

    One of the two intervals that Boyd, Eng and Page recommend after a simulation study of AUCPR estimators
    ("Area Under the Precision-Recall Curve: Point Estimates and Confidence Intervals", ECML PKDD 2013); it
    needs only the day's AP and positive count, so a rollup gets one from its merged histogram as well.
    An AP of exactly 0 or 1 gets the degenerate interval at that value.
    """
    if ap is None or positives <= 0:
        return None, None
    if ap <= 0.0 or ap >= 1.0:
        return ap, ap
    logit = math.log(ap / (1 - ap))
    spread = z / math.sqrt(positives * ap * (1 - ap))
    return 1 / (1 + math.exp(-(logit - spread))), 1 / (1 + math.exp(-(logit + spread)))


def capture_percent_for(intervals: list[tuple[float | None, float | None]], target_half_width: float) -> int | None:
    """The Data Capture sampling percent that keeps every interval's half-width within the target.

    Each half-width shrinks as 1/sqrt(n) with the count it is built on, and sampling keeps that share of every
    count, so capturing a fraction f widens a half-width h to h/sqrt(f): f = (h / target)^2 for the widest one.
    Rounded up to a whole percent (Data Capture's InitialSamplingPercentage is an integer) within 1..100; 100
    also when even full capture misses the target. None when the day has no interval at all.
    """
    # An interval's ends are both None or both numbers (wilson_interval, ap_interval): `or` is equivalent here.
    halves = [(hi - lo) / 2 for lo, hi in intervals if lo is not None and hi is not None]  # pragma: no mutate
    if not halves:
        return None
    fraction = (max(halves) / target_half_width) ** 2
    return min(100, max(1, math.ceil(round(100 * fraction, 9))))


def _classify(threshold: float, true_pos: int, false_pos: int, total_pos: int, total_neg: int) -> ThresholdMetrics:
    precision = _ratio(true_pos, true_pos + false_pos)
    recall = _ratio(true_pos, total_pos)
    f1 = (
        _ratio(2 * true_pos, 2 * true_pos + false_pos + (total_pos - true_pos))
        if true_pos
        else (0.0 if total_pos else None)
    )
    return ThresholdMetrics(
        threshold,
        precision,
        recall,
        f1,
        _ratio(false_pos, total_neg),
        *wilson_interval(true_pos, true_pos + false_pos),
        *wilson_interval(true_pos, total_pos),
    )


def first_bin_at_or_above(threshold: float, bins: int) -> int:
    """The first bin whose lower edge is >= threshold (thresholds between edges round up to the next edge)."""
    scaled = threshold * bins
    nearest = round(scaled)
    index = nearest if math.isclose(scaled, nearest, abs_tol=1e-9) else math.ceil(scaled)
    return min(max(index, 0), bins)


def at_threshold(histogram: Histogram, threshold: float) -> ThresholdMetrics:
    """Metrics for predicting positive when the score is at least `threshold`; exact when it is a bin edge."""
    start = first_bin_at_or_above(threshold, histogram.bins)
    true_pos, false_pos = sum(histogram.positives[start:]), sum(histogram.negatives[start:])
    return _classify(threshold, true_pos, false_pos, histogram.total_positives, histogram.total_negatives)


def best_f1(histogram: Histogram) -> ThresholdMetrics | None:
    """The bin lower edge with the highest F1 (the higher threshold on a tie); None without positives."""
    total_pos, total_neg = histogram.total_positives, histogram.total_negatives
    if total_pos == 0:
        return None
    best: ThresholdMetrics | None = None
    for index, pos, neg, true_pos, false_pos in histogram.descending():
        candidate = _classify(histogram.lower(index), true_pos + pos, false_pos + neg, total_pos, total_neg)
        # With positives present every F1 is defined (0.0 at no true positive), so `or 0.0` never stands in.
        if best is None or (candidate.f1 or 0.0) > (best.f1 or 0.0):
            best = candidate
    return best


def curve(histogram: Histogram, max_points: int = MAX_CURVE_POINTS) -> list[tuple[float, float, float]]:
    """(threshold, precision, recall) at each non-empty bin's lower edge, thinned evenly to at most max_points.

    The first (highest threshold) and last (recall 1) points are always kept. Empty without positives.
    """
    total_pos = histogram.total_positives
    if total_pos == 0:
        return []
    points = [
        (histogram.lower(index), (true_pos + pos) / (true_pos + false_pos + pos + neg), (true_pos + pos) / total_pos)
        for index, pos, neg, true_pos, false_pos in histogram.descending()
    ]
    # With exactly max_points points the thinning below keeps them all, so `<` is an equivalent mutant.
    if len(points) <= max_points:  # pragma: no mutate
        return points
    last = len(points) - 1
    picks = sorted({round(i * last / (max_points - 1)) for i in range(max_points)})
    return [points[i] for i in picks]


def summarize(
    histogram: Histogram,
    thresholds: list[float],
    decision_threshold: float | None = None,
    target_half_width: float | None = None,
) -> dict[str, Any]:
    """The metric part of a day's (or a rollup's) summary.

    `average_precision_lower/upper` bound the binning error; `average_precision_ci_lower/upper` is the 95%
    confidence interval from the sample size. With a decision threshold and a target half-width, the summary
    also says which Data Capture sampling percent would keep the AP, precision and recall intervals within it.
    """
    lower, upper = average_precision_bounds(histogram)
    best = best_f1(histogram)
    ap = average_precision(histogram)
    ci_lower, ci_upper = average_precision_interval(ap, histogram.total_positives)
    at_thresholds = [at_threshold(histogram, t) for t in thresholds]
    figures = {
        "positives": histogram.total_positives,
        "negatives": histogram.total_negatives,
        "positive_rate": _ratio(histogram.total_positives, histogram.total_positives + histogram.total_negatives),
        "average_precision": ap,
        "average_precision_lower": lower,
        "average_precision_upper": upper,
        "average_precision_ci_lower": ci_lower,
        "average_precision_ci_upper": ci_upper,
        "roc_auc": roc_auc(histogram),
        "best_f1_threshold": best.threshold if best else None,
        "best_f1": best.as_dict() if best else None,
        "thresholds": [figure.as_dict() for figure in at_thresholds],
    }
    if decision_threshold is not None and target_half_width is not None:
        decision = at_threshold(histogram, decision_threshold)
        figures["capture_percent_for_target"] = capture_percent_for(
            [
                (ci_lower, ci_upper),
                (decision.precision_lower, decision.precision_upper),
                (decision.recall_lower, decision.recall_upper),
            ],
            target_half_width,
        )
    return figures
