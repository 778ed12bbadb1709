"""Publish whether the day's scheduled model-quality run succeeded by its deadline: `RunMissed` 1 or 0.

A schedule starts this at the deadline (the run's schedule plus the state machine's timeout and a margin) with
its scheduled time. The run was due at scheduled time - DEADLINE_MINUTES (give or take a daylight-saving change,
see `due_time`); it is missed when no execution that
started since then has succeeded (a failed, timed-out or never-started run alike). A state machine created after
that time had no run due: nothing is published, and the alarm, which treats missing data as not breaching, stays
quiet until the first scheduled run of a new deployment has had its chance.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

import boto3

# A boto3 client: boto3 carries no types.
Client = Any

NAMESPACE = "MlKit/ModelQuality"


def due_time(scheduled_time: str, deadline_minutes: int, offset_span_minutes: int = 0) -> datetime:
    """The earliest time at which the run this check is about can have been scheduled to start.

    Both schedules keep wall-clock times in the schedule's time zone, so across a daylight-saving change between
    the run and its check the elapsed time differs from DEADLINE_MINUTES by the change (an hour in most zones):
    the run started up to that much earlier or later than scheduled time - DEADLINE_MINUTES. Taking the earliest
    (minus OFFSET_SPAN_MINUTES, the spread of the zone's UTC offsets) never misses the run that did start; the
    previous day's run is a day earlier and is not taken for it.
    """
    scheduled = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
    if scheduled.tzinfo is None:
        scheduled = scheduled.replace(tzinfo=timezone.utc)
    return scheduled - timedelta(minutes=deadline_minutes + offset_span_minutes)


def run_missed(succeeded_starts: Iterable[datetime], created: datetime, due: datetime) -> bool | None:
    """True when no succeeded execution started at or after `due`; None when no run was due yet."""
    if created > due:
        return None
    return not any(start >= due for start in succeeded_starts)


def _succeeded_starts(states: Client, machine_arn: str, due: datetime) -> Iterable[datetime]:
    """Start times of succeeded executions, newest first, until one older than `due` (the listing is newest first)."""
    for page in states.get_paginator("list_executions").paginate(stateMachineArn=machine_arn, statusFilter="SUCCEEDED"):
        for execution in page["executions"]:
            yield execution["startDate"]
            if execution["startDate"] < due:
                return


def check(states: Client, cloudwatch: Client, *, machine_arn: str, endpoint: str, due: datetime) -> bool | None:
    created = states.describe_state_machine(stateMachineArn=machine_arn)["creationDate"]
    missed = run_missed(_succeeded_starts(states, machine_arn, due), created, due)
    if missed is not None:
        cloudwatch.put_metric_data(
            Namespace=NAMESPACE,
            MetricData=[
                {
                    "MetricName": "RunMissed",
                    "Dimensions": [{"Name": "Endpoint", "Value": endpoint}],
                    "Value": 1.0 if missed else 0.0,
                    "Unit": "Count",
                }
            ],
        )
    return missed


def handler(event: Any, _context: Any) -> dict[str, Any]:
    due = due_time(
        str(event["scheduled_time"]),
        int(os.environ["DEADLINE_MINUTES"]),
        int(os.environ.get("OFFSET_SPAN_MINUTES", "0")),
    )
    missed = check(
        boto3.client("stepfunctions"),
        boto3.client("cloudwatch"),
        machine_arn=os.environ["STATE_MACHINE_ARN"],
        endpoint=os.environ["ENDPOINT_NAME"],
        due=due,
    )
    return {"due": due.isoformat(), "missed": missed}
