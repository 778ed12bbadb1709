"""Publish a day's model-quality summary as CloudWatch metrics, so alarms can watch it.

Reads `summary/dt=D/summary.json` that the precision-recall job writes last, and the previous seven days'
summaries for the drop alarm: `AveragePrecisionDrop` is the fraction by which today's average precision is below
the mean of the days before (0 when it is not below, or there is no history).
"""

from __future__ import annotations

import json
import os
from datetime import date, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

# A boto3 client: boto3 carries no types.
Client = Any

NAMESPACE = "MlKit/ModelQuality"
HISTORY_DAYS = 7
REQUIRED_FIELDS = (
    "date",
    "rows_captured",
    "rows_joined",
    "label_coverage",
    "positives",
    "negatives",
    "average_precision",
    "average_precision_lower",
    "average_precision_upper",
    "average_precision_ci_lower",
    "average_precision_ci_upper",
    "capture_percent_for_target",
    "thresholds",
)
# A past day feeds only the drop metric; days written before the intervals existed still count.
HISTORY_FIELDS = ("date", "average_precision")
COUNT_METRICS = ("RowsCaptured", "RowsJoined", "SummaryPublished")
PERCENT_METRICS = ("CapturePercentForTarget",)


class SummaryError(ValueError):
    """A summary that is missing or unusable; the message names the object or the field."""


def summary_key(prefix: str, day: str) -> str:
    return f"{prefix.strip('/')}/summary/dt={day}/summary.json".lstrip("/")


def parse_summary(text: str, where: str, required: tuple[str, ...] = REQUIRED_FIELDS) -> dict[str, Any]:
    try:
        summary = json.loads(text)
    except json.JSONDecodeError as error:
        raise SummaryError(f"{where} is not valid JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(summary, dict):
        raise SummaryError(f"{where} must hold one JSON object")
    for field in required:
        if field not in summary:
            raise SummaryError(f"{where} has no field '{field}'")
    if "thresholds" in required and not isinstance(summary["thresholds"], list):
        raise SummaryError(f"{where}: field 'thresholds' must be a list")
    return summary


def metric_values(
    summary: dict[str, Any], history: list[dict[str, Any]], decision_threshold: float
) -> dict[str, float]:
    """The metrics to publish; a metric that is undefined for the day (e.g. no positives) is left out."""
    joined = summary["positives"] + summary["negatives"]
    values = {
        "SummaryPublished": 1.0,
        "RowsCaptured": float(summary["rows_captured"]),
        "RowsJoined": float(summary["rows_joined"]),
        "LabelCoverage": summary["label_coverage"],
        "PositiveRate": summary["positives"] / joined if joined else None,
        "AveragePrecision": summary["average_precision"],
        "AveragePrecisionLower": summary["average_precision_lower"],
        "AveragePrecisionUpper": summary["average_precision_upper"],
        "AveragePrecisionCiLower": summary["average_precision_ci_lower"],
        "AveragePrecisionCiUpper": summary["average_precision_ci_upper"],
        "CapturePercentForTarget": summary["capture_percent_for_target"],
    }
    at_threshold = next(
        (
            t
            for t in summary["thresholds"]
            if isinstance(t, dict) and abs(t.get("threshold", -1) - decision_threshold) < 1e-9
        ),
        None,
    )
    if at_threshold is None:
        raise SummaryError(
            f"the summary of {summary['date']} has no entry for the decision threshold "
            f"{decision_threshold} in field 'thresholds'"
        )
    values["PrecisionAtThreshold"] = at_threshold.get("precision")
    values["RecallAtThreshold"] = at_threshold.get("recall")
    for field, name in (
        ("precision_lower", "PrecisionAtThresholdCiLower"),
        ("precision_upper", "PrecisionAtThresholdCiUpper"),
        ("recall_lower", "RecallAtThresholdCiLower"),
        ("recall_upper", "RecallAtThresholdCiUpper"),
    ):
        if field not in at_threshold:
            raise SummaryError(
                f"the summary of {summary['date']}: the decision threshold's entry in field "
                f"'thresholds' has no field '{field}'"
            )
        values[name] = at_threshold[field]
    past = [s["average_precision"] for s in history if s.get("average_precision") is not None]
    if summary["average_precision"] is not None and past:
        mean = sum(past) / len(past)
        values["AveragePrecisionDrop"] = max(0.0, (mean - summary["average_precision"]) / mean) if mean else 0.0
    return {name: float(value) for name, value in values.items() if value is not None}


def _read(s3: Client, bucket: str, key: str) -> str | None:
    try:
        body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        return body.decode("utf-8")
    except ClientError as error:
        if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
            return None
        raise


def publish(
    event: Any,
    s3: Client,
    cloudwatch: Client,
    bucket: str,
    prefix: str,
    endpoint: str,
    decision_threshold: float,
) -> dict[str, Any]:
    if not isinstance(event, dict) or "date" not in event:
        raise SummaryError("the event has no field 'date' (YYYY-MM-DD of the scored day)")
    try:
        day = date.fromisoformat(str(event["date"]))
    except ValueError:
        raise SummaryError(f"field 'date' must be YYYY-MM-DD, got {event['date']!r}") from None
    key = summary_key(prefix, day.isoformat())
    text = _read(s3, bucket, key)
    if text is None:
        raise SummaryError(f"no summary at s3://{bucket}/{key}: the job did not finish this day")
    summary = parse_summary(text, f"s3://{bucket}/{key}")
    history = []
    for offset in range(1, HISTORY_DAYS + 1):
        past_key = summary_key(prefix, (day - timedelta(days=offset)).isoformat())
        past_text = _read(s3, bucket, past_key)
        if past_text is not None:
            try:
                history.append(parse_summary(past_text, f"s3://{bucket}/{past_key}", HISTORY_FIELDS))
            except SummaryError:
                continue  # an unreadable past day only shortens the history
    values = metric_values(summary, history, decision_threshold)
    cloudwatch.put_metric_data(
        Namespace=NAMESPACE,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Endpoint", "Value": endpoint}],
                "Value": value,
                "Unit": "Count" if name in COUNT_METRICS else "Percent" if name in PERCENT_METRICS else "None",
            }
            for name, value in sorted(values.items())
        ],
    )
    return {"date": day.isoformat(), "metrics": values}


def handler(event: Any, _context: Any) -> dict[str, Any]:
    return publish(
        event,
        boto3.client("s3"),
        boto3.client("cloudwatch"),
        os.environ["RESULTS_BUCKET"],
        os.environ.get("RESULTS_PREFIX", ""),
        os.environ["ENDPOINT_NAME"],
        float(os.environ["DECISION_THRESHOLD"]),
    )
