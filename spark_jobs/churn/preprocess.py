"""Churn features for the built-in XGBoost algorithm: label first, one-hot categories, seeded 70/20/10 split.

    spark-submit preprocess.py --input PATH --output PATH [--seed 11] [--max-reject-fraction 0.1]
    python -m spark_jobs.churn.preprocess --input PATH --output PATH ...

One self-contained file (only pyspark), so the SageMaker Spark processing container runs it as its
`smspark-submit` entry point with S3 URIs as arguments, and tests run it on local paths. Reads CSV files with
the classic churn header; drops Phone and the Charge columns (collinear with minutes); one-hot encodes State,
Area Code and the two plans over fixed vocabularies, so the feature order never depends on the data; writes
header-less CSV (label, then features) to `train/`, `validation/`, `test/`. The split hashes each record with
the seed, so it is the same whatever the partitioning. Bad rows are written to `rejected/` with their reason and
counted in `report.json`; the job fails only when more than `--max-reject-fraction` of the rows are bad.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

LABEL = "Churn?"
LABEL_VALUES = {"True.": 1, "False.": 0}
NUMERIC = (
    "Account Length",
    "VMail Message",
    "Day Mins",
    "Day Calls",
    "Eve Mins",
    "Eve Calls",
    "Night Mins",
    "Night Calls",
    "Intl Mins",
    "Intl Calls",
    "CustServ Calls",
)
CATEGORIES = {
    "State": tuple(
        "AK AL AR AZ CA CO CT DC DE FL GA HI IA ID IL IN KS KY LA MA MD ME MI MN MO MS MT NC ND NE NH NJ NM NV NY "
        "OH OK OR PA RI SC SD TN TX UT VA VT WA WI WV WY".split()
    ),
    "Area Code": ("408", "415", "510"),
    "Int'l Plan": ("no", "yes"),
    "VMail Plan": ("no", "yes"),
}
DROPPED = ("Phone", "Day Charge", "Eve Charge", "Night Charge", "Intl Charge")
REQUIRED = (LABEL, *NUMERIC, *CATEGORIES, *DROPPED)
FEATURES = (*NUMERIC, *(f"{column}_{value}" for column, values in CATEGORIES.items() for value in values))
# Checked in this order; a row is rejected for the first reason that applies.
REASONS = ("wrong_field_count", "missing_value", "not_numeric", "unknown_category", "bad_label")
# Percent buckets of the record hash: [0, 70) train, [70, 90) validation, [90, 100) test.
SPLITS = (("train", 70), ("validation", 90), ("test", 100))
CORRUPT = "_corrupt_record"


class JobInputError(Exception):
    """Input the job cannot use; the message says which and why."""


@dataclass(frozen=True)
class JobArguments:
    input: str
    output: str
    seed: int = 11
    max_reject_fraction: float = 0.1


def parse_arguments(argv: list[str]) -> JobArguments:
    parser = argparse.ArgumentParser(prog="preprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="CSV file or folder with the churn header (local or s3://)")
    parser.add_argument("--output", required=True, help="folder for train/, validation/, test/, rejected/")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--max-reject-fraction", type=float, default=0.1)
    args = parser.parse_args(argv)
    if not 0.0 <= args.max_reject_fraction <= 1.0:
        raise JobInputError(f"--max-reject-fraction={args.max_reject_fraction} must be between 0 and 1.")
    return JobArguments(args.input, args.output.rstrip("/"), args.seed, args.max_reject_fraction)


def read_records(spark: SparkSession, path: str) -> DataFrame:
    """Every column as text, plus the raw line of rows whose field count does not match the header."""
    header = spark.read.option("header", True).csv(path).columns
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise JobInputError(
            f"Input {path} lacks the column(s) {', '.join(missing)}; its header is: {', '.join(header)}."
        )
    schema = T.StructType(
        [T.StructField(name, T.StringType()) for name in header] + [T.StructField(CORRUPT, T.StringType())]
    )
    return (
        spark.read.schema(schema)
        .option("header", True)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("ignoreLeadingWhiteSpace", True)
        .option("ignoreTrailingWhiteSpace", True)
        .csv(path)
    )


def _number(column: str) -> Column:
    """The value as a finite double, else null (works with and without ANSI mode)."""
    value = F.expr(f"try_cast(`{column}` AS DOUBLE)")
    return F.when(~F.isnan(value) & (F.abs(value) < float("inf")), value)


def classify(records: DataFrame, seed: int) -> DataFrame:
    """Adds `reason` (null for a good row), `split`, and the label and feature columns of good rows."""
    required = [F.col(f"`{column}`") for column in REQUIRED]
    reason = (
        F.when(F.col(CORRUPT).isNotNull(), "wrong_field_count")
        .when(F.greatest(*[(c.isNull() | (c == "")).cast("int") for c in required]) == 1, "missing_value")
        .when(F.greatest(*[_number(c).isNull().cast("int") for c in NUMERIC]) == 1, "not_numeric")
        .when(
            F.greatest(*[(~F.col(f"`{c}`").isin(*values)).cast("int") for c, values in CATEGORIES.items()]) == 1,
            "unknown_category",
        )
        .when(~F.col(f"`{LABEL}`").isin(*LABEL_VALUES), "bad_label")
    )
    bucket = F.pmod(F.xxhash64(*required, F.lit(seed)), F.lit(100))
    split = (
        F.when(bucket < SPLITS[0][1], SPLITS[0][0]).when(bucket < SPLITS[1][1], SPLITS[1][0]).otherwise(SPLITS[2][0])
    )
    features = [_number(c).alias(c) for c in NUMERIC] + [
        (F.col(f"`{column}`") == value).cast("int").alias(f"{column}_{value}")
        for column, values in CATEGORIES.items()
        for value in values
    ]
    label = F.when(F.col(f"`{LABEL}`") == "True.", 1).otherwise(0).alias("label")
    return records.select(
        reason.alias("reason"),
        split.alias("split"),
        label,
        *features,
        *[F.col(f"`{c}`").alias(f"raw {c}") for c in REQUIRED],
        F.col(CORRUPT),
    )


def run(spark: SparkSession, args: JobArguments) -> dict[str, Any]:
    """Write the splits and the rejected rows; return (and write) the report."""
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    hadoop.set("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")  # no _SUCCESS in XGBoost's channels
    rows = classify(read_records(spark, args.input), args.seed).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        counts = {(r["split"], r["reason"]): r["count"] for r in rows.groupBy("split", "reason").count().collect()}
        positives = {
            r["split"]: r["positives"]
            for r in rows.where(F.col("reason").isNull())
            .groupBy("split")
            .agg(F.sum("label").alias("positives"))
            .collect()
        }
        total = sum(counts.values())
        rejected = {reason: sum(n for (_, r), n in counts.items() if r == reason) for reason in REASONS}
        report = {
            "input": args.input,
            "rows_read": total,
            "rows_rejected": sum(rejected.values()),
            "rejected": rejected,
            "splits": {
                name: {
                    "rows": sum(n for (s, r), n in counts.items() if s == name and r is None),
                    "positives": positives.get(name, 0) or 0,
                }
                for name, _ in SPLITS
            },
            "features": list(FEATURES),
            "seed": args.seed,
        }
        if total == 0:
            raise JobInputError(f"Input {args.input} has no data rows.")
        good = rows.where(F.col("reason").isNull())
        for name, _ in SPLITS:
            (
                good.where(F.col("split") == name)
                .select("label", *[f"`{c}`" for c in FEATURES])
                .write.mode("overwrite")
                .csv(f"{args.output}/{name}", header=False)
            )
            _remove_empty_parts(spark, f"{args.output}/{name}")
        (
            rows.where(F.col("reason").isNotNull())
            .select("reason", *[f"`raw {c}`" for c in REQUIRED], CORRUPT)
            .write.mode("overwrite")
            .json(f"{args.output}/rejected")
        )
        _write_text(spark, f"{args.output}/report.json", json.dumps(report, indent=2))
    finally:
        rows.unpersist()
    fraction = report["rows_rejected"] / total
    if fraction > args.max_reject_fraction:
        raise JobInputError(
            f"{fraction:.1%} of the rows are bad (more than --max-reject-fraction="
            f"{args.max_reject_fraction}); see {args.output}/report.json and rejected/."
        )
    empty = [name for name, split in report["splits"].items() if split["rows"] == 0]
    if empty:
        raise JobInputError(
            f"No rows for the {', '.join(empty)} split(s): XGBoost cannot use an empty channel; "
            f"see {args.output}/report.json."
        )
    return report


def _remove_empty_parts(spark: SparkSession, folder: str) -> None:
    """Delete the 0-byte part files Spark writes for empty partitions: the XGBoost 1.7-1 container sniffs the CSV
    delimiter on the first line of every file of a channel and fails on an empty one (aws/sagemaker-xgboost-container,
    data_utils.py: validate_data_file_path -> _validate_csv_format -> _get_csv_delimiter)."""
    jvm: Any = spark.sparkContext._jvm  # py4j's view of the JVM (untyped), set before any session exists
    path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    for status in fs.listStatus(path):
        if status.isFile() and status.getPath().getName().startswith("part-") and status.getLen() == 0:
            fs.delete(status.getPath(), False)


def _write_text(spark: SparkSession, uri: str, text: str) -> None:
    """One small file through Hadoop's file system API, so local paths and s3:// behave the same."""
    jvm: Any = spark.sparkContext._jvm  # py4j's view of the JVM (untyped), set before any session exists
    path = jvm.org.apache.hadoop.fs.Path(uri)
    stream = path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).create(path, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def main(argv: list[str] | None = None) -> int:
    try:
        args = parse_arguments(sys.argv[1:] if argv is None else argv)
    except JobInputError as error:
        print(f"preprocess: {error}", file=sys.stderr)
        return 2
    spark = SparkSession.builder.appName("churn-preprocess").getOrCreate()
    try:
        report = run(spark, args)
    except JobInputError as error:
        print(f"preprocess: {error}", file=sys.stderr)
        return 2
    finally:
        spark.stop()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
