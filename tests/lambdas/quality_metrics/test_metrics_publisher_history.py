"""The drop alarm's history: no history, both edges of the seven-day window, a corrupt day that must not cut the
history short, a zero mean; the units and the handler's environment (issue 22: each of these mutants survived)."""

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from tests.lambdas.moto_clients import client

_spec = importlib.util.spec_from_file_location(
    "metrics_publisher_history",
    Path(__file__).resolve().parents[3] / "lambdas" / "quality_metrics" / "metrics_publisher.py",
)
publisher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publisher)

BUCKET = "results"
TODAY = "2026-11-20"


def entry(threshold, precision, recall):
    """One row of the summary's thresholds, with its 95% intervals (fixed widths: the history ignores them)."""
    return {
        "threshold": threshold,
        "precision": precision,
        "recall": recall,
        "precision_lower": precision - 0.05,
        "precision_upper": precision + 0.05,
        "recall_lower": recall - 0.04,
        "recall_upper": recall + 0.04,
    }


def summary(day, average_precision):
    return {
        "date": day,
        "rows_captured": 1000,
        "rows_joined": 900,
        "label_coverage": 0.9,
        "positives": 90,
        "negatives": 810,
        "average_precision": average_precision,
        "average_precision_lower": 0.1,
        "average_precision_upper": 0.5,
        "average_precision_ci_lower": 0.05,
        "average_precision_ci_upper": 0.55,
        "capture_percent_for_target": 40,
        "thresholds": [entry(0.5, 0.6, 0.3)],
    }


class RecordingCloudWatch:
    def __init__(self, client):
        self.client, self.requests = client, []

    def put_metric_data(self, **request):
        self.requests.append(request)
        return self.client.put_metric_data(**request)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield s3, RecordingCloudWatch(client("cloudwatch"))


def put(s3, day, body, prefix=""):
    key = f"{prefix}summary/dt={day}/summary.json"  # the layout the precision-recall job writes, spelled out
    s3.put_object(Bucket=BUCKET, Key=key, Body=body if isinstance(body, str) else json.dumps(body))


def publish(s3, cloudwatch, prefix=""):
    return publisher.publish({"date": TODAY}, s3, cloudwatch, BUCKET, prefix, "churn", 0.5)["metrics"]


def test_the_first_day_has_no_history_and_publishes_no_drop(aws):
    s3, cloudwatch = aws
    put(s3, TODAY, summary(TODAY, 0.3))
    metrics = publish(s3, cloudwatch)
    assert "AveragePrecisionDrop" not in metrics and metrics["AveragePrecision"] == 0.3


def test_the_window_holds_the_seventh_day_back_but_not_the_eighth(aws):
    s3, cloudwatch = aws
    put(s3, TODAY, summary(TODAY, 0.3))
    put(s3, "2026-11-13", summary("2026-11-13", 0.5))  # 7 days back: in the window
    put(s3, "2026-11-12", summary("2026-11-12", 0.9))  # 8 days back: outside
    assert publish(s3, cloudwatch)["AveragePrecisionDrop"] == pytest.approx(0.4)  # (0.5 - 0.3) / 0.5


def test_today_is_not_part_of_its_own_history(aws):
    s3, cloudwatch = aws
    put(s3, TODAY, summary(TODAY, 0.3))
    put(s3, "2026-11-19", summary("2026-11-19", 0.6))
    assert publish(s3, cloudwatch)["AveragePrecisionDrop"] == pytest.approx(0.5)  # (0.6 - 0.3) / 0.6


def test_a_corrupt_day_is_skipped_without_cutting_the_history_short(aws):
    s3, cloudwatch = aws
    put(s3, TODAY, summary(TODAY, 0.3))
    put(s3, "2026-11-19", "not json")
    put(s3, "2026-11-18", {"date": "2026-11-18"})  # valid JSON without the fields
    put(s3, "2026-11-17", summary("2026-11-17", 0.4))
    put(s3, "2026-11-15", summary("2026-11-15", 0.8))
    assert publish(s3, cloudwatch)["AveragePrecisionDrop"] == pytest.approx(0.5)  # mean 0.6: (0.6 - 0.3) / 0.6


@pytest.mark.parametrize(("past", "today", "drop"), [([0.0], 0.0, 0.0), ([0.2], 0.5, 0.0), ([0.5, None], 0.25, 0.5)])
def test_the_drop_is_zero_without_a_fall_and_past_days_without_precision_do_not_count(aws, past, today, drop):
    s3, cloudwatch = aws
    put(s3, TODAY, summary(TODAY, today))
    for offset, value in enumerate(past, start=1):
        day = f"2026-11-{20 - offset}"
        put(s3, day, summary(day, value))
    assert publish(s3, cloudwatch)["AveragePrecisionDrop"] == pytest.approx(drop)


def test_every_metric_is_sent_once_with_its_unit_and_the_endpoint_dimension(aws):
    s3, cloudwatch = aws
    put(s3, TODAY, summary(TODAY, 0.3), prefix="quality/")
    put(s3, "2026-11-19", summary("2026-11-19", 0.6), prefix="quality/")
    publish(s3, cloudwatch, prefix="/quality/")
    (request,) = cloudwatch.requests
    assert request["Namespace"] == "MlKit/ModelQuality"
    sent = {m["MetricName"]: (m["Value"], m["Unit"]) for m in request["MetricData"]}
    assert sent == {
        "SummaryPublished": (1.0, "Count"),
        "RowsCaptured": (1000.0, "Count"),
        "RowsJoined": (900.0, "Count"),
        "LabelCoverage": (0.9, "None"),
        "PositiveRate": (0.1, "None"),
        "AveragePrecision": (0.3, "None"),
        "AveragePrecisionLower": (0.1, "None"),
        "AveragePrecisionUpper": (0.5, "None"),
        "PrecisionAtThreshold": (0.6, "None"),
        "RecallAtThreshold": (0.3, "None"),
        "AveragePrecisionDrop": (pytest.approx(0.5), "None"),
        "AveragePrecisionCiLower": (0.05, "None"),
        "AveragePrecisionCiUpper": (0.55, "None"),
        "CapturePercentForTarget": (40.0, "Percent"),
        "PrecisionAtThresholdCiLower": (pytest.approx(0.55), "None"),
        "PrecisionAtThresholdCiUpper": (pytest.approx(0.65), "None"),
        "RecallAtThresholdCiLower": (pytest.approx(0.26), "None"),
        "RecallAtThresholdCiUpper": (pytest.approx(0.34), "None"),
    }
    assert all(m["Dimensions"] == [{"Name": "Endpoint", "Value": "churn"}] for m in request["MetricData"])


def test_a_threshold_within_rounding_matches_and_one_off_by_a_thousandth_does_not(aws):
    base = summary(TODAY, 0.3)
    close = {**base, "thresholds": [entry(0.5 + 1e-12, 0.7, 0.2)]}
    assert publisher.metric_values(close, [], 0.5)["PrecisionAtThreshold"] == 0.7
    far = {**base, "thresholds": [entry(0.501, 0.7, 0.2)]}
    with pytest.raises(publisher.SummaryError, match="no entry for the decision threshold 0.5"):
        publisher.metric_values(far, [], 0.5)


def test_the_handler_reads_bucket_prefix_endpoint_and_threshold_from_its_environment(aws, monkeypatch):
    s3, _ = aws
    put(s3, TODAY, {**summary(TODAY, 0.3), "thresholds": [entry(0.7, 0.8, 0.1)]}, prefix="mq/")
    for name, value in {
        "RESULTS_BUCKET": BUCKET,
        "RESULTS_PREFIX": "mq",
        "ENDPOINT_NAME": "churn-prod",
        "DECISION_THRESHOLD": "0.7",
    }.items():
        monkeypatch.setenv(name, value)
    result = publisher.handler({"date": TODAY}, None)
    assert result["date"] == TODAY and result["metrics"]["PrecisionAtThreshold"] == 0.8
    listed = boto3.client("cloudwatch").list_metrics(Namespace="MlKit/ModelQuality", MetricName="RowsCaptured")
    assert [m["Dimensions"] for m in listed["Metrics"]] == [[{"Name": "Endpoint", "Value": "churn-prod"}]]


def test_a_read_error_other_than_a_missing_object_is_raised(aws):
    s3, cloudwatch = aws
    with pytest.raises(Exception, match="NoSuchBucket"):
        publisher.publish({"date": TODAY}, s3, cloudwatch, "no-such-bucket", "", "churn", 0.5)
