"""The demo's steps: the same data code the cloud runs, on local Spark and xgboost.

churn data -> Spark preprocessing (spark_jobs/churn) -> XGBoost with the pipeline's hyperparameters -> evaluation
(processing_jobs/churn) -> an endpoint's Data Capture and late ground truth for a few days -> the precision-recall
job (spark_jobs/model_quality) for each day, with a rollup -> results for the charts.
"""

from __future__ import annotations

import json
import random
import shutil
import tarfile
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import xgboost

from datagen import churn as churn_data
from datagen.data_capture import HourlyWriter, capture_dir, capture_line, ground_truth_dir, ground_truth_line
from processing_jobs.churn import evaluate
from spark_jobs.churn import preprocess
from spark_jobs.model_quality import pr_curve, records
from stacks.churn_model.pipeline_definition import HYPERPARAMETERS, SPLIT_SEED

FIRST_DAY = date(2026, 11, 16)
THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9)
LABEL_DELAY_DAYS = 1
# Bad input the demo adds on purpose, to show it quarantined and counted rather than crashing a job.
BAD_CUSTOMER_ROWS = [
    "NY,10,415,382-4657,no,no,0,abc,1,1,1,1,1,1,1,1,1,1,1,1,False.\n",
    "ZZ,10,415,382-4657,no,no,0,1,1,1,1,1,1,1,1,1,1,1,1,1,False.\n",
    "NY,10,415\n",
]
BAD_CAPTURE_LINES = ['{"captureData": truncated', '{"eventMetadata": {"eventId": "no-output"}, "eventVersion": "0"}']


@dataclass(frozen=True)
class DemoSettings:
    output: Path
    training_rows: int = 50_000
    days: int = 5
    customers_per_day: int = 4_000
    drift_from_day: int = 4  # from this day on, part of the labels stop following the features (concept drift)
    seed: int = 11


@dataclass
class DayResult:
    day: date
    summary: dict
    scikit_learn_average_precision: float
    curve: list[dict]
    thresholds: list[dict]

    @property
    def positive_rate(self) -> float:
        return self.summary["positives"] / max(1, self.summary["positives"] + self.summary["negatives"])

    @property
    def bad_lines(self) -> int:
        """Rejected as malformed, invalid or duplicate; labels that belong to another day's predictions are not bad."""
        return sum(count for reason, count in self.summary["rejected"].items() if reason not in records.MATCH_REASONS)


@dataclass
class DemoResult:
    preprocessing: dict
    evaluation: dict
    days: list[DayResult]
    rollup: dict


class Progress:
    """Numbered steps with their time, so a newcomer sees where the minutes go."""

    def __init__(self, total: int):
        self.total, self.step, self.seconds = total, 0, {}
        self._started = time.perf_counter()
        self._name = ""

    def start(self, name: str, detail: str = "") -> None:
        self._finish()
        self.step += 1
        self._name, self._started = name, time.perf_counter()
        print(f"[{self.step}/{self.total}] {name}{': ' + detail if detail else ''} ...", flush=True)

    def _finish(self) -> None:
        if self._name:
            self.seconds[self._name] = time.perf_counter() - self._started
            print(f"      done in {self.seconds[self._name]:.1f} s", flush=True)

    def close(self) -> dict[str, float]:
        self._finish()
        self._name = ""
        return self.seconds


def generate_customers(settings: DemoSettings) -> tuple[Path, Path]:
    raw = settings.output / "work" / "raw" / "customers.csv"
    churn_data.generate(raw, rows=settings.training_rows, seed=settings.seed)
    with raw.open("a") as handle:
        handle.writelines(BAD_CUSTOMER_ROWS)
    new = settings.output / "work" / "new-customers" / "customers.csv"
    churn_data.generate(new, rows=settings.days * settings.customers_per_day, seed=settings.seed + 1000)
    return raw.parent, new.parent


def train(features: Path, model_dir: Path) -> xgboost.Booster:
    """XGBoost with the SageMaker pipeline's own hyperparameters, watched on the validation split; the booster is
    also written to `model_dir/model.tar.gz` as the training job writes it."""
    train_labels, train_features = evaluate.load_split(features / "train")
    validation_labels, validation_features = evaluate.load_split(features / "validation")
    params = {
        key: float(value) if key not in ("objective", "eval_metric") else value
        for key, value in HYPERPARAMETERS.items()
        if key != "num_round"
    }
    booster = xgboost.train(
        {**params, "max_depth": int(params["max_depth"]), "seed": 0},
        xgboost.DMatrix(train_features, train_labels),
        num_boost_round=int(HYPERPARAMETERS["num_round"]),
        evals=[(xgboost.DMatrix(validation_features, validation_labels), "validation")],
        verbose_eval=False,
    )
    model_dir.mkdir(parents=True, exist_ok=True)
    saved = model_dir / "model.ubj"
    booster.save_model(str(saved))
    with tarfile.open(model_dir / "model.tar.gz", "w:gz") as archive:  # what a SageMaker training job outputs
        archive.add(saved, arcname=evaluate.MODEL_FILE)
    saved.unlink()
    return booster


def new_customer_rows(features: Path) -> tuple[np.ndarray, np.ndarray]:
    """Labels and features of every prepared new customer (all three splits: none of them was trained on)."""
    blocks = [evaluate.load_split(features / name) for name in ("train", "validation", "test")]
    return np.concatenate([labels for labels, _ in blocks]), np.vstack([rows for _, rows in blocks])


def write_day(
    settings: DemoSettings,
    booster: xgboost.Booster,
    labels: np.ndarray,
    rows: np.ndarray,
    day_index: int,
    captures: Path,
    ground_truth: Path,
) -> tuple[date, list[float], list[int]]:
    """Score one day of customers as the endpoint would and write its Data Capture and (late) ground truth."""
    rng = random.Random(settings.seed + day_index)
    day = FIRST_DAY + timedelta(days=day_index)
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    scores = booster.predict(xgboost.DMatrix(rows))
    drift = 0.0 if day_index + 1 < settings.drift_from_day else 0.3 * (day_index + 2 - settings.drift_from_day)
    base_rate = float(labels.mean()) if labels.size else 0.0
    captured, written_scores, written_labels = HourlyWriter(f"capture-{day}"), [], []
    collected = HourlyWriter(f"labels-{day}")
    try:
        for index, (label, features, score) in enumerate(zip(labels, rows, scores)):
            moment = start + timedelta(seconds=index * 86_400 // len(labels))
            inference_id = f"{day:%Y%m%d}-{index:06d}"
            body = ",".join(f"{value:g}" for value in features)
            captured.write(
                capture_dir(captures, moment),
                capture_line(f"event-{inference_id}", repr(float(score)), moment, body, inference_id),
            )
            if rng.random() < drift:  # drift: the label no longer follows the features
                label = int(rng.random() < base_rate)
            arrives = moment + timedelta(hours=rng.randint(0, 24 * LABEL_DELAY_DAYS))
            collected.write(ground_truth_dir(ground_truth, arrives), ground_truth_line(inference_id, str(int(label))))
            written_scores.append(float(score))
            written_labels.append(int(label))
        for line in BAD_CAPTURE_LINES:
            captured.write(capture_dir(captures, start), line)
    finally:
        captured.close()
        collected.close()
    return day, written_scores, written_labels


def read_rows(spark, path: Path) -> list[dict]:
    return [row.asDict() for row in spark.read.parquet(str(path)).collect()]


def run(spark, settings: DemoSettings, progress: Progress) -> DemoResult:
    """Steps 1-5 of the demo; the caller draws the charts."""
    from sklearn.metrics import average_precision_score  # the independent reference for the job's AP

    work = settings.output / "work"
    shutil.rmtree(settings.output / "results", ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)

    progress.start(
        "generate",
        f"{settings.training_rows:,} customers for training and "
        f"{settings.days * settings.customers_per_day:,} new ones (datagen/churn.py)",
    )
    raw, new = generate_customers(settings)

    progress.start(
        "preprocess", "Spark one-hot features, 70/20/10 split, bad rows quarantined (spark_jobs/churn/preprocess.py)"
    )
    preprocessing = preprocess.run(
        spark, preprocess.JobArguments(input=str(raw), output=str(work / "features"), seed=SPLIT_SEED)
    )
    preprocess.run(spark, preprocess.JobArguments(input=str(new), output=str(work / "new-features"), seed=SPLIT_SEED))
    print(
        f"      {preprocessing['rows_read']:,} rows read, {preprocessing['rows_rejected']} rejected "
        f"{ {reason: n for reason, n in preprocessing['rejected'].items() if n} }",
        flush=True,
    )

    progress.start(
        "train",
        "XGBoost with the pipeline's hyperparameters, then the evaluation step (processing_jobs/churn/evaluate.py)",
    )
    booster = train(work / "features", work / "model")
    evaluation = evaluate.evaluate(work / "model", work / "features" / "test")
    metrics = evaluation["binary_classification_metrics"]
    print(
        f"      test AUC {metrics['auc']['value']:.4f}, average precision "
        f"{metrics['average_precision']['value']:.4f} on {evaluation['rows']:,} rows",
        flush=True,
    )

    progress.start(
        "score",
        f"{settings.days} days of new customers as Data Capture JSONL, ground truth up to "
        f"{LABEL_DELAY_DAYS} day late (concept drift from day {settings.drift_from_day})",
    )
    labels, rows = new_customer_rows(work / "new-features")
    captures, ground_truth = work / "data-capture", work / "ground-truth"
    per_day = np.array_split(np.arange(labels.size), settings.days)
    written = [
        write_day(settings, booster, labels[indexes], rows[indexes], day_index, captures, ground_truth)
        for day_index, indexes in enumerate(per_day)
    ]

    progress.start(
        "precision-recall", "the daily job for each day, then a rollup (spark_jobs/model_quality/pr_curve.py)"
    )
    results = settings.output / "results"
    days = []
    for day, scores, day_labels in written:
        summary = pr_curve.run(
            spark,
            pr_curve.JobArguments(
                captures=str(captures),
                ground_truth=str(ground_truth),
                date=day,
                output=str(results),
                label_delay_days=LABEL_DELAY_DAYS,
                thresholds=THRESHOLDS,
                rollup_days=settings.days if day == written[-1][0] else None,
            ),
        )
        days.append(
            DayResult(
                day,
                summary,
                float(average_precision_score(day_labels, scores)),
                read_rows(spark, results / "curve" / f"dt={day}"),
                read_rows(spark, results / "thresholds" / f"dt={day}"),
            )
        )
        print(
            f"      {day}: average precision {summary['average_precision']:.4f} "
            f"(bounds {summary['average_precision_lower']:.4f}..{summary['average_precision_upper']:.4f}; "
            f"scikit-learn on the same scores {days[-1].scikit_learn_average_precision:.4f}), "
            f"{days[-1].bad_lines} bad lines quarantined",
            flush=True,
        )
    rollup = json.loads((results / "rollup" / f"dt={written[-1][0]}" / "rollup.json").read_text())
    return DemoResult(preprocessing, evaluation, days, rollup)
