"""The local SparkSession of the tests and `make demo`: two cores, no UI, and errors only on the console.

Spark's default log profile prints WARN lines on every start (loopback hostname, native-hadoop library, "Setting
default log level") that tell a user of this kit nothing; log4j2-quiet.properties keeps errors.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

QUIET_LOGGING = Path(__file__).resolve().parent / "log4j2-quiet.properties"


def session(app_name: str):
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={QUIET_LOGGING}")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
