"""Every output of a day carries the same fields: the job's summary and thresholds rows, the Glue tables over
them, the metrics Lambda's required fields and the dashboard's datasets (no synthesis needed)."""

import importlib.util
import re
from datetime import date
from pathlib import Path

from spark_jobs.model_quality import metrics, pr_curve
from stacks.model_quality.dashboard import dashboard_definition, dataset_queries
from stacks.model_quality.query_layer import TABLES, THRESHOLD_STRUCT

_spec = importlib.util.spec_from_file_location(
    "metrics_publisher", Path(__file__).resolve().parents[2] / "lambdas" / "quality_metrics" / "metrics_publisher.py"
)
publisher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publisher)

INTERVAL_FIELDS = ("average_precision_ci_lower", "average_precision_ci_upper", "capture_percent_for_target")
THRESHOLD_INTERVALS = ("precision_lower", "precision_upper", "recall_lower", "recall_upper")


def summary():
    counts = pr_curve.DayCounts(
        metrics.Histogram.from_counts(10, {9: (3, 1), 2: (1, 5)}), dict.fromkeys(pr_curve.COUNT_COLUMNS, 0)
    )
    return pr_curve.build_summary(date(2026, 11, 20), counts, (0.5,), 0.5, 0.01)


def columns(table):
    return [name for name, _ in TABLES[table][1]]


def test_the_summary_table_has_every_field_the_job_writes_in_order():
    assert columns("summary") == list(summary())
    assert set(INTERVAL_FIELDS) <= set(summary())
    assert set(publisher.REQUIRED_FIELDS) <= set(summary())


def test_threshold_rows_and_structs_carry_the_intervals():
    written = [field.split()[0] for field in pr_curve.THRESHOLDS_SCHEMA.split(", ")]
    assert columns("thresholds") == written
    struct_fields = re.findall(r"(\w+):", THRESHOLD_STRUCT.removeprefix("struct<"))
    assert struct_fields == list(summary()["thresholds"][0]) == written[1:]
    assert set(THRESHOLD_INTERVALS) <= set(struct_fields)


def test_every_dashboard_field_is_a_dataset_column_and_the_intervals_are_shown():
    queries = dataset_queries("model_quality")
    declared = {(name, column) for name, (_, cols) in queries.items() for column, _ in cols}
    text = str(dashboard_definition({name: f"arn:{name}" for name in queries}))
    used = set(re.findall(r"'DataSetIdentifier': '(\w+)', 'ColumnName': '(\w+)'", text))
    assert used and used <= declared
    for column in INTERVAL_FIELDS:
        assert ("daily", column) in used
    for column in THRESHOLD_INTERVALS:
        assert ("thresholds", column) in used


def test_the_reject_sample_setting_and_the_job_allow_the_same_sizes():
    from stacks.model_quality.settings import MAX_REJECT_SAMPLE_SIZE

    assert MAX_REJECT_SAMPLE_SIZE == pr_curve.MAX_REJECT_SAMPLE_SIZE
