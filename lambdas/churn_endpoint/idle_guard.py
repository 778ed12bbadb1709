"""Sandbox idle guard: delete the churn endpoint after IDLE_HOURS without an invocation, and say so on SNS.

Runs on a schedule. An endpoint bills every hour it exists, used or not; the guard deletes only the endpoint, so
the endpoint configs and models stay, and the next approval (a new version, or the current one approved again)
creates the endpoint again. An endpoint younger than IDLE_HOURS, or one that is not InService (being created,
updated or deleted), is left alone. Requests are the Sum of `Invocations` (namespace AWS/SageMaker, dimensions
EndpointName and VariantName: https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html); an hour
without requests has no data point, so an empty answer counts as idle.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

# A boto3 client: boto3 carries no types, and the handler imports it only at run time.
Client = Any


class EventError(ValueError):
    """A malformed event; the message names the field."""


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    variant_name: str
    idle_hours: int
    topic_arn: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        return cls(
            endpoint_name=env["ENDPOINT_NAME"],
            variant_name=env["VARIANT_NAME"],
            idle_hours=int(env["IDLE_HOURS"]),
            topic_arn=env["TOPIC_ARN"],
        )


def invocations(cloudwatch: Client, settings: Settings, now: datetime) -> float:
    """Requests the endpoint's variant served in the last IDLE_HOURS (hourly sums)."""
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName="Invocations",
        Dimensions=[
            {"Name": "EndpointName", "Value": settings.endpoint_name},
            {"Name": "VariantName", "Value": settings.variant_name},
        ],
        StartTime=now - timedelta(hours=settings.idle_hours),
        EndTime=now,
        Period=3600,
        Statistics=["Sum"],
    )
    return float(sum(point["Sum"] for point in answer["Datapoints"]))


def check(sagemaker: Client, cloudwatch: Client, sns: Client, settings: Settings, now: datetime) -> dict[str, Any]:
    """Delete the endpoint if it has been in service and unused for the whole idle window."""
    try:
        endpoint = sagemaker.describe_endpoint(EndpointName=settings.endpoint_name)
    except sagemaker.exceptions.ClientError as error:
        if "Could not find endpoint" in str(error):
            return {"action": "none", "reason": "no endpoint"}
        raise
    if endpoint["EndpointStatus"] != "InService":
        return {"action": "none", "reason": f"endpoint is {endpoint['EndpointStatus']}"}
    since = endpoint["LastModifiedTime"]
    if now - since < timedelta(hours=settings.idle_hours):
        return {"action": "none", "reason": f"in service since {since.isoformat()}, less than {settings.idle_hours} h"}
    served = invocations(cloudwatch, settings, now)
    if served > 0:
        return {"action": "none", "reason": f"{served:g} invocation(s) in the last {settings.idle_hours} h"}
    sagemaker.delete_endpoint(EndpointName=settings.endpoint_name)
    sns.publish(
        TopicArn=settings.topic_arn,
        Subject=f"{settings.endpoint_name} deleted after {settings.idle_hours} idle hours",
        Message=f"The sandbox endpoint {settings.endpoint_name} served no request in {settings.idle_hours} "
        f"hours, so the kit deleted it to stop its hourly bill (config "
        f"{endpoint['EndpointConfigName']} is kept). The next approved model package creates it "
        "again: run the pipeline, or set the latest package to PendingManualApproval and then "
        "Approved.",
    )
    return {"action": "deleted", "endpoint": settings.endpoint_name, "config": endpoint["EndpointConfigName"]}


def handler(event: Any, _context: Any) -> dict[str, Any]:
    import boto3

    if not isinstance(event, dict) or event.get("detail-type") != "Scheduled Event":
        raise EventError("Field 'detail-type' must be 'Scheduled Event' (the guard runs on its schedule only).")
    result = check(
        boto3.client("sagemaker"),
        boto3.client("cloudwatch"),
        boto3.client("sns"),
        Settings.from_env(os.environ),
        datetime.now(timezone.utc),
    )
    print(result)
    return result
