"""The application stop custom resources on recorded EMR Serverless and CloudFormation answers (botocore Stubber:
requests are checked against the service models; an unexpected call fails the test). Issue 29: CloudFormation
updated and deleted the application without stopping it, and both APIs require CREATED or STOPPED."""

import importlib.util
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.lambdas.stubbed import stubbed_clients

_spec = importlib.util.spec_from_file_location(
    "application_stop", Path(__file__).resolve().parents[3] / "lambdas" / "emr_application" / "application_stop.py"
)
stop = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = stop  # dataclasses look their module up
_spec.loader.exec_module(stop)

APP = "00fabcdefghij012"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/ModelQualityStack/12345678-aaaa-bbbb-cccc-1234567890ab"
ACTIVE = ["SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING"]


class FakeClock:
    """Time moves only when the handler sleeps."""

    def __init__(self, budget: float) -> None:
        self.now = 0.0
        self.clock = stop.Clock(deadline=budget, monotonic=lambda: self.now, sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def aws():
    with stubbed_clients("emr-serverless", "cloudformation") as clients:
        yield clients


def event(request, phase, **properties):
    properties = {"Phase": phase, **properties}
    answer = {
        "RequestType": request,
        "StackId": STACK_ID,
        "LogicalResourceId": f"Stop{phase}",
        "ResourceProperties": properties,
    }
    return answer if request == "Create" else {**answer, "PhysicalResourceId": f"Stop{phase}-{phase}"}


def state(emr_stub, value):
    emr_stub.add_response(
        "get_application",
        {
            "application": {
                "applicationId": APP,
                "arn": f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/{APP}",
                "releaseLabel": "emr-7.13.0",
                "type": "SPARK",
                "state": value,
                "createdAt": NOW,
                "updatedAt": NOW,
            }
        },
        {"applicationId": APP},
    )


def runs(emr_stub, *pairs):
    emr_stub.add_response(
        "list_job_runs",
        {
            "jobRuns": [
                {
                    "applicationId": APP,
                    "id": run_id,
                    "arn": f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/{APP}/jobruns/{run_id}",
                    "createdBy": "arn:aws:sts::123456789012:assumed-role/run/x",
                    "createdAt": NOW,
                    "updatedAt": NOW,
                    "executionRole": "arn:aws:iam::123456789012:role/job",
                    "state": run_state,
                    "stateDetails": "state details",
                    "releaseLabel": "emr-7.13.0",
                }
                for run_id, run_state in pairs
            ]
        },
        {"applicationId": APP, "states": ACTIVE},
    )


def test_destroy_cancels_active_runs_stops_the_application_and_waits_for_stopped(aws):
    emr, cloudformation, em, _ = aws
    state(em, "STARTED")
    runs(em, ("run-1", "RUNNING"), ("run-2", "CANCELLING"))
    em.add_response(
        "cancel_job_run", {"applicationId": APP, "jobRunId": "run-1"}, {"applicationId": APP, "jobRunId": "run-1"}
    )
    state(em, "STARTED")
    runs(em, ("run-1", "CANCELLING"))  # asked once; not cancelled again
    state(em, "STARTED")
    runs(em)
    em.add_response("stop_application", {}, {"applicationId": APP})
    state(em, "STOPPING")
    state(em, "STOPPED")
    clock = FakeClock(budget=600)
    answer = stop.on_event(emr, cloudformation, event("Delete", "OnDelete", ApplicationId=APP), clock.clock)
    assert answer == {"PhysicalResourceId": "StopOnDelete-OnDelete"}
    assert clock.now == 4 * stop.POLL_SECONDS


@pytest.mark.parametrize("final", ["STOPPED", "CREATED", "TERMINATED"])
def test_destroy_of_a_stopped_or_never_started_application_calls_nothing_else(aws, final):
    emr, cloudformation, em, _ = aws
    state(em, final)
    stop.on_event(emr, cloudformation, event("Delete", "OnDelete", ApplicationId=APP), FakeClock(600).clock)


def test_destroy_of_a_missing_application_succeeds(aws):
    emr, cloudformation, em, _ = aws
    em.add_client_error("get_application", "ResourceNotFoundException", "Application does not exist")
    stop.on_event(emr, cloudformation, event("Delete", "OnDelete", ApplicationId=APP), FakeClock(600).clock)


def test_a_stop_refused_because_a_run_arrived_meanwhile_polls_again(aws):
    emr, cloudformation, em, _ = aws
    state(em, "STARTED")
    runs(em)
    em.add_client_error("stop_application", "ValidationException", "Application has running jobs")
    state(em, "STARTED")
    runs(em, ("run-3", "SUBMITTED"))
    em.add_response(
        "cancel_job_run", {"applicationId": APP, "jobRunId": "run-3"}, {"applicationId": APP, "jobRunId": "run-3"}
    )
    state(em, "STARTED")
    runs(em)
    em.add_response("stop_application", {}, {"applicationId": APP})
    state(em, "STOPPED")
    stop.on_event(emr, cloudformation, event("Delete", "OnDelete", ApplicationId=APP), FakeClock(600).clock)


def before_update(cloudformation_stub):
    cloudformation_stub.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "LogicalResourceId": "MonitorPrCurveJobApplication",
                "PhysicalResourceId": APP,
                "ResourceType": "AWS::EMRServerless::Application",
                "LastUpdatedTimestamp": NOW,
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        },
        {"StackName": STACK_ID, "LogicalResourceId": "MonitorPrCurveJobApplication"},
    )
    return event("Update", "BeforeUpdate", ApplicationLogicalId="MonitorPrCurveJobApplication", Fingerprint="b")


def stack_status(cloudformation_stub, status):
    cloudformation_stub.add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "ModelQualityStack", "CreationTime": NOW, "StackStatus": status}]},
        {"StackName": STACK_ID},
    )


def test_an_update_waits_for_the_daily_run_to_finish_then_stops_the_application(aws):
    emr, cloudformation, em, cf = aws
    stack_status(cf, "UPDATE_IN_PROGRESS")
    update = before_update(cf)
    state(em, "STARTED")
    runs(em, ("daily", "RUNNING"))  # waited for, never cancelled
    state(em, "STARTED")
    runs(em)
    em.add_response("stop_application", {}, {"applicationId": APP})
    state(em, "STOPPED")
    stop.on_event(emr, cloudformation, update, FakeClock(600).clock)


def test_an_update_during_a_run_that_outlasts_the_deadline_fails_naming_the_run_and_cancels_nothing(aws):
    emr, cloudformation, em, cf = aws
    stack_status(cf, "UPDATE_IN_PROGRESS")
    update = before_update(cf)
    for _ in range(3):  # polls at 0, 15 and 30 s; the budget is 30 s
        state(em, "STARTED")
        runs(em, ("daily", "RUNNING"))
    with pytest.raises(stop.NotStopped, match=r"job run\(s\) daily \(RUNNING\) .* deploy again once the run has ended"):
        stop.on_event(emr, cloudformation, update, FakeClock(30).clock)


def test_the_rollback_of_a_failed_update_does_not_wait_for_a_run(aws):
    """An update that failed because a run outlasted the wait is rolled back, and CloudFormation sends this resource
    an Update with the old properties (aws/aws-cdk#17040): waiting for the same run again failed the rollback too,
    leaving the stack UPDATE_ROLLBACK_FAILED until `continue-update-rollback --resources-to-skip`. In a rollback the
    application is stopped only if nothing runs; a run is left alone and the rollback goes on."""
    emr, cloudformation, em, cf = aws
    stack_status(cf, "UPDATE_ROLLBACK_IN_PROGRESS")
    rollback = before_update(cf)
    state(em, "STARTED")
    runs(em, ("daily", "RUNNING"))
    stop.on_event(emr, cloudformation, rollback, FakeClock(30).clock)  # no stop_application, no cancel, no waiting


def test_the_rollback_of_a_failed_update_stops_an_idle_application(aws):
    emr, cloudformation, em, cf = aws
    stack_status(cf, "UPDATE_ROLLBACK_IN_PROGRESS")
    rollback = before_update(cf)
    state(em, "STARTED")
    runs(em)
    em.add_response("stop_application", {}, {"applicationId": APP})
    state(em, "STOPPED")
    stop.on_event(emr, cloudformation, rollback, FakeClock(600).clock)


def test_an_application_that_never_stops_fails_at_the_deadline(aws):
    emr, cloudformation, em, _ = aws
    for _ in range(3):
        state(em, "STOPPING")
    with pytest.raises(stop.NotStopped, match=f"application {APP} is STOPPING"):
        stop.on_event(emr, cloudformation, event("Delete", "OnDelete", ApplicationId=APP), FakeClock(30).clock)


@pytest.mark.parametrize(
    "request_type, phase",
    [("Create", "BeforeUpdate"), ("Delete", "BeforeUpdate"), ("Create", "OnDelete"), ("Update", "OnDelete")],
)
def test_the_other_requests_touch_nothing(aws, request_type, phase):
    emr, cloudformation, _, _ = aws
    answer = stop.on_event(
        emr,
        cloudformation,
        event(request_type, phase, ApplicationId=APP, ApplicationLogicalId="App"),
        FakeClock(600).clock,
    )
    assert answer["PhysicalResourceId"] == f"Stop{phase}-{phase}"


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"RequestType": "Replace"}, "'RequestType'"),
        ({"RequestType": "Delete"}, "'ResourceProperties'"),
        ({"RequestType": "Delete", "ResourceProperties": {"Phase": "Sometime"}}, "'Phase'"),
        (
            {"RequestType": "Delete", "ResourceProperties": {"Phase": "OnDelete"}, "PhysicalResourceId": "x"},
            "'ApplicationId'",
        ),
        ("not an event", "JSON object"),
    ],
)
def test_malformed_events_name_the_field(aws, bad, field):
    emr, cloudformation, _, _ = aws
    with pytest.raises(stop.EventError, match=field):
        stop.on_event(emr, cloudformation, bad, FakeClock(600).clock)
