import importlib.util
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from moto import mock_aws

from tests.lambdas.moto_clients import client

_spec = importlib.util.spec_from_file_location(
    "metrics_publisher", Path(__file__).resolve().parents[3] / "lambdas" / "quality_metrics" / "metrics_publisher.py"
)
publisher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(publisher)

BUCKET = "results"


def summary(day, average_precision=0.4, coverage=0.9):
    return {
        "date": day,
        "rows_captured": 1000,
        "rows_labeled": 950,
        "rows_joined": 900,
        "label_coverage": coverage,
        "positives": 90,
        "negatives": 810,
        "average_precision": average_precision,
        "average_precision_lower": average_precision - 0.01,
        "average_precision_upper": average_precision + 0.01,
        "average_precision_ci_lower": average_precision - 0.03,
        "average_precision_ci_upper": average_precision + 0.04,
        "roc_auc": 0.8,
        "best_f1_threshold": 0.4,
        "target_half_width": 0.01,
        "capture_percent_for_target": 37,
        "thresholds": [
            {
                "threshold": 0.5,
                "precision": 0.6,
                "recall": 0.3,
                "f1": 0.4,
                "fpr": 0.02,
                "precision_lower": 0.55,
                "precision_upper": 0.65,
                "recall_lower": 0.26,
                "recall_upper": 0.34,
            }
        ],
        "rejected": {},
    }


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = client("s3")
        s3.create_bucket(Bucket=BUCKET)
        yield s3, client("cloudwatch")


def put(s3, day, body):
    s3.put_object(Bucket=BUCKET, Key=publisher.summary_key("", day), Body=body)


def published(cloudwatch, name):
    now = datetime.now(timezone.utc)
    points = cloudwatch.get_metric_statistics(
        Namespace=publisher.NAMESPACE,
        MetricName=name,
        Dimensions=[{"Name": "Endpoint", "Value": "churn"}],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum"],
    )["Datapoints"]
    return [p["Maximum"] for p in points]


def test_publishes_the_day_and_its_drop_against_the_last_seven_days(aws):
    s3, cloudwatch = aws
    put(s3, "2026-11-20", json.dumps(summary("2026-11-20", average_precision=0.3)))
    for offset, ap in ((1, 0.4), (2, 0.4), (9, 0.9)):  # day 9 is outside the 7-day history
        day = f"2026-11-{20 - offset:02d}"
        put(s3, day, json.dumps(summary(day, average_precision=ap)))
    put(s3, "2026-11-16", "not json")  # an unreadable past day is skipped
    result = publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)
    assert result["metrics"]["AveragePrecisionDrop"] == pytest.approx(0.25)
    assert published(cloudwatch, "AveragePrecision") == [0.3]
    assert published(cloudwatch, "PrecisionAtThreshold") == [0.6]
    assert published(cloudwatch, "RecallAtThreshold") == [0.3]
    assert published(cloudwatch, "LabelCoverage") == [0.9]
    assert published(cloudwatch, "PositiveRate") == [pytest.approx(0.1)]
    assert published(cloudwatch, "SummaryPublished") == [1.0]


def test_a_day_without_positives_leaves_undefined_metrics_out(aws):
    s3, cloudwatch = aws
    empty = summary("2026-11-20")
    empty.update(
        positives=0,
        negatives=0,
        label_coverage=None,
        average_precision=None,
        average_precision_lower=None,
        average_precision_upper=None,
    )
    put(s3, "2026-11-20", json.dumps(empty))
    metrics = publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)["metrics"]
    assert "AveragePrecision" not in metrics and "LabelCoverage" not in metrics and "PositiveRate" not in metrics
    assert metrics["SummaryPublished"] == 1.0


def test_a_missing_summary_fails_with_its_location(aws):
    s3, cloudwatch = aws
    with pytest.raises(publisher.SummaryError, match=r"no summary at s3://results/summary/dt=2026-11-20/summary.json"):
        publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)


@pytest.mark.parametrize(
    "body, message",
    [
        ("{oops", "is not valid JSON"),
        ("[1]", "must hold one JSON object"),
        (
            json.dumps({k: v for k, v in summary("2026-11-20").items() if k != "label_coverage"}),
            "has no field 'label_coverage'",
        ),
        (
            json.dumps({**summary("2026-11-20"), "thresholds": [{"threshold": 0.9}]}),
            "no entry for the decision threshold 0.5 in field 'thresholds'",
        ),
    ],
)
def test_a_malformed_summary_names_the_problem(aws, body, message):
    s3, cloudwatch = aws
    put(s3, "2026-11-20", body)
    with pytest.raises(publisher.SummaryError, match=message):
        publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)


@pytest.mark.parametrize("event, message", [({}, "no field 'date'"), ({"date": "20-11-2026"}, "field 'date' must be")])
def test_a_malformed_event_names_the_field(aws, event, message):
    s3, cloudwatch = aws
    with pytest.raises(publisher.SummaryError, match=message):
        publisher.publish(event, s3, cloudwatch, BUCKET, "", "churn", 0.5)


def test_an_empty_day_publishes_zero_rows_for_the_no_predictions_alarm(aws):
    """A day without captures (no endpoint yet) is a successful run with a zero-row summary: RowsCaptured 0 is
    what the NoPredictions alarm watches; metrics undefined on no data are left out, not published as 0."""
    s3, cloudwatch = aws
    empty = {
        **summary("2026-11-20"),
        "rows_captured": 0,
        "rows_labeled": 0,
        "rows_joined": 0,
        "label_coverage": None,
        "positives": 0,
        "negatives": 0,
        "average_precision": None,
        "average_precision_lower": None,
        "average_precision_upper": None,
        "average_precision_ci_lower": None,
        "average_precision_ci_upper": None,
        "roc_auc": None,
        "best_f1_threshold": None,
        "capture_percent_for_target": None,
        "thresholds": [
            {
                "threshold": 0.5,
                "precision": None,
                "recall": None,
                "f1": None,
                "fpr": None,
                "precision_lower": None,
                "precision_upper": None,
                "recall_lower": None,
                "recall_upper": None,
            }
        ],
    }
    put(s3, "2026-11-20", json.dumps(empty))
    result = publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)
    assert result["metrics"] == {"SummaryPublished": 1.0, "RowsCaptured": 0.0, "RowsJoined": 0.0}
    assert published(cloudwatch, "RowsCaptured") == [0.0]
    assert published(cloudwatch, "LabelCoverage") == []


def test_publishes_every_interval_and_the_capture_percent(aws):
    s3, cloudwatch = aws
    put(s3, "2026-11-20", json.dumps(summary("2026-11-20", average_precision=0.4)))
    publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)
    assert published(cloudwatch, "AveragePrecisionCiLower") == [pytest.approx(0.37)]
    assert published(cloudwatch, "AveragePrecisionCiUpper") == [pytest.approx(0.44)]
    assert published(cloudwatch, "PrecisionAtThresholdCiLower") == [0.55]
    assert published(cloudwatch, "PrecisionAtThresholdCiUpper") == [0.65]
    assert published(cloudwatch, "RecallAtThresholdCiLower") == [0.26]
    assert published(cloudwatch, "RecallAtThresholdCiUpper") == [0.34]
    assert published(cloudwatch, "CapturePercentForTarget") == [37.0]


def test_a_summary_without_the_intervals_is_refused_naming_the_field(aws):
    s3, cloudwatch = aws
    old = summary("2026-11-20")
    del old["thresholds"][0]["recall_upper"]
    put(s3, "2026-11-20", json.dumps(old))
    with pytest.raises(publisher.SummaryError, match="has no field 'recall_upper'"):
        publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)
    del old["average_precision_ci_lower"]
    put(s3, "2026-11-20", json.dumps(old))
    with pytest.raises(publisher.SummaryError, match="has no field 'average_precision_ci_lower'"):
        publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)


def test_a_past_day_from_before_the_intervals_still_counts_for_the_drop(aws):
    s3, cloudwatch = aws
    put(s3, "2026-11-20", json.dumps(summary("2026-11-20", average_precision=0.3)))
    put(s3, "2026-11-19", json.dumps({"date": "2026-11-19", "average_precision": 0.6}))
    result = publisher.publish({"date": "2026-11-20"}, s3, cloudwatch, BUCKET, "", "churn", 0.5)
    assert result["metrics"]["AveragePrecisionDrop"] == pytest.approx(0.5)
