"""Benchmark of the precision-recall job against its floor and against MLlib's exact metric, on one machine.

    python -m benchmarks.pr_bench [ROWS]      (make bench-pr ROWS=...; default 2,000,000)

On the same generated day of Data Capture and ground truth it times (a) the floor: reading both inputs and
aggregating the columns the job needs, without a join; (b) the job; (c) MLlib's BinaryClassificationMetrics
areaUnderPR over the same join (called in the JVM, as pyspark itself does). Floor and job run twice after a warm-up
and the faster run counts. The last line is machine-readable, and the numbers are written to
benchmarks/results/pr_bench.json, where the cost model (`make cost`) reads the measured throughput.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from sklearn.metrics import average_precision_score

from datagen.data_capture import write_scored_day
from spark_jobs.model_quality import pr_curve, records

DAY = date(2026, 11, 20)
CORES = 2
VOLUME_MB_PER_DAY = 150e6  # 150 TB a day, the architecture's stated volume
RESULTS = Path(__file__).resolve().parent / "results" / "pr_bench.json"


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def _json(spark: SparkSession, pattern: str, schema):
    return spark.read.schema(schema).option("columnNameOfCorruptRecord", records.CORRUPT).json(pattern)


def floor(spark: SparkSession, captures: str, ground_truth: str) -> None:
    """Read both inputs with the job's reader and aggregate every column the job uses: no join, no validation."""
    _json(spark, f"{captures}/*/*/*/*/*/*/*.jsonl", records.CAPTURE_SCHEMA).agg(
        F.count("eventMetadata.inferenceId"), F.count("eventMetadata.eventId"), F.count("eventMetadata.inferenceTime"),
        F.count("captureData.endpointOutput.encoding"), F.count("captureData.endpointOutput.observedContentType"),
        F.sum(F.col("captureData.endpointOutput.data").cast("double")), F.count(records.CORRUPT),
    ).collect()
    labels = _json(spark, f"{ground_truth}/*/*/*/*/*.jsonl", records.GROUND_TRUTH_SCHEMA)
    labels.select("*", F.input_file_name().alias("path")).agg(
        F.count("eventMetadata.eventId"), F.sum(F.col("groundTruthData.data").cast("double")),
        F.count("groundTruthData.encoding"), F.count(records.CORRUPT), F.max("path"),
    ).collect()


def mllib_area_under_pr(spark: SparkSession, captures: str, ground_truth: str) -> float:
    """MLlib's exact areaUnderPR over an inner join on id of the exact scores and labels (clean benchmark data)."""
    scores = _json(spark, f"{captures}/*/*/*/*/*/*/*.jsonl", records.CAPTURE_SCHEMA).select(
        F.col("eventMetadata.inferenceId").alias("id"),
        F.col("captureData.endpointOutput.data").cast("double").alias("score"))
    labels = _json(spark, f"{ground_truth}/*/*/*/*/*.jsonl", records.GROUND_TRUTH_SCHEMA).select(
        F.col("eventMetadata.eventId").alias("id"), F.col("groundTruthData.data").cast("double").alias("label"))
    joined = scores.join(labels, "id").select("score", "label")
    jvm_metrics = spark.sparkContext._jvm.org.apache.spark.mllib.evaluation.BinaryClassificationMetrics(
        joined._jdf)
    return jvm_metrics.areaUnderPR()


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 2_000_000
    workspace = Path(tempfile.mkdtemp(prefix="pr-bench-"))
    try:
        captures, ground_truth, output = workspace / "captures", workspace / "ground-truth", workspace / "results"
        print(f"generating {rows:,} captures and labels in {workspace} ...", flush=True)
        generated = write_scored_day(captures, ground_truth, DAY, rows, positive_rate=0.01, seed=11)
        input_mb = generated.input_bytes / 1e6
        exact_ap = average_precision_score(generated.labels, generated.scores)
        print(f"input: {input_mb:,.0f} MB; scikit-learn average precision {exact_ap:.6f}", flush=True)

        spark = (SparkSession.builder.master(f"local[{CORES}]").appName("pr-bench")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false").config("spark.driver.memory", "4g").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        args = pr_curve.JobArguments(captures=str(captures), ground_truth=str(ground_truth), date=DAY,
                                     output=str(output))
        floor(spark, str(captures), str(ground_truth))  # warm-up: JIT and file cache
        floor_seconds, job_seconds = [], []
        for attempt in (1, 2):
            seconds, _ = timed(lambda: floor(spark, str(captures), str(ground_truth)))
            floor_seconds.append(seconds)
            seconds, summary = timed(lambda: pr_curve.run(spark, args))
            job_seconds.append(seconds)
            print(f"run {attempt}: floor {floor_seconds[-1]:.2f} s, job {job_seconds[-1]:.2f} s", flush=True)
        mllib_seconds, area = timed(lambda: mllib_area_under_pr(spark, str(captures), str(ground_truth)))
        print(f"mllib areaUnderPR {area:.6f} (trapezoidal) in {mllib_seconds:.2f} s", flush=True)
        spark.stop()

        best_floor, best_job = min(floor_seconds), min(job_seconds)
        ap_error = abs(summary["average_precision"] - exact_ap)
        mb_per_core = input_mb / best_job / CORES
        vcpu_hours = VOLUME_MB_PER_DAY / mb_per_core / 3600
        print(f"job average precision {summary['average_precision']:.6f} "
              f"(bounds {summary['average_precision_lower']:.6f}..{summary['average_precision_upper']:.6f})")
        print(f"150 TB/day at this throughput: {vcpu_hours:,.0f} vCPU-hours/day (make cost prices it)")
        results = {"measured_on": date.today().isoformat(), "machine": f"{platform.machine()}, {CORES} cores used",
                   "rows": rows, "input_mb": round(input_mb, 1), "floor_seconds": round(best_floor, 2),
                   "job_seconds": round(best_job, 2), "mllib_seconds": round(mllib_seconds, 2),
                   "job_over_floor": round(best_job / best_floor, 2),
                   "mllib_over_job": round(mllib_seconds / best_job, 2), "ap_abs_error": float(f"{ap_error:.2e}"),
                   "mb_per_s_per_core": round(mb_per_core, 1)}
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(f"pr-bench: rows={rows} job_over_floor={results['job_over_floor']:.2f} "
              f"mllib_over_job={results['mllib_over_job']:.2f} ap_abs_error={ap_error:.1e} "
              f"mb_per_s_per_core={mb_per_core:.1f}")
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main(sys.argv[1:])
