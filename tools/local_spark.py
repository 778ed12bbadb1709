"""The local SparkSession of the tests and `make demo`: two cores, no UI, and errors only on the console.

Its jobs last seconds on small data, so the JVM compiles with C1 only and collects with the serial collector: the
tiered C2 compiler and G1's threads cost about a quarter of the CPU of the Spark tests (61 to 45 CPU-seconds for
tests/spark_jobs/churn, 106 to 76 for test_pr_curve.py, measured 2026-12-05) and pay off only in long runs. Neither
changes what a query computes.

Spark's default log profile prints WARN lines on every start (loopback hostname, native-hadoop library, "Setting
default log level") that tell a user of this kit nothing; log4j2-quiet.properties keeps errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

QUIET_LOGGING = Path(__file__).resolve().parent / "log4j2-quiet.properties"
SHORT_RUN_JVM = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def session(app_name: str):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={QUIET_LOGGING} {SHORT_RUN_JVM}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
