"""Benchmark of the precision-recall job against its floor and against MLlib's exact metric, on one machine.

    python -m benchmarks.pr_bench [ROWS]      (make bench-pr ROWS=...; default 2,000,000)

On the same generated day of Data Capture and ground truth it times (a) the floor: reading both inputs and
aggregating the columns the job needs, without a join; (b) the job; (c) MLlib's BinaryClassificationMetrics
areaUnderPR over the same join (called in the JVM, as pyspark itself does). Floor and job run twice after a warm-up
and the faster run counts. Then (d) growth: the job on a quarter of the rows and on all of them, alternately,
twice, so `growth_4x` is the time at ROWS over the time at ROWS/4 under the same load; and (e) many files: a small
day written as MANY_FILES files and as one file per hour, timing what the driver does before any task runs
(finding the inputs, Spark's file listing and the query plan), the job's way (hour folders) and the earlier way
(every file globbed on the driver, then handed to Spark).

Only ratios of times measured in the same run are targets: the machine may be shared. The last line is
machine-readable, and the numbers are written to benchmarks/results/pr_bench.json, where the cost model
(`make cost`) reads the measured throughput and the day's widest 95% interval.
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
MANY_FILES = 50_000
MANY_FILES_ROWS = 100_000


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def bench_session(app_name: str) -> SparkSession:
    """The benchmarks' local session: CORES cores, no UI, a 4 GB driver, errors only."""
    spark = (
        SparkSession.builder.master(f"local[{CORES}]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _json(spark: SparkSession, pattern: str, schema):
    return spark.read.schema(schema).option("columnNameOfCorruptRecord", records.CORRUPT).json(pattern)


def floor(spark: SparkSession, captures: str, ground_truth: str) -> None:
    """Read both inputs with the job's reader and aggregate every column the job uses: no join, no validation."""
    _json(spark, f"{captures}/*/*/*/*/*/*/*.jsonl", records.CAPTURE_SCHEMA).agg(
        F.count("eventMetadata.inferenceId"),
        F.count("eventMetadata.eventId"),
        F.count("eventMetadata.inferenceTime"),
        F.count("captureData.endpointOutput.encoding"),
        F.count("captureData.endpointOutput.observedContentType"),
        F.sum(F.col("captureData.endpointOutput.data").cast("double")),
        F.count(records.CORRUPT),
    ).collect()
    labels = _json(spark, f"{ground_truth}/*/*/*/*/*.jsonl", records.GROUND_TRUTH_SCHEMA)
    labels.select("*", F.input_file_name().alias("path")).agg(
        F.count("eventMetadata.eventId"),
        F.sum(F.col("groundTruthData.data").cast("double")),
        F.count("groundTruthData.encoding"),
        F.count(records.CORRUPT),
        F.max("path"),
    ).collect()


def mllib_area_under_pr(spark: SparkSession, captures: str, ground_truth: str) -> float:
    """MLlib's exact areaUnderPR over an inner join on id of the exact scores and labels (clean benchmark data)."""
    scores = _json(spark, f"{captures}/*/*/*/*/*/*/*.jsonl", records.CAPTURE_SCHEMA).select(
        F.col("eventMetadata.inferenceId").alias("id"),
        F.col("captureData.endpointOutput.data").cast("double").alias("score"),
    )
    labels = _json(spark, f"{ground_truth}/*/*/*/*/*.jsonl", records.GROUND_TRUTH_SCHEMA).select(
        F.col("eventMetadata.eventId").alias("id"), F.col("groundTruthData.data").cast("double").alias("label")
    )
    joined = scores.join(labels, "id").select("score", "label")
    jvm_metrics = spark.sparkContext._jvm.org.apache.spark.mllib.evaluation.BinaryClassificationMetrics(joined._jdf)
    return jvm_metrics.areaUnderPR()


def widest_half_width(summary: dict, threshold: float = 0.5) -> float:
    """The widest 95% half-width among AP and precision and recall at the decision threshold."""
    decision = next(t for t in summary["thresholds"] if t["threshold"] == threshold)
    return max(
        (upper - lower) / 2
        for lower, upper in (
            (summary["average_precision_ci_lower"], summary["average_precision_ci_upper"]),
            (decision["precision_lower"], decision["precision_upper"]),
            (decision["recall_lower"], decision["recall_upper"]),
        )
    )


def best_of_two(action) -> float:
    return min(timed(action)[0] for _ in range(2))


def split_into_files(root: Path, files: int) -> int:
    """Rewrite every hour folder's .jsonl under root as about files / folders smaller files (same lines)."""
    folders = sorted({path.parent for path in root.rglob("*.jsonl")})
    per_folder = max(1, files // len(folders))
    written = 0
    for folder in folders:
        lines = [line for path in sorted(folder.glob("*.jsonl")) for line in path.read_text().splitlines(True)]
        for path in folder.glob("*.jsonl"):
            path.unlink()
        step = max(1, -(-len(lines) // per_folder))
        for index in range(0, len(lines), step):
            (folder / f"part-{index // step:05d}.jsonl").write_text("".join(lines[index : index + step]))
            written += 1
    return written


def driver_side_seconds(spark: SparkSession, captures: Path, ground_truth: Path, by_folder: bool) -> float:
    """Finding the inputs, Spark's listing and the physical plan of the job's parse, before any task runs."""
    storage = pr_curve.Storage(spark)
    args = pr_curve.JobArguments(captures=str(captures), ground_truth=str(ground_truth), date=DAY, output="unused")

    def plan():
        if by_folder:
            capture_paths = pr_curve.capture_folders(storage, args, DAY)
            _, label_paths = pr_curve._input_folders(storage, args)
        else:  # the earlier way: every file globbed on the driver and handed to the reader
            day = DAY.strftime("%Y/%m/%d")
            capture_paths = storage.glob(f"{captures}/*/*/{day}/*/*.jsonl")
            label_paths = storage.glob(f"{ground_truth}/{day}/*/*.jsonl")
        parsed = records.read_captures(spark, capture_paths, pr_curve.DEFAULT_BINS).unionByName(
            records.read_ground_truth(spark, label_paths)
        )
        parsed._jdf.queryExecution().executedPlan()

    spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.threshold", str(pr_curve.PARALLEL_LISTING_THRESHOLD))
    if not by_folder:  # tens of thousands of listing tasks: one run, after the folder runs warmed the JVM up
        return timed(plan)[0]
    plan()  # warm-up
    return best_of_two(plan)


def many_files_case(spark: SparkSession, workspace: Path) -> dict:
    few, many = workspace / "few-files", workspace / "many-files"
    for root in (few, many):
        write_scored_day(root / "captures", root / "ground-truth", DAY, MANY_FILES_ROWS, positive_rate=0.01, seed=5)
    files = split_into_files(many / "captures", MANY_FILES // 2) + split_into_files(
        many / "ground-truth", MANY_FILES // 2
    )
    few_files = sum(1 for _ in few.rglob("*.jsonl"))
    few_seconds = driver_side_seconds(spark, few / "captures", few / "ground-truth", by_folder=True)
    many_seconds = driver_side_seconds(spark, many / "captures", many / "ground-truth", by_folder=True)
    many_globbed = driver_side_seconds(spark, many / "captures", many / "ground-truth", by_folder=False)
    print(
        f"many files: {MANY_FILES_ROWS:,} rows in {files:,} files: listing + planning {many_seconds:.2f} s by hour "
        f"folder, {many_globbed:.2f} s globbing every file on the driver; {few_files} files: {few_seconds:.2f} s",
        flush=True,
    )
    return {
        "many_files": files,
        "few_files": few_files,
        "many_files_rows": MANY_FILES_ROWS,
        "many_files_plan_seconds": round(many_seconds, 2),
        "many_files_globbed_plan_seconds": round(many_globbed, 2),
        "few_files_plan_seconds": round(few_seconds, 2),
        "many_over_few_files": round(many_seconds / few_seconds, 2),
        "globbed_over_folders": round(many_globbed / many_seconds, 2),
    }


def growth_case(spark: SparkSession, workspace: Path, rows: int, full: pr_curve.JobArguments) -> tuple[float, float]:
    """The job's best times on rows / 4 and on rows, run alternately so that both see the same machine load."""
    root = workspace / "quarter"
    write_scored_day(root / "captures", root / "ground-truth", DAY, rows // 4, positive_rate=0.01, seed=13)
    quarter = pr_curve.JobArguments(
        captures=str(root / "captures"), ground_truth=str(root / "ground-truth"), date=DAY, output=str(root / "results")
    )
    pr_curve.run(spark, quarter)  # warm-up
    quarter_seconds, full_seconds = [], []
    for _ in (1, 2):
        quarter_seconds.append(timed(lambda: pr_curve.run(spark, quarter))[0])
        full_seconds.append(timed(lambda: pr_curve.run(spark, full))[0])
    return min(quarter_seconds), min(full_seconds)


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 2_000_000
    workspace = Path(tempfile.mkdtemp(prefix="pr-bench-"))
    try:
        captures, ground_truth, output = workspace / "captures", workspace / "ground-truth", workspace / "results"
        print(f"generating {rows:,} captures and labels in {workspace} ...", flush=True)
        generated = write_scored_day(captures, ground_truth, DAY, rows, positive_rate=0.01, seed=11)
        input_mb = generated.input_bytes / 1e6
        capture_mb = sum(path.stat().st_size for path in captures.rglob("*.jsonl")) / 1e6
        exact_ap = average_precision_score(generated.labels, generated.scores)
        print(f"input: {input_mb:,.0f} MB; scikit-learn average precision {exact_ap:.6f}", flush=True)

        spark = bench_session("pr-bench")
        args = pr_curve.JobArguments(
            captures=str(captures), ground_truth=str(ground_truth), date=DAY, output=str(output)
        )
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
        quarter_seconds, full_seconds = growth_case(spark, workspace, rows, args)
        print(
            f"growth: job {quarter_seconds:.2f} s at {rows // 4:,} rows, {full_seconds:.2f} s at {rows:,}", flush=True
        )
        shutil.rmtree(captures, ignore_errors=True)
        shutil.rmtree(ground_truth, ignore_errors=True)
        files = many_files_case(spark, workspace)
        spark.stop()

        best_floor, best_job = min(floor_seconds), min(job_seconds)
        ap_error = abs(summary["average_precision"] - exact_ap)
        mb_per_core = input_mb / best_job / CORES
        vcpu_hours = VOLUME_MB_PER_DAY / mb_per_core / 3600
        print(
            f"job average precision {summary['average_precision']:.6f} "
            f"(bounds {summary['average_precision_lower']:.6f}..{summary['average_precision_upper']:.6f})"
        )
        print(f"150 TB/day at this throughput: {vcpu_hours:,.0f} vCPU-hours/day (make cost prices it)")
        results = {
            "measured_on": date.today().isoformat(),
            "machine": f"{platform.machine()}, {CORES} cores used",
            "rows": rows,
            "input_mb": round(input_mb, 1),
            "floor_seconds": round(best_floor, 2),
            "job_seconds": round(best_job, 2),
            "mllib_seconds": round(mllib_seconds, 2),
            "job_over_floor": round(best_job / best_floor, 2),
            "mllib_over_job": round(mllib_seconds / best_job, 2),
            "ap_abs_error": float(f"{ap_error:.2e}"),
            "mb_per_s_per_core": round(mb_per_core, 1),
            "capture_mb": round(capture_mb, 1),
            "widest_half_width": float(f"{widest_half_width(summary):.3g}"),
            "quarter_rows_job_seconds": round(quarter_seconds, 2),
            "full_rows_job_seconds_alternated": round(full_seconds, 2),
            "growth_4x": round(full_seconds / quarter_seconds, 2),
            **files,
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(
            f"pr-bench: rows={rows} job_over_floor={results['job_over_floor']:.2f} "
            f"mllib_over_job={results['mllib_over_job']:.2f} ap_abs_error={ap_error:.1e} "
            f"mb_per_s_per_core={mb_per_core:.1f} growth_4x={results['growth_4x']:.2f}"
        )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main(sys.argv[1:])
