"""Daily precision-recall curve of an endpoint's captured predictions against late-arriving ground truth.

    python -m spark_jobs.model_quality.pr_curve --captures PATH --ground-truth PATH --date YYYY-MM-DD --output PATH
        [--label-delay-days K] [--bins 10000] [--thresholds 0.1,0.5,0.9] [--rollup-days N]
        [--endpoint NAME] [--variant NAME] [--decision-threshold 0.5] [--target-half-width 0.01]
        [--reject-sample-size 100] [--delete-extracted-capture] [--hourly-extract] [--replace-with-fewer-rows]
    python -m spark_jobs.model_quality.pr_curve --captures PATH --ground-truth PATH --output PATH
        --extract-hour-before TIME [--endpoint NAME] [--variant NAME] [--delete-extracted-capture]

On EMR Serverless the same file is the entry point, with the package shipped as `--py-files`. Predictions of day D
are joined on InferenceId (else eventId) with labels collected on days D..D+K. Raw capture is read once, for the
newest day of the window (D+K): the run keeps what later joins need of it (id, score, inference time, and the
rejected records) as zstd Parquet in `extract/dt=D+K`, and day D's predictions come from `extract/dt=D`, so raw
capture can expire a day after it is written (a day without an extract is extracted while its raw capture lasts). One shuffle groups both sides by id;
a second, tiny one counts positives and negatives per fixed score bin; the metrics come from that histogram on the
driver (see metrics.py). Bad records are counted by reason (the summary's `rejected`), never fatal; `rejects/` keeps at
most --reject-sample-size of them per reason, for a look at what went wrong: labels of a neighbouring day's
captures are normal while labels arrive, and one row per id would be tens of TB a day. Every output sits in a
`dt=D` partition that a re-run replaces, and the summary is written last, so its presence means the day is done.

Hourly extraction (--extract-hour-before, from an hourly schedule) extracts one complete UTC hour of raw capture
into `extract/dt=D/hour=HH` soon after the hour ends, so raw capture is deleted within the hour instead of the next
day; the daily run (--hourly-extract) then extracts only the hours still raw, each into its own hour folder.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, NoReturn

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

if __package__ in (None, ""):  # spark-submit runs this file as a script; the package comes from --py-files
    from spark_jobs.model_quality import metrics, records
    from spark_jobs.model_quality.storage import Storage
else:
    from . import metrics, records
    from .storage import Storage

DEFAULT_BINS = 10_000
DEFAULT_REJECT_SAMPLE_SIZE = 100
# Spark 3.5 limits each group of a `row_number() <= k` filter on the map side before the shuffle when k is at most
# spark.sql.optimizer.windowGroupLimitThreshold (default 1000; InsertWindowGroupLimit, SPARK-37099), so a sample
# moves k rows per reason and partition, whatever the number of rejects.
MAX_REJECT_SAMPLE_SIZE = 1_000
DEFAULT_THRESHOLDS = (0.1, 0.5, 0.9)
EXTRACT = "extract"
# In an extract folder: the run that wrote it deleted (some of) its raw capture folders, listed in the file.
RAW_DELETED = "_raw_capture_deleted"
# The extract is about 3% of the raw capture it is made from (bench-pr: 13.9 MB of 441 MB), so a task that reads up to
# 1 GiB of capture (Spark SQL's spark.sql.files.maxPartitionBytes, default 128 MiB, sizes the input splits:
# https://spark.apache.org/docs/3.5.6/sql-performance-tuning.html) writes a file of about 30 MB, near what the earlier
# rebalance gave, without its shuffle (1.0 of the extract's 6.4 CPU-s in bench-pr). A small day is read in as many
# splits as the cluster has cores, whatever this is.
MAX_SPLIT_BYTES_KEY = "spark.sql.files.maxPartitionBytes"
EXTRACT_SPLIT_BYTES = 1 << 30
# The shuffle by id writes about 0.14 byte per byte of input (bench-pr: 34 MB for 13.9 MB of extract and 234 MB
# of labels), in partitions of about Spark's advisory size (spark.sql.adaptive.advisoryPartitionSizeInBytes, 64 MB).
SHUFFLE_BYTES_PER_INPUT_BYTE = 0.14
SHUFFLE_PARTITIONS_KEY = "spark.sql.shuffle.partitions"
SHUFFLE_PARTITION_BYTES = 64 << 20
PARSED_SCHEMA = "id string, order_key long, reason string, raw string"
HISTOGRAM_SCHEMA = "bin int, lower double, upper double, positives long, negatives long"
CURVE_SCHEMA = "threshold double, precision double, recall double"
THRESHOLDS_SCHEMA = (
    "kind string, threshold double, precision double, recall double, f1 double, fpr double, "
    "precision_lower double, precision_upper double, recall_lower double, recall_upper double"
)
# Sums in each `counts` row; parse-reject counts come as (reason, count) in the same rows.
SUMMED_COLUMNS = ("positives", "negatives", "captured", "labelled", "predicted_ids", *records.MATCH_REASONS)
COUNT_COLUMNS = ("positives", "negatives", "captured", "labelled", "predicted_ids", *records.REASONS)
OUTCOME_SCHEMA = T.StructType(
    [
        T.StructField("bin", T.IntegerType()),
        T.StructField("reason", T.StringType()),
        *(T.StructField(name, T.LongType()) for name in (*SUMMED_COLUMNS, "count")),
    ]
)


class JobInputError(Exception):
    """An argument or input path the job cannot use; the message says which and why."""


@dataclass(frozen=True)
class JobArguments:
    captures: str
    ground_truth: str
    date: date
    output: str
    label_delay_days: int = 0
    bins: int = DEFAULT_BINS
    thresholds: tuple[float, ...] = DEFAULT_THRESHOLDS
    rollup_days: int | None = None
    endpoint: str = "*"
    variant: str = "*"
    decision_threshold: float = 0.5
    target_half_width: float = 0.01
    reject_sample_size: int = DEFAULT_REJECT_SAMPLE_SIZE
    delete_extracted_capture: bool = False
    # The day's extract is kept per hour (extract/dt=D/hour=HH); with extract_hour, the one hour this run extracts.
    hourly_extract: bool = False
    extract_hour: datetime | None = None
    # Replace a day's stored results even when this run read fewer rows than they were scored from.
    replace_with_fewer_rows: bool = False


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise JobInputError(message)


def _thresholds(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"--thresholds must be comma-separated numbers, got {text!r}") from None
    if not values or any(not 0.0 <= value <= 1.0 for value in values):
        raise argparse.ArgumentTypeError(f"--thresholds must be numbers in [0, 1], got {text!r}")
    return values


def _show(number: float) -> str:
    return f"{number:g}" if isinstance(number, float) else str(number)


def _bounded(name: str, cast: type[int] | type[float], low: float, high: float) -> Callable[[str], float]:
    """An argparse type: `cast` of the text, within [low, high], or an error that names the option."""
    kind = "a whole number" if cast is int else "a number"

    def parse(text: str) -> float:
        try:
            value = cast(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {kind}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{name} must be between {_show(low)} and {_show(high)}, got {_show(value)}"
            )
        return value

    return parse


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--date must be YYYY-MM-DD, got {text!r}") from None


def _hour_before(text: str) -> datetime:
    """The last complete UTC hour before an ISO 8601 time (a time without an offset is UTC)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--extract-hour-before must be an ISO 8601 time such as 2026-11-21T05:15:00Z, got {text!r}"
        ) from None
    moment = moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def parse_arguments(argv: list[str]) -> JobArguments:
    """Validate the command line; a bad value raises JobInputError naming the argument and what is allowed."""
    parser = _OneLineParser(prog="pr_curve", description=__doc__.splitlines()[0])
    parser.add_argument("--captures", required=True, help="Data Capture destination (local path or s3://)")
    parser.add_argument("--ground-truth", required=True, help="ground-truth root, yyyy/mm/dd/hh below it")
    parser.add_argument("--date", type=_day, help="the day of predictions to score (required unless hourly)")
    parser.add_argument("--output", required=True, help="results root")
    parser.add_argument("--label-delay-days", type=_bounded("--label-delay-days", int, 0, 90), default=0)
    parser.add_argument("--bins", type=_bounded("--bins", int, 10, records.MAX_BINS), default=DEFAULT_BINS)
    parser.add_argument("--thresholds", type=_thresholds, default=DEFAULT_THRESHOLDS)
    parser.add_argument("--rollup-days", type=_bounded("--rollup-days", int, 1, 366), default=None)
    parser.add_argument("--endpoint", default="*", help="endpoint folder under --captures (default: all)")
    parser.add_argument("--variant", default="*", help="variant folder under the endpoint (default: all)")
    parser.add_argument(
        "--decision-threshold",
        type=_bounded("--decision-threshold", float, 0.0, 1.0),
        default=0.5,
        help="threshold whose precision and recall intervals size the sampling estimate",
    )
    parser.add_argument(
        "--target-half-width",
        type=_bounded("--target-half-width", float, 1e-6, 0.5),
        default=0.01,
        help="half-width of the 95%% intervals the sampling-percent estimate aims for",
    )
    parser.add_argument(
        "--reject-sample-size",
        type=_bounded("--reject-sample-size", int, 0, MAX_REJECT_SAMPLE_SIZE),
        default=DEFAULT_REJECT_SAMPLE_SIZE,
        help="rejected records kept per reason and day in rejects/ (all are counted in the summary)",
    )
    parser.add_argument(
        "--delete-extracted-capture",
        action="store_true",
        help="delete the raw capture hour folders the extract has read, once it is written (else lifecycle expiry)",
    )
    parser.add_argument(
        "--hourly-extract",
        action="store_true",
        help="keep each day's extract per hour, as the hourly runs write it; extract only the hours still raw",
    )
    parser.add_argument(
        "--replace-with-fewer-rows",
        action="store_true",
        help="replace the day's stored results even if this run read fewer captured or labelled rows",
    )
    parser.add_argument(
        "--extract-hour-before",
        dest="extract_hour",
        type=_hour_before,
        help="only extract the last complete UTC hour before this time (the schedule's) into its hour folder",
    )
    values = vars(parser.parse_args(argv))
    if values["extract_hour"] is not None:
        values.update(date=values["extract_hour"].date(), hourly_extract=True)
    elif values["date"] is None:
        raise JobInputError("the following arguments are required: --date (or --extract-hour-before)")
    return JobArguments(**values)


def _day_folder(day: date) -> str:
    return day.strftime("%Y/%m/%d")


# Spark lists the input folders in a parallel job (one task per folder) once there are more of them than this,
# instead of one after another on the driver (Spark SQL's spark.sql.sources.parallelPartitionDiscovery.threshold,
# default 32, more than a day's 24 hour folders).
PARALLEL_LISTING_THRESHOLD = 8


def capture_folders(storage: Storage, args: JobArguments, day: date, hour: int | None = None) -> list[str]:
    """The capture hour folders of `day` (of one `hour` of it if given), not their files."""
    hours = "*" if hour is None else f"{hour:02d}"
    return storage.glob(
        f"{args.captures.rstrip('/')}/{args.endpoint}/{args.variant}/{_day_folder(day)}/{hours}", folders_only=True
    )


def _extract_folder(output: str, day: date, hour: int | None = None) -> str:
    """`extract/dt=<day>`, or its `hour=HH` folder when the day is kept per hour."""
    return _partition(output, EXTRACT, day) + ("" if hour is None else f"/hour={hour:02d}")


def extract_day(spark: SparkSession, storage: Storage, args: JobArguments, day: date, hour: int | None = None) -> None:
    """Parse the raw capture of `day` (of one `hour` of it) into `extract/dt=<day>` (its `hour=HH` folder).

    Each task writes the extract of its input split, without a shuffle: splits of up to EXTRACT_SPLIT_BYTES of raw
    capture give files of tens of MB rather than one small file per default 128 MiB split. A day without raw
    capture (nothing captured, or already expired) leaves an existing extract as it is: a late re-run never
    empties a day it can no longer read. Nor does one replace an extract whose raw capture a run deleted
    (RAW_DELETED): what is raw there now landed after the delete, and extracting it would replace the extract with
    those few objects; they are left unread to the lifecycle rule, and the run says how many folders hold them.
    """
    folders = capture_folders(storage, args, day, hour)
    target = _extract_folder(args.output, day, hour)
    if folders and storage.exists(f"{target}/{RAW_DELETED}"):
        print(
            f"pr_curve: {len(folders)} capture folder(s) of {target} got objects after the run that extracted them "
            "deleted their raw capture; they are left unread to the capture lifecycle rule",
            file=sys.stderr,
        )
    elif folders:
        spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.threshold", str(PARALLEL_LISTING_THRESHOLD))
        extract = records.parse_captures(spark, folders)
        # The files Spark listed for the extract, which its write reads: a JVM array (a day has millions of them).
        extracted = extract._jdf.inputFiles()
        split_bytes = _setting(spark, MAX_SPLIT_BYTES_KEY)  # the scoring step's reads keep the session's split size
        spark.conf.set(MAX_SPLIT_BYTES_KEY, str(EXTRACT_SPLIT_BYTES))
        try:
            extract.write.mode("overwrite").option("compression", "zstd").parquet(target)
        finally:
            spark.conf.set(MAX_SPLIT_BYTES_KEY, split_bytes)
        if args.delete_extracted_capture:
            delete_extracted_capture(spark, storage, folders, extracted, target)


def delete_extracted_capture(
    spark: SparkSession, storage: Storage, folders: list[str], extracted: Any, target: str
) -> list[str]:
    """After a successful extract into `target`, delete the capture hour folders whose files the extract has all
    read; returns the folders kept: one that holds any other file (written after Spark listed the day, or not a
    .jsonl file) is left to the lifecycle rule. Before the first delete, `target`/RAW_DELETED records which folders
    go (Spark skips files named with a leading `_`), and no run extracts into `target` again: a later run re-reads a
    kept folder only if none of its extract's folders was deleted (an hour's extract has one folder).

    Raw capture is then billed until the run rather than until S3's lifecycle expiry at the next midnight UTC
    (storage is billed by byte-hours: https://aws.amazon.com/s3/faqs/, billing). A retry of the run reads the
    extract, never the raw capture (extract_day leaves an extract whose raw capture is gone as it is). The listings
    are compared in the JVM (Spark lists the folders again, without reading a file): only unread paths reach Python.
    """
    jvm: Any = spark.sparkContext._jvm

    def path_set(paths: Any) -> Any:  # a JVM String[] as a java.util.HashSet, without a round trip per path
        wrapped = jvm.scala.collection.mutable.WrappedArray.make(paths)
        return jvm.java.util.HashSet(jvm.scala.collection.JavaConverters.seqAsJavaList(wrapped))

    unread = path_set(spark.read.format("text").load(folders)._jdf.inputFiles())
    unread.removeAll(path_set(extracted))
    unread_folders = {_folder_of(str(path)) for path in unread}
    kept = [folder for folder in folders if _uri_path(folder) in unread_folders]
    deleted = [folder for folder in folders if folder not in kept]
    if deleted:
        storage.write_text(f"{target}/{RAW_DELETED}", "".join(f"{folder}\n" for folder in deleted))
    for folder in deleted:
        storage.delete(folder)
    if kept:
        print(f"pr_curve: kept {len(kept)} capture folder(s) with files the extract did not read", file=sys.stderr)
    return kept


def _uri_path(uri: str) -> tuple[str, str, str]:
    """Scheme, bucket (or host) and decoded path: Spark's file URIs (file:///x) and Hadoop's paths (file:/x) alike."""
    parts = urllib.parse.urlsplit(uri)
    return parts.scheme, parts.netloc, urllib.parse.unquote(parts.path).rstrip("/")


def _folder_of(uri: str) -> tuple[str, str, str]:
    scheme, netloc, path = _uri_path(uri)
    return scheme, netloc, path.rsplit("/", 1)[0]


def extract_days(spark: SparkSession, storage: Storage, args: JobArguments) -> None:
    """Extract the window's newest day, --date + label delay. The scored day's own raw capture is read only when
    its extract is missing (the first runs after a deployment, or a day started by hand) and it is still there."""
    _extract_raw(spark, storage, args, args.date + timedelta(days=args.label_delay_days))
    if args.label_delay_days and not storage.exists(_partition(args.output, EXTRACT, args.date)):
        _extract_raw(spark, storage, args, args.date)


def _kept_whole(storage: Storage, output: str, day: date) -> bool:
    """Whether the day's extract is one folder of files (a daily run's) rather than hour folders."""
    return bool(storage.glob(f"{_extract_folder(output, day)}/*.parquet"))


def _extract_raw(spark: SparkSession, storage: Storage, args: JobArguments, day: date) -> None:
    """Extract what is still raw of `day`: the whole day at once, or each hour still raw into its own hour folder
    when the day is kept per hour (--hourly-extract, or hourly runs wrote some of it), so that an hour an hourly
    run extracted and deleted keeps its extract. A day is kept one way only: Spark cannot read a folder that holds
    both files and partition folders."""
    per_hour = not _kept_whole(storage, args.output, day) and (
        args.hourly_extract or bool(storage.glob(f"{_extract_folder(args.output, day)}/hour=*", folders_only=True))
    )
    if not per_hour:
        extract_day(spark, storage, args, day)
        return
    names = {folder.rstrip("/").rsplit("/", 1)[1] for folder in capture_folders(storage, args, day)}
    for hour in sorted(int(name) for name in names if name.isdigit()):
        extract_day(spark, storage, args, day, hour)


def extract_hour(spark: SparkSession, storage: Storage, args: JobArguments, hour: datetime) -> dict[str, Any]:
    """The hourly run: extract one UTC hour into its hour folder and delete the raw folders it read. A day already
    kept whole (extracted by a daily run before hourly extraction was turned on) is left to the daily run."""
    day = hour.date()
    if _kept_whole(storage, args.output, day):
        print(f"pr_curve: the extract of {day} is kept whole; its raw hours are the daily run's", file=sys.stderr)
    else:
        extract_day(spark, storage, args, day, hour.hour)
    return {"extracted_hour": hour.strftime("%Y-%m-%dT%H:00Z")}


def _input_folders(storage: Storage, args: JobArguments) -> tuple[list[str], list[str]]:
    """The day's extract (empty when it has none) and its label window's hour folders, not their files.

    Only the few folder levels above the files are globbed on the driver; Spark lists the hour folders' files
    itself, in parallel, with the `*.jsonl` filter. At 150 TB a day that is millions of objects that the driver
    neither lists one by one nor holds as paths. A root that does not exist yet is an empty side, not an error:
    on S3 a prefix exists only once something is written under it, so a fresh deployment has no capture prefix
    until an endpoint captures. The day then gets a summary with zero rows, and the no-predictions alarm speaks
    instead of a failed run every day.
    """
    for name, root in (("--captures", args.captures), ("--ground-truth", args.ground_truth)):
        if not storage.exists(root):
            print(f"pr_curve: {name} {root} does not exist yet; scoring it as empty", file=sys.stderr)
    extract = _partition(args.output, EXTRACT, args.date)
    # A day kept per hour is read as its hour folders, so that Spark infers no `hour` column from their names.
    extracts = storage.glob(f"{extract}/hour=*", folders_only=True) or ([extract] if storage.exists(extract) else [])
    label_days = [args.date + timedelta(days=offset) for offset in range(args.label_delay_days + 1)]
    label_folders = [
        path
        for day in label_days
        for path in storage.glob(f"{args.ground_truth.rstrip('/')}/{_day_folder(day)}/*", folders_only=True)
    ]
    return extracts, label_folders


def _parsed_inputs(spark: SparkSession, extracts: list[str], label_folders: list[str], bins: int) -> DataFrame:
    """Both sides as one frame: id, reason, raw, prediction_key, label_key."""
    captures = (
        records.capture_keys(spark.read.schema(records.EXTRACT_SCHEMA).parquet(*extracts), bins)
        if extracts
        else spark.createDataFrame([], PARSED_SCHEMA)
    )
    labels = (
        records.read_ground_truth(spark, label_folders) if label_folders else spark.createDataFrame([], PARSED_SCHEMA)
    )
    no_key = F.lit(None).cast(T.LongType())
    return captures.select(
        "id", "reason", "raw", F.col("order_key").alias("prediction_key"), no_key.alias("label_key")
    ).unionByName(
        labels.select("id", "reason", "raw", no_key.alias("prediction_key"), F.col("order_key").alias("label_key"))
    )


def _by_id(parsed: DataFrame) -> DataFrame:
    """One row per id (and per distinct rejected line): the earliest prediction and label, and how many of each.

    A hash aggregation rather than a join: one shuffle of narrow rows and no sort. The results sit in one struct
    so that no query downstream can prune a part of it: both outputs then plan the very same shuffle, and Spark
    reuses it instead of reading the input twice.
    """
    return parsed.groupBy("id", "reason", "raw").agg(
        F.struct(
            F.min("prediction_key").alias("prediction_key"),
            F.min("label_key").alias("label_key"),
            F.count("prediction_key").alias("predictions"),
            F.count("label_key").alias("labels"),
            F.count(F.lit(1)).alias("records"),
        ).alias("s")
    )


def _outcomes(by_id: DataFrame, reject_sample_size: int = DEFAULT_REJECT_SAMPLE_SIZE) -> DataFrame:
    """Counts per score bin and reason (kind `counts`), unioned with at most `reject_sample_size` rejected lines or
    ids per reason (`rejects`)."""
    predictions, labels, reason = F.col("s.predictions"), F.col("s.labels"), F.col("reason")
    joined = (predictions > 0) & (labels > 0)
    label = F.col("s.label_key").bitwiseAND(1)

    def total(condition: Column, value: Column | None = None) -> Column:
        return F.sum(F.when(condition, F.lit(1) if value is None else value).otherwise(0)).cast(T.LongType())

    match_reasons = {
        "capture_duplicate_id": (predictions > 1, predictions - 1),
        "ground_truth_duplicate_id": (labels > 1, labels - 1),
        "capture_without_label": ((predictions > 0) & (labels == 0), F.lit(1)),
        "ground_truth_without_prediction": ((labels > 0) & (predictions == 0), F.lit(1)),
    }
    score_bin = F.when(joined, F.col("s.prediction_key").bitwiseAND(records.MAX_BINS - 1)).cast(T.IntegerType())
    counts = by_id.groupBy(score_bin.alias("bin"), reason.alias("reason")).agg(
        total(joined & (label == 1)).alias("positives"),
        total(joined & (label == 0)).alias("negatives"),
        F.sum(predictions).cast(T.LongType()).alias("captured"),
        F.sum(labels).cast(T.LongType()).alias("labelled"),
        total(predictions > 0).alias("predicted_ids"),
        *(total(condition, value).alias(name) for name, (condition, value) in match_reasons.items()),
        total(reason.isNotNull(), F.col("s.records")).alias("count"),
    )

    def reject(condition: Column, reject_reason: Column, count: Column, raw: Column, record_id: Column) -> Column:
        return F.when(
            condition,
            F.struct(
                reject_reason.alias("reason"),
                raw.alias("raw"),
                record_id.alias("id"),
                count.cast(T.LongType()).alias("count"),
            ),
        )

    no_text = F.lit(None).cast(T.StringType())
    candidates = F.array(
        reject(reason.isNotNull(), reason, F.col("s.records"), F.col("raw"), no_text),
        *(
            reject(condition, F.lit(name), value, no_text, F.col("id"))
            for name, (condition, value) in match_reasons.items()
        ),
    )
    any_reject = reason.isNotNull() | (predictions > 1) | (labels > 1) | (predictions == 0) | (labels == 0)
    # explode, then drop the nulls: a lambda (F.filter) would be evaluated row by row outside the generated code,
    # and with the labels of a neighbouring day's captures most rows of a day are rejects (measured in bench-pr).
    rejects = (
        by_id.where(any_reject).select(F.explode(candidates).alias("r")).where(F.col("r").isNotNull()).select("r.*")
    )
    outcomes = counts.withColumn("kind", F.lit("counts"))
    if reject_sample_size == 0:
        return outcomes
    return outcomes.unionByName(
        _sample(rejects, reject_sample_size).withColumn("kind", F.lit("rejects")), allowMissingColumns=True
    )


def _sample(rejects: DataFrame, size: int) -> DataFrame:
    """At most `size` rejects per reason: those whose hash is lowest, so a re-run keeps the same ones."""
    order = Window.partitionBy("reason").orderBy(F.xxhash64("reason", "raw", "id"), "raw", "id")
    return rejects.withColumn("rank", F.row_number().over(order)).where(F.col("rank") <= size).drop("rank")


def _setting(spark: SparkSession, key: str) -> str:
    """A Spark SQL setting that has a default, so that it can be set back after a query."""
    value = spark.conf.get(key)
    if value is None:
        raise ValueError(f"{key} has no value")
    return value


def shuffle_partitions(spark: SparkSession, parsed: DataFrame) -> int:
    """Partitions of the shuffle by id, from the bytes of the input files Spark has listed: about
    SHUFFLE_PARTITION_BYTES of shuffle each, at least one per core.

    Spark's default, 200 (SHUFFLE_PARTITIONS_KEY), is far too few for a day of 150 TB and too many for a
    small one, where each map task writes 200 shuffle files (1.0 CPU-s of bench-pr's 12: AQE coalesces the
    partitions afterwards but cannot spare their writing, and it cannot split too large ones:
    https://spark.apache.org/docs/3.5.6/sql-performance-tuning.html#coalescing-post-shuffle-partitions).
    """
    leaves = parsed._jdf.queryExecution().optimizedPlan().collectLeaves()
    # The file relations' sizes (the empty side of a day stands as an RDD of unknown, default size: not counted).
    input_bytes = sum(
        int(leaf.stats().sizeInBytes())
        for leaf in (leaves.apply(index) for index in range(leaves.size()))
        if leaf.getClass().getSimpleName() == "LogicalRelation"
    )
    wanted = math.ceil(input_bytes * SHUFFLE_BYTES_PER_INPUT_BYTE / SHUFFLE_PARTITION_BYTES)
    return max(spark.sparkContext.defaultParallelism, wanted)


@dataclass(frozen=True)
class DayCounts:
    histogram: metrics.Histogram
    totals: dict[str, int]


def score_day(
    spark: SparkSession,
    storage: Storage,
    args: JobArguments,
    work: str,
    rejects_target: str,
    check: Callable[[DayCounts], None] = lambda counts: None,
) -> DayCounts:
    """Run the Spark part: counts per bin and per reason come back to the driver, rejects land in rejects_target.
    `check` sees the counts before anything stored is replaced, and raises to keep what is stored."""
    extracts, label_folders = _input_folders(storage, args)
    if not extracts and not label_folders:
        counts = DayCounts(metrics.Histogram.empty(args.bins), dict.fromkeys(COUNT_COLUMNS, 0))
        check(counts)
        storage.delete(rejects_target)
        return counts
    spark.conf.set("spark.sql.sources.parallelPartitionDiscovery.threshold", str(PARALLEL_LISTING_THRESHOLD))
    parsed = _parsed_inputs(spark, extracts, label_folders, args.bins)
    outcomes = _outcomes(_by_id(parsed), args.reject_sample_size)
    storage.delete(work)
    partitions = _setting(spark, SHUFFLE_PARTITIONS_KEY)
    spark.conf.set(SHUFFLE_PARTITIONS_KEY, str(shuffle_partitions(spark, parsed)))
    try:
        outcomes.write.partitionBy("kind").json(work)
    finally:
        spark.conf.set(SHUFFLE_PARTITIONS_KEY, partitions)
    rows = spark.read.schema(OUTCOME_SCHEMA).json(f"{work}/kind=counts").collect()
    totals = dict.fromkeys(COUNT_COLUMNS, 0)
    binned: dict[int, tuple[int, int]] = {}
    for row in rows:
        for name in SUMMED_COLUMNS:
            totals[name] += row[name] or 0
        if row["reason"] is not None:
            totals[row["reason"]] += row["count"]
        if row["bin"] is not None:
            binned[row["bin"]] = (row["positives"], row["negatives"])
    counts = DayCounts(metrics.Histogram.from_counts(args.bins, binned), totals)
    try:
        check(counts)
        if storage.exists(f"{work}/kind=rejects"):
            storage.move(f"{work}/kind=rejects", rejects_target)
        else:
            storage.delete(rejects_target)
    finally:
        storage.delete(work)
    return counts


def rows_read(totals: dict[str, int]) -> tuple[int, int]:
    """Captured and labelled rows a run read, rejected ones included."""
    captured = totals["captured"] + sum(totals[reason] for reason in records.CAPTURE_REASONS)
    labelled = totals["labelled"] + sum(totals[reason] for reason in records.GROUND_TRUTH_REASONS)
    return captured, labelled


def build_summary(
    day: date,
    counts: DayCounts,
    thresholds: tuple[float, ...],
    decision_threshold: float = 0.5,
    target_half_width: float = 0.01,
) -> dict[str, Any]:
    """The summary object: counts, label coverage, the metrics with their 95% intervals, the capture percent that
    would keep those intervals within the target half-width, and the reject counts by reason."""
    totals = counts.totals
    figures = metrics.summarize(counts.histogram, list(thresholds), decision_threshold, target_half_width)
    rejected = {reason: totals[reason] for reason in records.REASONS}
    joined = figures["positives"] + figures["negatives"]
    captured, labelled = rows_read(totals)
    return {
        "date": day.isoformat(),
        "rows_captured": captured,
        "rows_labeled": labelled,
        "rows_joined": joined,
        "label_coverage": joined / totals["predicted_ids"] if totals["predicted_ids"] else None,
        "positives": figures["positives"],
        "negatives": figures["negatives"],
        "average_precision": figures["average_precision"],
        "average_precision_lower": figures["average_precision_lower"],
        "average_precision_upper": figures["average_precision_upper"],
        "average_precision_ci_lower": figures["average_precision_ci_lower"],
        "average_precision_ci_upper": figures["average_precision_ci_upper"],
        "roc_auc": figures["roc_auc"],
        "best_f1_threshold": figures["best_f1_threshold"],
        "thresholds": figures["thresholds"],
        "target_half_width": target_half_width,
        "capture_percent_for_target": figures["capture_percent_for_target"],
        "rejected": rejected,
    }


def _partition(output: str, dataset: str, day: date) -> str:
    return f"{output.rstrip('/')}/{dataset}/dt={day.isoformat()}"


def _write_table(spark: SparkSession, rows: list[tuple[Any, ...]], schema: str, path: str) -> None:
    spark.createDataFrame(rows, schema).coalesce(1).write.mode("overwrite").parquet(path)


def write_day(spark: SparkSession, storage: Storage, args: JobArguments, counts: DayCounts) -> dict[str, Any]:
    """Histogram, curve and thresholds as Parquet, then the summary JSON last."""
    histogram = counts.histogram
    _write_table(
        spark,
        [
            (index, histogram.lower(index), histogram.upper(index), pos, neg)
            for index, (pos, neg) in enumerate(zip(histogram.positives, histogram.negatives))
            if pos or neg
        ],
        HISTOGRAM_SCHEMA,
        _partition(args.output, "histogram", args.date),
    )
    _write_table(spark, metrics.curve(histogram), CURVE_SCHEMA, _partition(args.output, "curve", args.date))
    summary = build_summary(args.date, counts, args.thresholds, args.decision_threshold, args.target_half_width)
    best = metrics.best_f1(histogram)
    threshold_rows = [("requested", *metrics.at_threshold(histogram, t).as_dict().values()) for t in args.thresholds]
    if best is not None:
        threshold_rows.append(("best_f1", *best.as_dict().values()))
    _write_table(spark, threshold_rows, THRESHOLDS_SCHEMA, _partition(args.output, "thresholds", args.date))
    summary_dir = _partition(args.output, "summary", args.date)
    storage.delete(summary_dir)
    storage.write_text(f"{summary_dir}/summary.json", json.dumps(summary) + "\n")
    return summary


def stored_histogram(
    spark: SparkSession, storage: Storage, output: str, days: list[date], bins: int
) -> tuple[metrics.Histogram, list[date]]:
    """Sum of the stored daily histograms of `days`, and the days that had none."""
    present = [day for day in days if storage.exists(_partition(output, "histogram", day))]
    missing = [day for day in days if day not in present]
    if not present:
        return metrics.Histogram.empty(bins), missing
    stored = spark.read.schema(HISTOGRAM_SCHEMA).parquet(*(_partition(output, "histogram", d) for d in present))
    widths = {
        round(1 / row["width"])
        for row in stored.select((F.col("upper") - F.col("lower")).alias("width")).distinct().collect()
    }
    if widths - {bins}:
        raise JobInputError(f"stored histograms use {sorted(widths)} bins; roll up with the same --bins")
    rows = stored.groupBy("bin").agg(F.sum("positives").alias("p"), F.sum("negatives").alias("n")).collect()
    return metrics.Histogram.from_counts(bins, {row["bin"]: (row["p"], row["n"]) for row in rows}), missing


def write_rollup(spark: SparkSession, storage: Storage, args: JobArguments, rollup_days: int) -> dict[str, Any]:
    """Metrics over the last `rollup_days` days (ending at --date) from stored histograms only, raw data untouched."""
    days = [args.date - timedelta(days=offset) for offset in range(rollup_days - 1, -1, -1)]
    histogram, missing = stored_histogram(spark, storage, args.output, days, args.bins)
    figures = metrics.summarize(histogram, list(args.thresholds))
    rollup = {
        "date": args.date.isoformat(),
        "days": rollup_days,
        "from": days[0].isoformat(),
        "days_missing": [day.isoformat() for day in missing],
        **{
            key: figures[key]
            for key in (
                "positives",
                "negatives",
                "average_precision",
                "average_precision_lower",
                "average_precision_upper",
                "average_precision_ci_lower",
                "average_precision_ci_upper",
                "roc_auc",
                "best_f1_threshold",
                "thresholds",
            )
        },
    }
    rollup_dir = _partition(args.output, "rollup", args.date)
    storage.delete(rollup_dir)
    storage.write_text(f"{rollup_dir}/rollup.json", json.dumps(rollup) + "\n")
    return rollup


def keeps_the_stored_day(storage: Storage, args: JobArguments) -> Callable[[DayCounts], None]:
    """A check for score_day: a run that read fewer captured or labelled rows than the day's stored results were
    scored from keeps them. Captures and labels are written once, so a re-run reads fewer only when part of its
    input has expired since (the extract is kept days, each of its hours expires on its own, labels expire after
    quality_raw_retention_days, the results months later): replacing would lose the day's real figures."""
    path = f"{_partition(args.output, 'summary', args.date)}/summary.json"
    stored = json.loads(storage.read_text(path)) if storage.exists(path) else None

    def check(counts: DayCounts) -> None:
        if stored is None or args.replace_with_fewer_rows:
            return
        captured, labelled = rows_read(counts.totals)
        before = (stored.get("rows_captured") or 0, stored.get("rows_labeled") or 0)
        if captured < before[0] or labelled < before[1]:
            raise JobInputError(
                f"--date {args.date}: this run read {captured} captured and {labelled} labelled rows, fewer than the "
                f"{before[0]} and {before[1]} its stored results were scored from (part of its extract or labels has "
                "expired since), so the stored results are kept; --replace-with-fewer-rows replaces them anyway"
            )

    return check


def run(spark: SparkSession, args: JobArguments) -> dict[str, Any]:
    """Extract the window's newest day of raw capture, score --date from its extract and write its outputs;
    returns the summary. With --extract-hour-before, only extract that hour."""
    storage = Storage(spark)
    if args.extract_hour is not None:
        return extract_hour(spark, storage, args, args.extract_hour)
    extract_days(spark, storage, args)
    work = f"{args.output.rstrip('/')}/_work/dt={args.date.isoformat()}"
    rejects = _partition(args.output, "rejects", args.date)
    counts = score_day(spark, storage, args, work, rejects, keeps_the_stored_day(storage, args))
    summary = write_day(spark, storage, args, counts)
    if args.rollup_days:
        write_rollup(spark, storage, args, args.rollup_days)
    return summary


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except JobInputError as error:
        print(f"pr_curve: {error}", file=sys.stderr)
        return 2
    spark = SparkSession.builder.appName("pr-curve").getOrCreate()
    try:
        summary = run(spark, args)
    except JobInputError as error:
        print(f"pr_curve: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # a storage or Spark failure: one readable line, the trace is in the Spark log
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"pr_curve: failed: {first_line}", file=sys.stderr)
        return 1
    finally:
        spark.stop()
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
