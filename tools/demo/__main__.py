"""`make demo`: run the kit's data plane locally and write results and charts to demo-output/.

python -m tools.demo [--output demo-output] [--training-rows 50000] [--days 5] [--customers-per-day 4000]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

from stacks.model_quality.settings import ModelQualitySettings
from tools import local_spark
from tools.demo import charts
from tools.demo.pipeline import DemoResult, DemoSettings, Progress, run


def parse_arguments(argv: list[str]) -> DemoSettings:
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    parser.add_argument("--training-rows", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=5)
    parser.add_argument("--customers-per-day", type=int, default=4_000)
    namespace = parser.parse_args(argv)
    if namespace.training_rows < 1_000 or namespace.days < 2 or namespace.customers_per_day < 100:
        parser.error("--training-rows must be at least 1000, --days at least 2, --customers-per-day at least 100")
    return DemoSettings(
        output=namespace.output,
        training_rows=namespace.training_rows,
        days=namespace.days,
        customers_per_day=namespace.customers_per_day,
        drift_from_day=max(2, namespace.days - 1),
    )


def summary_markdown(result: DemoResult, charts_written: list[Path], seconds: dict[str, float]) -> str:
    metrics = result.evaluation["binary_classification_metrics"]
    lines = [
        "# Kit demo results",
        "",
        f"- Training data: {result.preprocessing['rows_read']:,} rows, {result.preprocessing['rows_rejected']} "
        f"quarantined ({', '.join(f'{k}: {v}' for k, v in result.preprocessing['rejected'].items() if v)}).",
        f"- Model: test AUC {metrics['auc']['value']:.4f}, average precision "
        f"{metrics['average_precision']['value']:.4f} on {result.evaluation['rows']:,} held-out rows.",
        f"- Rollup over {len(result.days)} days: average precision {result.rollup['average_precision']:.4f}.",
        "",
        "| day | predictions | label coverage | positive rate | AP (job) | AP bounds | AP (scikit-learn) | bad lines |",
        "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for day in result.days:
        s = day.summary
        lines.append(
            f"| {day.day} | {s['rows_joined']:,} | {s['label_coverage']:.3f} | {day.positive_rate:.3f} | "
            f"{s['average_precision']:.4f} | {s['average_precision_lower']:.4f}..{s['average_precision_upper']:.4f} "
            f"| {day.scikit_learn_average_precision:.4f} | {day.bad_lines} |"
        )
    lines += [
        "",
        f"Thresholds on {result.days[-1].day}:",
        "",
        "| " + " | ".join(charts.THRESHOLD_COLUMNS) + " |",
        "|" + " --- |" * len(charts.THRESHOLD_COLUMNS),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in charts.threshold_rows(result.days[-1])]
    lines += [
        "",
        "Charts: " + ", ".join(path.name for path in charts_written),
        "",
        "Seconds per step: " + ", ".join(f"{name} {value:.1f}" for name, value in seconds.items()),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    settings = parse_arguments(argv)
    # The evaluation step names the model file as SageMaker does (no extension); xgboost guesses right and says so.
    warnings.filterwarnings("ignore", message=r".*Unknown file format", category=UserWarning)
    started = time.perf_counter()
    settings.output.mkdir(parents=True, exist_ok=True)
    progress = Progress(total=6)
    print("starting local Spark (pyspark 3.5.6, the Spark of EMR 7.13.0) ...", flush=True)
    spark = local_spark.session("kit-demo")
    try:
        result = run(spark, settings, progress)
    finally:
        spark.stop()
    progress.start("charts", f"PNG charts and summary.md in {settings.output}/")
    config = (
        ModelQualitySettings.for_profile()
    )  # the sandbox profile's alarm and decision thresholds, as a deployed monitor has them
    written = [
        charts.pr_curve(result, settings.output / "pr_curve.png"),
        charts.average_precision(
            result,
            settings.output / "average_precision.png",
            alarm_threshold=config.quality_min_average_precision,
            drift_from_day=settings.drift_from_day,
        ),
        charts.precision_recall_by_threshold(
            result,
            settings.output / "precision_recall_by_threshold.png",
            decision_threshold=config.quality_decision_threshold,
        ),
    ]
    seconds = progress.close()
    (settings.output / "summary.md").write_text(summary_markdown(result, written, seconds))
    print(
        f"demo finished in {time.perf_counter() - started:.0f} s; open {settings.output}/summary.md and the PNG "
        f"charts; the job's outputs are in {settings.output}/results/",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
