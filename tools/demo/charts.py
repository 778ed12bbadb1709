"""The demo's PNG charts, drawn from the precision-recall job's own outputs (what the dashboard shows)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a build machine
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from tools.demo.pipeline import DemoResult, DayResult  # noqa: E402

THRESHOLD_COLUMNS = ("kind", "threshold", "precision", "recall", "f1", "fpr")


def pr_curve(result: DemoResult, path: Path) -> Path:
    """The last day's PR curve against the first day's, with the no-skill line of the last day."""
    first, last = result.days[0], result.days[-1]
    figure, axes = plt.subplots(figsize=(7, 5))
    for day, style in ((first, "--"), (last, "-")):
        points = sorted(day.curve, key=lambda point: point["recall"])
        axes.plot(
            [p["recall"] for p in points],
            [p["precision"] for p in points],
            style,
            drawstyle="steps-post",
            label=f"{day.day} (AP {day.summary['average_precision']:.3f})",
        )
    no_skill = last.positive_rate
    axes.axhline(no_skill, color="grey", linestyle=":", label=f"no skill (positive rate {no_skill:.3f})")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall curve")
    axes.legend(loc="lower left")
    return _save(figure, path)


def average_precision(result: DemoResult, path: Path, *, alarm_threshold: float, drift_from_day: int) -> Path:
    """AP per day with the job's bounds, the low-AP alarm's threshold and where the drift starts.

    The bounds are drawn as error bars with caps and their widest gap is in the legend: on a demo day they are a
    few thousandths apart, which a shaded band at this scale would not show.
    """
    figure, axes = plt.subplots(figsize=(7, 4))
    days = [str(day.day) for day in result.days]
    values = [day.summary["average_precision"] for day in result.days]
    below = [value - day.summary["average_precision_lower"] for value, day in zip(values, result.days)]
    above = [day.summary["average_precision_upper"] - value for value, day in zip(values, result.days)]
    widest = max(low + high for low, high in zip(below, above))
    axes.errorbar(
        days,
        values,
        yerr=[below, above],
        fmt="o-",
        capsize=6,
        elinewidth=2,
        label=f"average precision, with the job's bounds (exact AP inside; widest {widest:.4f})",
    )
    test_ap = result.evaluation["binary_classification_metrics"]["average_precision"]["value"]
    axes.axhline(test_ap, color="grey", linestyle=":", label=f"test split at training ({test_ap:.3f})")
    axes.axhline(
        alarm_threshold, color="tab:red", linestyle="--", label=f"alarm: average precision below {alarm_threshold:g}"
    )
    if 1 <= drift_from_day <= len(days):
        axes.axvline(
            drift_from_day - 1.5 if drift_from_day > 1 else -0.5,
            color="tab:orange",
            linestyle="-.",
            label=f"drift starts (day {drift_from_day})",
        )
    axes.set(
        ylabel="average precision", ylim=(0, 1.3), yticks=[0, 0.2, 0.4, 0.6, 0.8, 1.0], title="Average precision by day"
    )
    axes.legend(loc="upper right", fontsize="small")  # above the data: AP is at most 1
    figure.autofmt_xdate()
    return _save(figure, path)


def threshold_rows(day: DayResult) -> list[list[str]]:
    rows = sorted(day.thresholds, key=lambda row: (row["kind"], row["threshold"]))
    return [
        [row["kind"], *(f"{row[column]:.3f}" if row[column] is not None else "-" for column in THRESHOLD_COLUMNS[1:])]
        for row in rows
    ]


def precision_recall_by_threshold(result: DemoResult, path: Path, *, decision_threshold: float) -> Path:
    """Precision and recall of the last day against the decision threshold, with the production threshold and the
    best-F1 one marked: what a threshold change would trade."""
    day = result.days[-1]
    points = sorted(day.curve, key=lambda point: point["threshold"])
    figure, axes = plt.subplots(figsize=(7, 4))
    thresholds = [p["threshold"] for p in points]
    axes.plot(thresholds, [p["precision"] for p in points], label="precision")
    axes.plot(thresholds, [p["recall"] for p in points], label="recall")
    axes.axvline(decision_threshold, color="grey", linestyle=":", label=f"decision threshold ({decision_threshold:g})")
    best = next((row for row in day.thresholds if row["kind"] == "best_f1"), None)
    if best:
        axes.axvline(
            best["threshold"],
            color="tab:green",
            linestyle="--",
            label=f"best F1 ({best['f1']:.3f} at {best['threshold']:.3f})",
        )
    axes.set(
        xlabel="threshold (score at or above is positive)",
        ylabel="fraction",
        xlim=(0, 1),
        ylim=(0, 1.02),
        title=f"Precision and recall against threshold, {day.day}",
    )
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
