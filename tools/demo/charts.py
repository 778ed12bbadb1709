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
        axes.plot([p["recall"] for p in points], [p["precision"] for p in points], style, drawstyle="steps-post",
                  label=f"{day.day} (AP {day.summary['average_precision']:.3f})")
    no_skill = last.positive_rate
    axes.axhline(no_skill, color="grey", linestyle=":", label=f"no skill (positive rate {no_skill:.3f})")
    axes.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02), title="Precision-recall curve")
    axes.legend(loc="lower left")
    return _save(figure, path)


def average_precision(result: DemoResult, path: Path) -> Path:
    """AP per day with the job's lower and upper bounds, against the model's test-split AP."""
    figure, axes = plt.subplots(figsize=(7, 4))
    days = [str(day.day) for day in result.days]
    values = [day.summary["average_precision"] for day in result.days]
    lower = [day.summary["average_precision_lower"] for day in result.days]
    upper = [day.summary["average_precision_upper"] for day in result.days]
    axes.fill_between(days, lower, upper, alpha=0.3, label="bounds (exact AP lies inside)")
    axes.plot(days, values, "o-", label="average precision")
    test_ap = result.evaluation["binary_classification_metrics"]["average_precision"]["value"]
    axes.axhline(test_ap, color="grey", linestyle=":", label=f"test split at training ({test_ap:.3f})")
    axes.set(ylabel="average precision", ylim=(0, 1), title="Average precision by day")
    axes.legend(loc="lower left")
    figure.autofmt_xdate()
    return _save(figure, path)


def threshold_rows(day: DayResult) -> list[list[str]]:
    rows = sorted(day.thresholds, key=lambda row: (row["kind"], row["threshold"]))
    return [[row["kind"], *(f"{row[column]:.3f}" if row[column] is not None else "-"
                            for column in THRESHOLD_COLUMNS[1:])] for row in rows]


def threshold_table(result: DemoResult, path: Path) -> Path:
    day = result.days[-1]
    rows = threshold_rows(day)
    figure, axes = plt.subplots(figsize=(7, 0.5 + 0.35 * (len(rows) + 1)))
    axes.axis("off")
    table = axes.table(cellText=rows, colLabels=THRESHOLD_COLUMNS, loc="center")
    table.scale(1, 1.3)
    axes.set_title(f"Decision thresholds, {day.day}")
    return _save(figure, path)


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
