import importlib.util
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from moto import mock_aws

from tests.lambdas.moto_clients import client

_spec = importlib.util.spec_from_file_location(
    "idle_guard", Path(__file__).resolve().parents[3] / "lambdas" / "churn_endpoint" / "idle_guard.py"
)
idle_guard = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = idle_guard  # dataclasses look their module up
_spec.loader.exec_module(idle_guard)

ENDPOINT = "churn-endpoint"
SETTINGS = idle_guard.Settings.from_env(
    {
        "ENDPOINT_NAME": ENDPOINT,
        "VARIANT_NAME": "AllTraffic",
        "IDLE_HOURS": "4",
        "TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:churn",
    }
)


class Notices:
    def __init__(self):
        self.published = []

    def publish(self, **request):
        self.published.append(request)


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sagemaker = client("sagemaker")
        sagemaker.create_model(
            ModelName=f"{ENDPOINT}-v1",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/model",
            PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/x:1"},
        )
        sagemaker.create_endpoint_config(
            EndpointConfigName=f"{ENDPOINT}-v1",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": f"{ENDPOINT}-v1",
                    "InstanceType": "ml.t2.medium",
                    "InitialInstanceCount": 1,
                }
            ],
        )
        sagemaker.create_endpoint(EndpointName=ENDPOINT, EndpointConfigName=f"{ENDPOINT}-v1")
        since = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["LastModifiedTime"]
        yield sagemaker, client("cloudwatch"), Notices(), since


def invoked(cloudwatch, at, count):
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Timestamp": at,
                "Value": count,
                "Unit": "None",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": ENDPOINT},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
            }
        ],
    )


def test_an_endpoint_idle_for_the_window_is_deleted_with_a_notice_and_its_config_kept(aws):
    sagemaker, cloudwatch, sns, since = aws
    invoked(cloudwatch, since + timedelta(minutes=30), 5)  # before the window: does not count
    result = idle_guard.check(sagemaker, cloudwatch, sns, SETTINGS, since + timedelta(hours=5))
    assert result == {"action": "deleted", "endpoint": ENDPOINT, "config": f"{ENDPOINT}-v1"}
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.describe_endpoint_config(EndpointConfigName=f"{ENDPOINT}-v1")
    (notice,) = sns.published
    assert notice["TopicArn"] == SETTINGS.topic_arn and "4 idle hours" in notice["Subject"]


def test_an_endpoint_with_invocations_in_the_window_stays(aws):
    sagemaker, cloudwatch, sns, since = aws
    invoked(cloudwatch, since + timedelta(hours=4), 3)
    result = idle_guard.check(sagemaker, cloudwatch, sns, SETTINGS, since + timedelta(hours=5))
    assert result["action"] == "none" and "3 invocation(s)" in result["reason"]
    assert sagemaker.list_endpoints()["Endpoints"] and sns.published == []


def test_a_young_busy_or_missing_endpoint_is_left_alone(aws):
    sagemaker, cloudwatch, sns, since = aws
    assert (
        "less than 4 h" in idle_guard.check(sagemaker, cloudwatch, sns, SETTINGS, since + timedelta(hours=1))["reason"]
    )

    class Updating:
        exceptions = sagemaker.exceptions

        def describe_endpoint(self, **request):
            return {**sagemaker.describe_endpoint(**request), "EndpointStatus": "Updating"}

    later = since + timedelta(hours=9)
    assert idle_guard.check(Updating(), cloudwatch, sns, SETTINGS, later)["reason"] == "endpoint is Updating"
    sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    assert idle_guard.check(sagemaker, cloudwatch, sns, SETTINGS, later) == {"action": "none", "reason": "no endpoint"}
    assert sns.published == []


def test_the_handler_runs_only_on_its_schedule():
    with pytest.raises(idle_guard.EventError, match="'detail-type'"):
        idle_guard.handler({"detail-type": "SageMaker Endpoint State Change"}, None)
