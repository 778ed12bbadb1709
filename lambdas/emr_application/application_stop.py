"""Stops the model-quality EMR Serverless application around CloudFormation's own changes to it.

UpdateApplication and DeleteApplication require the application to be CREATED or STOPPED (EMR Serverless API
reference; botocore's service model says the same), and the application starts on each daily run and stays
STARTED for its idle timeout, so CloudFormation's update or delete of it fails during a run or its idle window.
StopApplication in turn refuses while job runs are scheduled or running ("All scheduled and running jobs must be
completed or cancelled before stopping an application":
https://docs.aws.amazon.com/emr-serverless/latest/APIReference/API_StopApplication.html).

Two custom resources (CDK Provider framework: return for success, raise to fail the stack event with the reason)
share this handler, told apart by their `Phase` property:
- `OnDelete` refers to the application, so CloudFormation deletes it first (reverse dependency order): on Delete it
  cancels the application's active job runs, stops it and waits for STOPPED.
- `BeforeUpdate` is a dependency of the application, so CloudFormation updates it first; its `Fingerprint` property
  changes with the application's properties, so it receives an Update exactly when the application is about to be
  updated. It looks the application up (DescribeStackResource: a Ref would make it depend on the application),
  waits for running job runs to finish (a daily run is not killed by a deploy), stops the application and waits for
  STOPPED. A run still going at the deadline fails the deploy with its id: deploy again after it. The rollback
  of that failed deploy sends an Update too: then it stops the application only if no run is active, and does not
  wait, so the rollback completes.

An application already stopped, never started, terminated or missing is what both want.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

# A boto3 client: boto3 carries no types, and the handler imports it only at run time.
Client = Any

PHASES = ("BeforeUpdate", "OnDelete")
STOPPED = ("CREATED", "STOPPED", "TERMINATED")
# Job runs that keep StopApplication from succeeding (JobRunState in the EMR Serverless API reference).
ACTIVE_RUNS = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING")
ROLLBACK = "UPDATE_ROLLBACK_IN_PROGRESS"
POLL_SECONDS = 15.0
# Stop waiting this long before the Lambda timeout, so the failure still reaches CloudFormation.
MARGIN_SECONDS = 60.0


class EventError(ValueError):
    """A malformed event; the message names the field."""


class NotStopped(RuntimeError):
    """The application could not be brought to STOPPED in time; the message says why."""


@dataclass(frozen=True)
class Clock:
    deadline: float
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def expired(self) -> bool:
        return self.monotonic() >= self.deadline


def require(mapping: Any, name: str, kind: type = str) -> Any:
    if not isinstance(mapping, Mapping):
        raise EventError(f"The event must be a JSON object, not {type(mapping).__name__}.")
    value = mapping.get(name)
    if not isinstance(value, kind) or (isinstance(value, str) and not value.strip()):
        raise EventError(f"Field {name!r} is missing or not a non-empty {kind.__name__}.")
    return value


def application_state(emr: Client, application_id: str) -> str | None:
    """The application's state, or None when there is none."""
    try:
        state: str = emr.get_application(applicationId=application_id)["application"]["state"]
        return state
    except emr.exceptions.ResourceNotFoundException:
        return None


def active_runs(emr: Client, application_id: str) -> list[dict[str, Any]]:
    return [
        run
        for page in emr.get_paginator("list_job_runs").paginate(applicationId=application_id, states=list(ACTIVE_RUNS))
        for run in page["jobRuns"]
    ]


def stop_application(
    emr: Client, application_id: str, *, cancel_runs: bool, clock: Clock, wait_for_runs: bool = True
) -> str:
    """Bring the application to CREATED or STOPPED (or find it gone) before `clock` runs out; return its final state.

    Active job runs are cancelled when `cancel_runs`, otherwise waited for, or with `wait_for_runs` off left running
    (the application then stays STARTED)."""
    cancelled: set[str] = set()
    while True:
        state = application_state(emr, application_id)
        if state is None or state in STOPPED:
            return state or "NOT_FOUND"
        waiting_for = f"application {application_id} is {state}"
        if state == "STARTED":
            runs = active_runs(emr, application_id)
            if runs and cancel_runs:
                for run in runs:
                    if run["state"] != "CANCELLING" and run["id"] not in cancelled:
                        _cancel(emr, application_id, run["id"])
                        cancelled.add(run["id"])
                waiting_for = f"job run(s) {', '.join(run['id'] for run in runs)} of {application_id} to be cancelled"
            elif runs and not wait_for_runs:
                return f"{state}, with job run(s) {', '.join(run['id'] for run in runs)} left running"
            elif runs:
                names = ", ".join(f"{run['id']} ({run['state']})" for run in runs)
                waiting_for = (
                    f"job run(s) {names} of application {application_id} to finish: the update would stop it; "
                    "deploy again once the run has ended (or cancel it)"
                )
            else:
                _stop(emr, application_id)
        if clock.expired():
            raise NotStopped(f"Gave up waiting for {waiting_for}.")
        clock.sleep(POLL_SECONDS)


def _cancel(emr: Client, application_id: str, run_id: str) -> None:
    try:
        emr.cancel_job_run(applicationId=application_id, jobRunId=run_id)
    except emr.exceptions.ResourceNotFoundException:
        pass  # finished in the meantime


def _stop(emr: Client, application_id: str) -> None:
    """StopApplication; a run submitted in the meantime answers ValidationException, and the next poll sees it."""
    try:
        emr.stop_application(applicationId=application_id)
    except emr.exceptions.ValidationException as error:
        print(f"StopApplication refused, polling again: {error}")
    except emr.exceptions.ResourceNotFoundException:
        pass


def on_event(emr: Client, cloudformation: Client, event: Any, clock: Clock) -> dict[str, Any]:
    request = require(event, "RequestType")
    if request not in ("Create", "Update", "Delete"):
        raise EventError(f"Field 'RequestType' is {request!r}; expected Create, Update or Delete.")
    properties = require(event, "ResourceProperties", dict)
    phase = require(properties, "Phase")
    if phase not in PHASES:
        raise EventError(f"Field 'Phase' is {phase!r}; expected one of {', '.join(PHASES)}.")
    physical_id = event.get("PhysicalResourceId") or f"{require(event, 'LogicalResourceId')}-{phase}"
    if phase == "OnDelete" and request == "Delete":
        state = stop_application(emr, require(properties, "ApplicationId"), cancel_runs=True, clock=clock)
        print(f"Application {properties['ApplicationId']} is {state}; CloudFormation can delete it.")
    elif phase == "BeforeUpdate" and request == "Update":
        stack_id = require(event, "StackId")
        # A failed update's rollback sends this resource an Update too, with the old properties. Waiting there for
        # a run that made the update fail would fail the rollback as well (UPDATE_ROLLBACK_FAILED), so a rollback
        # stops only an idle application (https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/
        # API_DescribeStacks.html; StackStatus UPDATE_ROLLBACK_IN_PROGRESS).
        rollback = cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]["StackStatus"] == ROLLBACK
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackResource.html
        application_id = cloudformation.describe_stack_resource(
            StackName=stack_id, LogicalResourceId=require(properties, "ApplicationLogicalId")
        )["StackResourceDetail"]["PhysicalResourceId"]
        state = stop_application(emr, application_id, cancel_runs=False, clock=clock, wait_for_runs=not rollback)
        print(f"Application {application_id} is {state}; CloudFormation can {'roll back' if rollback else 'update'}.")
    return {"PhysicalResourceId": physical_id}


def handler(event: Any, context: Any) -> dict[str, Any]:
    import boto3

    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS
    return on_event(boto3.client("emr-serverless"), boto3.client("cloudformation"), event, Clock(deadline))
