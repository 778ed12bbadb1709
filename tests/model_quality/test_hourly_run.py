"""Hourly extraction (issue 30 item 4): its state machine along each path in the ASL interpreter, and its wiring in
the template: the schedule, the job's arguments, the capacity split with the daily run, the failure alarm."""

import json
import re

import pytest

from stacks.model_quality.hourly import HOURLY_JOB_TIMEOUT, HOURLY_MINUTE
from stacks.model_quality.job import DRIVER_VCPU, EXECUTOR_VCPU
from tests.asl_interpreter import FAILED, SUCCEEDED, Failure, definition_from_template, run
from tests.model_quality.conftest import monitor_template

SCHEDULED = {"scheduled_time": "2026-11-21T05:15:00Z"}
JOB_RUN = {"ApplicationId": "app", "JobRunId": "run-1", "State": "SUCCESS"}


@pytest.fixture(scope="module")
def production():
    return monitor_template(profile="production")


def resources(template, kind, name_part):
    return {name: body for name, body in template.find_resources(kind).items() if name_part in name}


def single(template, kind, name_part):
    (body,) = resources(template, kind, name_part).values()
    return body


@pytest.fixture(scope="module")
def machine(production):
    template, _ = production
    return definition_from_template(single(template, "AWS::StepFunctions::StateMachine", "HourlyRun"))


def execute(machine, **scripts):
    calls = []
    status, output, visited = run(machine, scripts, SCHEDULED, calls=calls)
    return status, output, visited, calls


def test_an_hourly_run_extracts_the_hour_before_its_scheduled_time_and_sends_no_notice(machine):
    status, _, visited, calls = execute(machine, RunExtractJob=[JOB_RUN])
    assert (status, visited) == (SUCCEEDED, ["RunExtractJob", "Done"])
    ((_, job),) = calls
    assert job["Name"] == "pr-curve-hourly-2026-11-21T05:15:00Z"
    arguments = job["JobDriver"]["SparkSubmit"]["EntryPointArguments"]
    assert arguments[-2:] == ["--extract-hour-before", "2026-11-21T05:15:00Z"]
    assert "--delete-extracted-capture" in arguments and "--date" not in arguments
    assert job["ExecutionTimeoutMinutes"] == HOURLY_JOB_TIMEOUT.to_minutes() < 60 - HOURLY_MINUTE


def test_a_transient_error_is_retried(machine):
    throttled = Failure("EMRServerless.ThrottlingException", "Rate exceeded")
    status, _, visited, calls = execute(machine, RunExtractJob=[throttled, JOB_RUN])
    assert (status, visited) == (SUCCEEDED, ["RunExtractJob", "Done"]) and len(calls) == 2


@pytest.mark.parametrize("error", ["States.TaskFailed", "States.Timeout"])
def test_a_failed_run_ends_failed_once_without_a_notice_of_its_own(machine, error):
    """The failure is counted (ExecutionsFailed) for the alarm; a notice per failed run could be one an hour."""
    status, output, visited, calls = execute(machine, RunExtractJob=[Failure(error, "{}")])
    assert (status, visited) == (FAILED, ["RunExtractJob", "ExtractFailed"]) and len(calls) == 1
    assert output["Error"] == "HourlyExtractFailed"


def test_the_schedule_starts_the_hourly_state_machine_after_each_utc_hour(production):
    template, _ = production
    schedule = single(template, "AWS::Scheduler::Schedule", "HourlySchedule")["Properties"]
    assert schedule["ScheduleExpression"] == f"cron({HOURLY_MINUTE} * * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] in ("UTC", "Etc/UTC")
    assert schedule["Target"]["Arn"] == {
        "Ref": next(iter(resources(template, "AWS::StepFunctions::StateMachine", "HourlyRun")))
    }
    assert json.loads(schedule["Target"]["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}


def _max_executors(definition_text):
    return int(re.search(r"spark\.dynamicAllocation\.maxExecutors=(\d+)", definition_text).group(1))


def test_the_hourly_and_daily_runs_share_the_application_without_waiting_for_each_other(production):
    """Issue 30 item 4: each run's driver and executors fit in its share, and the shares fit in the application's
    maximum capacity, so a daily run never takes the workers an hourly run needs, nor the other way round."""
    template, settings = production
    daily = json.dumps(single(template, "AWS::StepFunctions::StateMachine", "DailyRun"))
    hourly = json.dumps(single(template, "AWS::StepFunctions::StateMachine", "HourlyRun"))
    application = single(template, "AWS::EMRServerless::Application", "")["Properties"]
    maximum = int(application["MaximumCapacity"]["Cpu"].split()[0])
    used = [DRIVER_VCPU + EXECUTOR_VCPU * _max_executors(text) for text in (daily, hourly)]
    assert sum(used) <= maximum == settings.quality_max_vcpu
    assert used[1] >= maximum // 4 - EXECUTOR_VCPU and used[0] >= maximum // 2
    assert "--hourly-extract" in daily


def test_failed_hourly_runs_alarm_on_the_topic_that_lets_cloudwatch_publish(production):
    template, _ = production
    alarm = single(template, "AWS::CloudWatch::Alarm", "HourlyRun")["Properties"]
    machine = next(iter(resources(template, "AWS::StepFunctions::StateMachine", "HourlyRun")))
    assert (alarm["MetricName"], alarm["Period"], alarm["TreatMissingData"]) == (
        "ExecutionsFailed",
        3600,
        "notBreaching",
    )
    assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine}}]
    (action,) = alarm["AlarmActions"]
    policies = [
        statement
        for policy in template.find_resources("AWS::SNS::TopicPolicy").values()
        if action in policy["Properties"]["Topics"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(
        s["Effect"] == "Allow" and s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in policies
    )


@pytest.mark.parametrize(
    "context", [{"profile": "sandbox"}, {"profile": "production", "kit:quality_hourly_extract": False}]
)
def test_without_hourly_extraction_there_is_no_hourly_run_and_the_daily_run_has_the_whole_application(context):
    template, _ = monitor_template(**context)
    assert not resources(template, "AWS::StepFunctions::StateMachine", "HourlyRun")
    assert not resources(template, "AWS::Scheduler::Schedule", "HourlySchedule")
    daily = json.dumps(single(template, "AWS::StepFunctions::StateMachine", "DailyRun"))
    assert "maxExecutors" not in daily and "--hourly-extract" not in daily
