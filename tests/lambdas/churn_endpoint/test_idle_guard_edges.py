"""The idle guard's edges and its handler run through its environment (issue 22: the age and window edges, the
metric dimensions and handler() were not exercised)."""

import ast
from datetime import datetime, timedelta

import boto3
import pytest

from tests.lambdas.churn_endpoint.test_idle_guard import ENDPOINT, SETTINGS, aws, idle_guard, invoked

__all__ = ["aws"]  # the fixture, imported for pytest


class RecordingCloudWatch:
    def __init__(self, client):
        self.client, self.requests = client, []

    def get_metric_statistics(self, **request):
        self.requests.append(request)
        return self.client.get_metric_statistics(**request)


class Notices:
    def __init__(self):
        self.published = []

    def publish(self, **request):
        self.published.append(request)


@pytest.mark.parametrize(
    ("age", "checked"), [(timedelta(hours=4) - timedelta(seconds=1), False), (timedelta(hours=4), True)]
)
def test_the_endpoint_is_judged_from_exactly_idle_hours_in_service(aws, age, checked):
    sagemaker, cloudwatch, _, since = aws
    recording = RecordingCloudWatch(cloudwatch)
    result = idle_guard.check(sagemaker, recording, Notices(), SETTINGS, since + age)
    assert (result["action"] == "deleted") is checked
    assert bool(recording.requests) is checked


def test_the_request_asks_for_hourly_sums_of_this_variant_over_the_window(aws):
    sagemaker, cloudwatch, _, since = aws
    recording = RecordingCloudWatch(cloudwatch)
    now = since + timedelta(hours=6)
    idle_guard.check(sagemaker, recording, Notices(), SETTINGS, now)
    (request,) = recording.requests
    assert request == {
        "Namespace": "AWS/SageMaker",
        "MetricName": "Invocations",
        "Dimensions": [{"Name": "EndpointName", "Value": ENDPOINT}, {"Name": "VariantName", "Value": "AllTraffic"}],
        "StartTime": now - timedelta(hours=4),
        "EndTime": now,
        "Period": 3600,
        "Statistics": ["Sum"],
    }


def test_invocations_are_summed_over_every_hour_of_the_window(aws):
    sagemaker, cloudwatch, _, since = aws
    now = since + timedelta(hours=8)
    invoked(cloudwatch, now - timedelta(hours=3, minutes=30), 2)
    invoked(cloudwatch, now - timedelta(minutes=30), 1)
    assert idle_guard.invocations(cloudwatch, SETTINGS, now) == 3
    result = idle_guard.check(sagemaker, cloudwatch, Notices(), SETTINGS, now)
    assert result == {"action": "none", "reason": "3 invocation(s) in the last 4 h"}


def test_a_single_invocation_in_the_window_keeps_the_endpoint(aws):
    sagemaker, cloudwatch, _, since = aws
    now = since + timedelta(hours=8)
    invoked(cloudwatch, now - timedelta(hours=1), 1)
    notices = Notices()
    result = idle_guard.check(sagemaker, cloudwatch, notices, SETTINGS, now)
    assert result == {"action": "none", "reason": "1 invocation(s) in the last 4 h"}
    assert sagemaker.list_endpoints()["Endpoints"] and notices.published == []


def test_the_notice_names_the_endpoint_and_the_kept_config(aws):
    sagemaker, cloudwatch, _, since = aws
    notices = Notices()
    idle_guard.check(sagemaker, cloudwatch, notices, SETTINGS, since + timedelta(hours=5))
    (notice,) = notices.published
    assert notice["Subject"] == f"{ENDPOINT} deleted after 4 idle hours"
    assert f"config {ENDPOINT}-v1 is kept" in notice["Message"] and "served no request in 4 hours" in notice["Message"]


def test_the_handler_reads_its_environment_and_deletes_an_idle_endpoint(aws, monkeypatch, capsys):
    """The event is the "Example Scheduled Event event" of
    https://docs.aws.amazon.com/eventbridge/latest/userguide/event-reference.html, literally."""
    sagemaker, _, _, since = aws
    topic = boto3.client("sns").create_topic(Name="churn")["TopicArn"]

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return since + timedelta(hours=5)

    monkeypatch.setattr(idle_guard, "datetime", Later)
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "VARIANT_NAME": "AllTraffic",
        "IDLE_HOURS": "4",
        "TOPIC_ARN": topic,
    }.items():
        monkeypatch.setenv(name, value)
    event = {
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": "2016-12-30T18:44:49Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/SampleRule"],
        "detail": {},
    }
    assert idle_guard.handler(event, None) == {"action": "deleted", "endpoint": ENDPOINT, "config": f"{ENDPOINT}-v1"}
    # What it did is in the function's log.
    assert ast.literal_eval(capsys.readouterr().out.strip()) == {
        "action": "deleted",
        "endpoint": ENDPOINT,
        "config": f"{ENDPOINT}-v1",
    }
    assert sagemaker.list_endpoints()["Endpoints"] == []


def test_the_handler_leaves_a_young_endpoint_alone(aws, monkeypatch):
    sagemaker, _, _, _ = aws
    for name, value in {
        "ENDPOINT_NAME": ENDPOINT,
        "VARIANT_NAME": "AllTraffic",
        "IDLE_HOURS": "4",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:churn",
    }.items():
        monkeypatch.setenv(name, value)
    result = idle_guard.handler({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}, None)
    assert result["action"] == "none" and result["reason"].endswith("less than 4 h")
    assert sagemaker.list_endpoints()["Endpoints"]


@pytest.mark.parametrize("event", [None, [], "Scheduled Event", {}])
def test_anything_but_a_scheduled_event_is_refused(event):
    with pytest.raises(idle_guard.EventError, match="'detail-type' must be 'Scheduled Event'"):
        idle_guard.handler(event, None)
