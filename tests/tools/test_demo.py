"""The local demo runs the real data code end to end; its numbers agree with an independent reference."""

from __future__ import annotations

import pytest

from tools.demo import charts
from tools.demo.__main__ import parse_arguments, summary_markdown
from tools.demo.pipeline import BAD_CAPTURE_LINES, DemoSettings, Progress, run


@pytest.fixture(scope="module")
def demo(spark, tmp_path_factory):
    output = tmp_path_factory.mktemp("demo")
    settings = DemoSettings(output=output, training_rows=3_000, days=2, customers_per_day=600, drift_from_day=2)
    progress = Progress(total=5)
    return settings, run(spark, settings, progress), progress


def test_bad_rows_are_quarantined_and_counted(demo):
    _, result, _ = demo
    assert result.preprocessing["rows_read"] == 3_003
    assert {reason: n for reason, n in result.preprocessing["rejected"].items() if n} == {
        "wrong_field_count": 1,
        "not_numeric": 1,
        "unknown_category": 1,
    }
    assert all(day.bad_lines == len(BAD_CAPTURE_LINES) for day in result.days)


def test_every_prediction_is_joined_to_its_late_label(demo):
    _, result, _ = demo
    assert [day.summary["rows_joined"] for day in result.days] == [600, 600]
    assert all(day.summary["label_coverage"] == 1.0 for day in result.days)


def test_job_bounds_contain_scikit_learns_exact_average_precision(demo):
    _, result, _ = demo
    for day in result.days:
        assert day.summary["average_precision_lower"] <= day.scikit_learn_average_precision + 1e-12
        assert day.scikit_learn_average_precision <= day.summary["average_precision_upper"] + 1e-12
    assert result.rollup["days"] == 2


def test_drifted_day_scores_worse_and_the_model_beats_no_skill(demo):
    _, result, _ = demo
    first, drifted = result.days
    assert drifted.summary["average_precision"] < first.summary["average_precision"]
    assert first.summary["average_precision"] > 2 * first.positive_rate


def test_charts_and_summary_are_written(demo):
    settings, result, progress = demo
    written = [
        charts.pr_curve(result, settings.output / "pr_curve.png"),
        charts.average_precision(
            result,
            settings.output / "average_precision.png",
            alarm_threshold=0.2,
            drift_from_day=settings.drift_from_day,
        ),
        charts.precision_recall_by_threshold(
            result, settings.output / "precision_recall_by_threshold.png", decision_threshold=0.5
        ),
    ]
    assert all(path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for path in written)
    text = summary_markdown(result, written, progress.close())
    assert f"| {result.days[1].day} | 600 | 1.000 |" in text
    assert text.count("| requested |") == 5 and "| best_f1 |" in text


def test_demo_arguments_are_checked():
    assert parse_arguments(["--days", "3"]).drift_from_day == 2
    with pytest.raises(SystemExit):
        parse_arguments(["--days", "1"])


def drawn(monkeypatch, draw):
    """What a chart function puts on its axes: (legend labels, the artists it drew), without writing a file."""
    captured = {}
    monkeypatch.setattr(charts, "_save", lambda figure, path: captured.setdefault("figure", figure) and path)
    draw()
    (axes,) = captured["figure"].axes
    return [text.get_text() for text in axes.get_legend().get_texts()], axes


def test_average_precision_chart_shows_bounds_alarm_threshold_and_drift(demo, monkeypatch, tmp_path):
    settings, result, _ = demo
    labels, axes = drawn(
        monkeypatch,
        lambda: charts.average_precision(
            result, tmp_path / "ap.png", alarm_threshold=0.2, drift_from_day=settings.drift_from_day
        ),
    )
    assert any(label.startswith("average precision, with the job's bounds") and "widest" in label for label in labels)
    assert "alarm: average precision below 0.2" in labels
    assert f"drift starts (day {settings.drift_from_day})" in labels
    # The bounds are error bars (visible whatever their width), not a shaded band thinner than the line.
    assert axes.containers
    assert any(abs(line.get_ydata()[0] - 0.2) < 1e-12 for line in axes.get_lines() if len(line.get_ydata()) == 2)


def test_threshold_chart_plots_precision_and_recall_against_the_threshold(demo, monkeypatch, tmp_path):
    _, result, _ = demo
    labels, axes = drawn(
        monkeypatch, lambda: charts.precision_recall_by_threshold(result, tmp_path / "t.png", decision_threshold=0.5)
    )
    assert labels[:3] == ["precision", "recall", "decision threshold (0.5)"]
    assert axes.get_xlabel().startswith("threshold")
    precision = axes.get_lines()[0]
    assert len(precision.get_xdata()) == len(result.days[-1].curve) > 2
