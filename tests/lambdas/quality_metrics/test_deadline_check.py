"""The deadline check: RunMissed 1 when no execution since the scheduled start succeeded, 0 when one did, nothing
(so the alarm stays quiet) when the state machine did not exist when the run was due."""

import importlib.util
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from moto import mock_aws

from tests.lambdas.moto_clients import client

_spec = importlib.util.spec_from_file_location(
    "deadline_check", Path(__file__).resolve().parents[3] / "lambdas" / "quality_metrics" / "deadline_check.py"
)
deadline_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(deadline_check)

DUE = datetime(2026, 3, 2, 4, 0, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::123456789012:role/machine"
DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}})


@pytest.mark.parametrize("hour", [0, 4, 20, 23])
@pytest.mark.parametrize("day", [date(2026, 3, 7), date(2026, 3, 8), date(2026, 10, 31), date(2026, 11, 1)])
def test_across_a_daylight_saving_change_the_run_that_started_is_never_after_the_due_time(day, hour):
    """Issue 30: the check subtracted DEADLINE_MINUTES of elapsed time from a wall-clock schedule, so when the
    clocks went back between a run and its check the due time fell an hour after the run's start and a run that
    succeeded was reported missed. The run of the day before must not count for the day."""
    from stacks.model_quality.settings import schedule_offsets

    zone, minutes = ZoneInfo("America/New_York"), 7 * 60 + 15
    _, span = schedule_offsets("America/New_York")
    run = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    check = (datetime(day.year, day.month, day.day, hour) + timedelta(minutes=minutes)).replace(tzinfo=zone)
    due = deadline_check.due_time(check.astimezone(timezone.utc).isoformat(), minutes, span)
    assert due <= run.astimezone(timezone.utc)
    assert due > (run - timedelta(days=1)).astimezone(timezone.utc) + timedelta(hours=12)


def test_the_run_was_due_deadline_minutes_before_the_check():
    assert deadline_check.due_time("2026-03-03T00:45:00Z", 20 * 60 + 45) == DUE
    assert deadline_check.due_time("2026-03-03T00:45:00", 20 * 60 + 45) == DUE


@pytest.mark.parametrize(
    ("starts", "created", "missed"),
    [
        ([], DUE - timedelta(days=3), True),  # never started (schedule broken) or nothing succeeded
        ([DUE - timedelta(days=1)], DUE - timedelta(days=3), True),  # only yesterday's run succeeded
        ([DUE + timedelta(minutes=1)], DUE - timedelta(days=3), False),
        ([DUE], DUE - timedelta(days=3), False),
        ([], DUE + timedelta(hours=2), None),  # deployed after the scheduled start: no run was due yet
    ],
)
def test_a_run_is_missed_when_no_execution_since_its_start_succeeded(starts, created, missed):
    assert deadline_check.run_missed(starts, created, DUE) is missed


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        yield client("stepfunctions"), client("cloudwatch")


def _published(cloudwatch):
    end = datetime.now(timezone.utc) + timedelta(minutes=5)
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "missed",
                "MetricStat": {
                    "Metric": {
                        "Namespace": "MlKit/ModelQuality",
                        "MetricName": "RunMissed",
                        "Dimensions": [{"Name": "Endpoint", "Value": "churn-endpoint"}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        StartTime=end - timedelta(hours=1),
        EndTime=end,
    )
    return result["MetricDataResults"][0]["Values"]


def _machine(states):
    return states.create_state_machine(name="daily", definition=DEFINITION, roleArn=ROLE)["stateMachineArn"]


class _SucceededSince:
    """moto runs no execution to SUCCEEDED without its optional ASL parser: the listing of succeeded executions
    is given here; every other call goes to moto."""

    def __init__(self, states, started):
        self._states, self._started = states, started

    def __getattr__(self, name):
        return getattr(self._states, name)

    def get_paginator(self, operation):
        assert operation == "list_executions"
        started = self._started

        class Pages:
            def paginate(self, stateMachineArn, statusFilter):
                assert statusFilter == "SUCCEEDED"
                yield {"executions": [{"startDate": start} for start in started]}

        return Pages()


def test_the_check_publishes_0_when_the_days_run_succeeded(aws):
    states, cloudwatch = aws
    machine = _machine(states)
    due = states.describe_state_machine(stateMachineArn=machine)["creationDate"]
    listing = _SucceededSince(states, [due + timedelta(minutes=20), due - timedelta(days=1)])
    assert deadline_check.check(listing, cloudwatch, machine_arn=machine, endpoint="churn-endpoint", due=due) is False
    assert _published(cloudwatch) == [0.0]


def test_the_check_publishes_1_when_the_days_run_did_not_succeed(aws):
    states, cloudwatch = aws
    machine = _machine(states)
    due = states.describe_state_machine(stateMachineArn=machine)["creationDate"]
    execution = states.start_execution(stateMachineArn=machine)["executionArn"]
    states.stop_execution(executionArn=execution)  # ABORTED: started, but no summary
    assert deadline_check.check(states, cloudwatch, machine_arn=machine, endpoint="churn-endpoint", due=due) is True
    assert _published(cloudwatch) == [1.0]


def test_the_check_publishes_nothing_before_the_first_run_was_due(aws):
    states, cloudwatch = aws
    machine = _machine(states)
    due = datetime.now(timezone.utc) - timedelta(hours=1)
    assert deadline_check.check(states, cloudwatch, machine_arn=machine, endpoint="churn-endpoint", due=due) is None
    assert _published(cloudwatch) == []


def test_the_handler_reads_its_deadline_and_machine_from_the_environment(aws, monkeypatch):
    states, cloudwatch = aws
    machine = _machine(states)
    monkeypatch.setenv("STATE_MACHINE_ARN", machine)
    monkeypatch.setenv("ENDPOINT_NAME", "churn-endpoint")
    monkeypatch.setenv("DEADLINE_MINUTES", "60")
    check_time = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0)
    result = deadline_check.handler({"scheduled_time": check_time.isoformat().replace("+00:00", "Z")}, None)
    assert result == {"due": (check_time - timedelta(hours=1)).isoformat(), "missed": True}
    assert _published(cloudwatch) == [1.0]
