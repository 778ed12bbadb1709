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

import dataclasses
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from sklearn.metrics import average_precision_score

from datagen.data_capture import ScoredDay, write_scored_day
from spark_jobs.model_quality import pr_curve, records
from stacks.model_quality.settings import ModelQualitySettings

DAY = date(2026, 11, 20)
CORES = 2
# The production profile's label window: the run for day D reads labels collected on days D..D+K.
LABEL_DELAY_DAYS = ModelQualitySettings.for_profile("production").quality_label_delay_days
VOLUME_MB_PER_DAY = 150e6  # 150 TB a day, the architecture's stated volume
RESULTS = Path(__file__).resolve().parent / "results" / "pr_bench.json"
MANY_FILES = 50_000
MANY_FILES_ROWS = 100_000


def timed(action) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def bench_session(app_name: str, ui: bool = False) -> SparkSession:
    """The benchmarks' local session: CORES cores, a 4 GB driver, errors only; the UI (for Meter) only if asked."""
    spark = (
        SparkSession.builder.master(f"local[{CORES}]")
        .appName(app_name)
        .config("spark.ui.enabled", str(ui).lower())
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class Meter:
    """Executor CPU time, tasks, shuffle bytes and spill of the Spark jobs one action launches, from the driver's
    monitoring REST API (https://spark.apache.org/docs/3.5.6/monitoring.html#rest-api: /jobs and /stages of the
    running application). CPU seconds stay comparable on a shared machine where wall seconds do not."""

    def __init__(self, spark: SparkSession):
        # The UI's own address: another session on the machine may hold the default port.
        self.api = f"{spark.sparkContext.uiWebUrl}/api/v1/applications/{spark.sparkContext.applicationId}"

    def _get(self, path: str) -> list:
        with urllib.request.urlopen(self.api + path) as response:
            return json.load(response)

    def measure(self, action) -> dict:
        before = {job["jobId"] for job in self._get("/jobs")}
        started = time.perf_counter()
        action()
        wall = time.perf_counter() - started
        jobs = [job for job in self._get("/jobs") if job["jobId"] not in before]
        stage_ids = {stage for job in jobs for stage in job["stageIds"]}
        stages = [s for s in self._get("/stages") if s["stageId"] in stage_ids and s["status"] == "COMPLETE"]
        return {
            "wall_s": round(wall, 2),
            "cpu_s": round(sum(s["executorCpuTime"] for s in stages) / 1e9, 2),
            "tasks": sum(s["numCompleteTasks"] for s in stages),
            "shuffle_mb": round(sum(s["shuffleWriteBytes"] for s in stages) / 1e6, 1),
            "spill_mb": round(sum(s["diskBytesSpilled"] + s["memoryBytesSpilled"] for s in stages) / 1e6, 1),
        }


@dataclass(frozen=True)
class LabelWindow:
    """What the run for DAY reads with a label delay of K days, as it lies in production on the morning of the run.

    - raw capture of DAY + K only (`captures`): the run extracts it; older raw capture has expired;
    - the extract of DAY (`output`/extract/dt=DAY), written from DAY's capture by the job's own extract step;
    - labels collected on DAY..DAY+K (`ground_truth`): those of DAY's predictions, and those of the predictions
      of DAY-K..DAY-1 and DAY+1..DAY+K that arrive on the same days (the job counts them as rejects by reason).
    Every day has `rows` predictions, generated by datagen with its own seed (so its own ids).
    """

    args: pr_curve.JobArguments
    scored: ScoredDay  # DAY's labelled predictions, for scikit-learn
    raw_capture_mb: float
    extract_mb: float
    label_mb: float

    @property
    def input_mb(self) -> float:
        return self.raw_capture_mb + self.extract_mb + self.label_mb

    def label_globs(self) -> list[str]:
        days = [self.args.date + timedelta(days=offset) for offset in range(self.args.label_delay_days + 1)]
        return [f"{self.args.ground_truth}/{day.strftime('%Y/%m/%d')}/*/*.jsonl" for day in days]


def _megabytes(root: Path, pattern: str) -> float:
    return sum(path.stat().st_size for path in root.rglob(pattern)) / 1e6


def write_label_window(spark: SparkSession, root: Path, rows: int, delay: int = LABEL_DELAY_DAYS) -> LabelWindow:
    """Generate days DAY-K..DAY+K with datagen and lay them out as LabelWindow says."""
    captures, ground_truth, output = root / "captures", root / "ground-truth", root / "results"
    args = pr_curve.JobArguments(
        captures=str(captures), ground_truth=str(ground_truth), date=DAY, output=str(output), label_delay_days=delay
    )
    scored = None
    for offset in range(-delay, delay + 1):
        day = DAY + timedelta(days=offset)
        raw = captures if offset == delay else root / f"raw-{day.isoformat()}"
        generated = write_scored_day(
            raw, ground_truth, day, rows, positive_rate=0.01, seed=11 + offset + delay, label_delay_days=delay
        )
        if offset == 0:
            scored = generated
            day_args = dataclasses.replace(args, captures=str(raw))
            pr_curve.extract_day(spark, pr_curve.Storage(spark), day_args, DAY)  # as the run for DAY - K did
        if raw != captures:
            shutil.rmtree(raw)
    assert scored is not None
    label_days = [DAY + timedelta(days=offset) for offset in range(delay + 1)]
    return LabelWindow(
        args,
        scored,
        raw_capture_mb=_megabytes(captures, "*.jsonl"),
        extract_mb=_megabytes(output / pr_curve.EXTRACT, "*.parquet"),
        label_mb=sum(_megabytes(ground_truth / day.strftime("%Y/%m/%d"), "*.jsonl") for day in label_days),
    )


def _json(spark: SparkSession, paths: list[str], schema):
    return spark.read.schema(schema).option("columnNameOfCorruptRecord", records.CORRUPT).json(paths)


def floor_raw_capture(spark: SparkSession, window: LabelWindow) -> None:
    """Parse the raw capture with the job's reader and aggregate every column the extract uses."""
    _json(spark, [f"{window.args.captures}/*/*/*/*/*/*/*.jsonl"], records.CAPTURE_SCHEMA).agg(
        F.count("eventMetadata.inferenceId"),
        F.count("eventMetadata.eventId"),
        F.count("eventMetadata.inferenceTime"),
        F.count("captureData.endpointOutput.encoding"),
        F.count("captureData.endpointOutput.observedContentType"),
        F.sum(F.col("captureData.endpointOutput.data").cast("double")),
        F.count(records.CORRUPT),
    ).collect()


def floor_extract(spark: SparkSession, window: LabelWindow) -> None:
    """Read the scored day's extract and aggregate every column."""
    path = f"{window.args.output}/{pr_curve.EXTRACT}/dt={window.args.date.isoformat()}"
    spark.read.schema(records.EXTRACT_SCHEMA).parquet(path).agg(
        F.count("id"), F.sum("score"), F.sum("inference_ms"), F.count("reason"), F.count("raw")
    ).collect()


def floor_labels(spark: SparkSession, window: LabelWindow) -> None:
    """Parse the label window's files with the job's reader and aggregate every column the job uses."""
    labels = _json(spark, window.label_globs(), records.GROUND_TRUTH_SCHEMA)
    labels.select("*", F.input_file_name().alias("path")).agg(
        F.count("eventMetadata.eventId"),
        F.sum(F.col("groundTruthData.data").cast("double")),
        F.count("groundTruthData.encoding"),
        F.count(records.CORRUPT),
        F.max("path"),
    ).collect()


def floor(spark: SparkSession, window: LabelWindow) -> None:
    """The parse-only floor: read everything the job reads, with its readers, aggregating the columns it uses;
    no join, no validation, no writes."""
    floor_raw_capture(spark, window)
    floor_extract(spark, window)
    floor_labels(spark, window)


def mllib_area_under_pr(spark: SparkSession, window: LabelWindow) -> float:
    """The job with MLlib's exact areaUnderPR in place of the histogram: the same extract step, then an inner join
    on id of the day's extract with the window's labels (clean benchmark data), then BinaryClassificationMetrics
    (called in the JVM, as pyspark itself does)."""
    args = window.args
    pr_curve.extract_days(spark, pr_curve.Storage(spark), args)
    scores = spark.read.parquet(f"{args.output}/{pr_curve.EXTRACT}/dt={args.date.isoformat()}").select("id", "score")
    labels = _json(spark, window.label_globs(), records.GROUND_TRUTH_SCHEMA).select(
        F.col("eventMetadata.eventId").alias("id"), F.col("groundTruthData.data").cast("double").alias("label")
    )
    joined = scores.join(labels, "id").select("score", "label")
    jvm_metrics = spark.sparkContext._jvm.org.apache.spark.mllib.evaluation.BinaryClassificationMetrics(joined._jdf)
    return jvm_metrics.areaUnderPR()


def noop(frame: DataFrame) -> None:
    """Evaluate every column of `frame` and write nothing (Spark's `noop` sink)."""
    frame.write.format("noop").mode("overwrite").save()


def profile_steps(spark: SparkSession, window: LabelWindow) -> dict:
    """Floor parts, then the job's phases and ever longer prefixes of its scoring query."""
    args, storage = window.args, pr_curve.Storage(spark)
    extracts, label_folders = pr_curve._input_folders(storage, args)
    work = f"{args.output}/_profile"
    counts = {}

    def parsed():
        return pr_curve._parsed_inputs(spark, extracts, label_folders, args.bins)

    def score_day():
        counts["day"] = pr_curve.score_day(spark, storage, args, f"{work}/work", f"{work}/rejects")

    return {
        "floor: parse raw capture": lambda: floor_raw_capture(spark, window),
        "floor: read extract": lambda: floor_extract(spark, window),
        "floor: parse labels": lambda: floor_labels(spark, window),
        "job: extract (parse raw, write zstd)": lambda: pr_curve.extract_days(spark, storage, args),
        "job: score parse (extract + labels)": lambda: noop(parsed()),
        "job: score parse + shuffle by id": lambda: noop(pr_curve._by_id(parsed())),
        "job: score parse + by id + outcomes": lambda: noop(pr_curve._outcomes(pr_curve._by_id(parsed()))),
        "job: score_day (outcomes written)": score_day,
        "job: write_day (driver metrics)": lambda: pr_curve.write_day(spark, storage, args, counts["day"]),
    }


def profile(spark: SparkSession, window: LabelWindow) -> dict[str, dict]:
    """Each step twice (after the warm-up the caller did); the run with the least executor CPU counts."""
    meter, steps, best = Meter(spark), profile_steps(spark, window), {}
    for _ in range(2):
        for name, step in steps.items():
            figures = meter.measure(step)
            if name not in best or figures["cpu_s"] < best[name]["cpu_s"]:
                best[name] = figures
    base = sum(best[name]["cpu_s"] for name in best if name.startswith("floor"))
    print("profile (least executor CPU of 2 runs; x = CPU over the whole floor's):", flush=True)
    for name, figures in best.items():
        figures["cpu_over_floor"] = round(figures["cpu_s"] / base, 2) if base else None
        print(
            f"  {name:38s} wall {figures['wall_s']:6.2f} s  cpu {figures['cpu_s']:6.2f} s "
            f"({figures['cpu_over_floor']:.2f}x)  tasks {figures['tasks']:4d}  shuffle {figures['shuffle_mb']:6.1f} MB  "
            f"spill {figures['spill_mb']:.1f} MB",
            flush=True,
        )
    return best


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


def growth_case(spark: SparkSession, workspace: Path, rows: int, full: LabelWindow) -> tuple[float, float]:
    """The job's best times on rows / 4 and on rows, run alternately so that both see the same machine load."""
    quarter = write_label_window(spark, workspace / "quarter", rows // 4)
    pr_curve.run(spark, quarter.args)  # warm-up
    quarter_seconds, full_seconds = [], []
    for _ in (1, 2):
        quarter_seconds.append(timed(lambda: pr_curve.run(spark, quarter.args))[0])
        full_seconds.append(timed(lambda: pr_curve.run(spark, full.args))[0])
    shutil.rmtree(workspace / "quarter", ignore_errors=True)
    return min(quarter_seconds), min(full_seconds)


def main(argv: list[str]) -> None:
    rows = int(argv[0]) if argv else 1_000_000
    workspace = Path(tempfile.mkdtemp(prefix="pr-bench-"))
    try:
        spark = bench_session("pr-bench", ui=True)
        print(
            f"generating {2 * LABEL_DELAY_DAYS + 1} days of {rows:,} captures and labels each "
            f"(label delay {LABEL_DELAY_DAYS} day(s)) in {workspace} ...",
            flush=True,
        )
        window = write_label_window(spark, workspace / "window", rows)
        exact_ap = average_precision_score(window.scored.labels, window.scored.scores)
        print(
            f"input of the run: raw capture {window.raw_capture_mb:,.0f} MB, extract {window.extract_mb:,.1f} MB, "
            f"labels {window.label_mb:,.0f} MB; scikit-learn average precision {exact_ap:.6f}",
            flush=True,
        )
        floor(spark, window)  # warm-up: JIT and file cache
        pr_curve.run(spark, window.args)
        floor_seconds, job_seconds = [], []
        for attempt in (1, 2):
            floor_seconds.append(timed(lambda: floor(spark, window))[0])
            seconds, summary = timed(lambda: pr_curve.run(spark, window.args))
            job_seconds.append(seconds)
            print(f"run {attempt}: floor {floor_seconds[-1]:.2f} s, job {job_seconds[-1]:.2f} s", flush=True)
        mllib_seconds, area = timed(lambda: mllib_area_under_pr(spark, window))
        print(f"mllib (extract, join, areaUnderPR {area:.6f}, trapezoidal) in {mllib_seconds:.2f} s", flush=True)
        phases = profile(spark, window)
        quarter_seconds, full_seconds = growth_case(spark, workspace, rows, window)
        print(
            f"growth: job {quarter_seconds:.2f} s at {rows // 4:,} rows a day, {full_seconds:.2f} s at {rows:,}",
            flush=True,
        )
        shutil.rmtree(workspace / "window", ignore_errors=True)
        files = many_files_case(spark, workspace)
        spark.stop()

        best_floor, best_job = min(floor_seconds), min(job_seconds)
        ap_error = abs(summary["average_precision"] - exact_ap)
        input_per_core = window.input_mb / best_job / CORES
        # A run handles one day of capture (and that day's labels and extract): the cost model scales capture bytes.
        capture_per_core = window.raw_capture_mb / best_job / CORES
        vcpu_hours = VOLUME_MB_PER_DAY / capture_per_core / 3600
        print(
            f"job average precision {summary['average_precision']:.6f} "
            f"(bounds {summary['average_precision_lower']:.6f}..{summary['average_precision_upper']:.6f}); "
            f"labels without a prediction of the day (neighbouring days): "
            f"{summary['rejected']['ground_truth_without_prediction']:,}"
        )
        print(
            f"throughput: {input_per_core:.1f} MB/s per vCPU of input read, {capture_per_core:.1f} MB/s per vCPU "
            f"of a day's capture; 150 TB/day: {vcpu_hours:,.0f} vCPU-hours/day (make cost prices it)"
        )
        results = {
            "measured_on": date.today().isoformat(),
            "machine": f"{platform.machine()}, {CORES} cores used",
            "input": (
                f"label window: raw capture of day D+{LABEL_DELAY_DAYS} (extracted), the extract of day D "
                f"(written by the job's extract step), labels collected on days D..D+{LABEL_DELAY_DAYS} "
                f"(of predictions of days D-{LABEL_DELAY_DAYS}..D+{LABEL_DELAY_DAYS}); rows per day"
            ),
            "rows": rows,
            "label_delay_days": LABEL_DELAY_DAYS,
            "input_mb": round(window.input_mb, 1),
            "capture_mb": round(window.raw_capture_mb, 1),
            "extract_mb": round(window.extract_mb, 1),
            "label_mb": round(window.label_mb, 1),
            "floor_seconds": round(best_floor, 2),
            "job_seconds": round(best_job, 2),
            "mllib_seconds": round(mllib_seconds, 2),
            "job_over_floor": round(best_job / best_floor, 2),
            "mllib_over_job": round(mllib_seconds / best_job, 2),
            "ap_abs_error": float(f"{ap_error:.2e}"),
            "input_mb_per_s_per_core": round(input_per_core, 1),
            "mb_per_s_per_core": round(capture_per_core, 1),
            "mb_per_s_per_core_basis": "MB of one day's raw capture per second of the whole run, per vCPU",
            "widest_half_width": float(f"{widest_half_width(summary):.3g}"),
            "profile": phases,
            "quarter_rows_job_seconds": round(quarter_seconds, 2),
            "full_rows_job_seconds_alternated": round(full_seconds, 2),
            "growth_4x": round(full_seconds / quarter_seconds, 2),
            **files,
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        }
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1) + "\n")
        print(
            f"pr-bench: rows={rows} label_delay_days={LABEL_DELAY_DAYS} job_over_floor={results['job_over_floor']:.2f} "
            f"mllib_over_job={results['mllib_over_job']:.2f} ap_abs_error={ap_error:.1e} "
            f"mb_per_s_per_core={capture_per_core:.1f} input_mb_per_s_per_core={input_per_core:.1f} "
            f"growth_4x={results['growth_4x']:.2f}"
        )
    finally:
        shutil.rmtree(workspace, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    main(sys.argv[1:])
