"""No alarm of the kit is in ALARM in a freshly deployed, idle deployment, and the run-missed alarm fires when a
run is missed, within hours of its deadline.

With no data points at all, CloudWatch gives an alarm the state its missing-data treatment says
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html): `breaching` counts
missing points as breaching (ALARM), `notBreaching` as within the threshold (OK), `ignore` keeps the current state
(a new alarm starts in INSUFFICIENT_DATA), and `missing` (the default) goes to INSUFFICIENT_DATA when every point of
the evaluation range is missing.
"""

from __future__ import annotations

import operator
import re

import pytest

NO_DATA_STATE = {
    "breaching": "ALARM",
    "notBreaching": "OK",
    "ignore": "INSUFFICIENT_DATA",
    "missing": "INSUFFICIENT_DATA",
}
COMPARISONS = {
    "GreaterThanOrEqualToThreshold": operator.ge,
    "GreaterThanThreshold": operator.gt,
    "LessThanThreshold": operator.lt,
    "LessThanOrEqualToThreshold": operator.le,
}


def state_with_no_data(alarm: dict) -> str:
    return NO_DATA_STATE[alarm.get("TreatMissingData", "missing")]


def state_with(alarm: dict, value: float) -> str:
    """The state when every evaluated period holds `value`."""
    return "ALARM" if COMPARISONS[alarm["ComparisonOperator"]](value, alarm["Threshold"]) else "OK"


def _alarms(kit_app) -> dict[str, dict]:
    return {
        f"{stack.stack_name}/{logical_id}": resource["Properties"]
        for stack in kit_app.assembly.stacks
        for logical_id, resource in stack.template["Resources"].items()
        if resource["Type"] == "AWS::CloudWatch::Alarm"
    }


@pytest.mark.parametrize(
    ("treatment", "state"),
    [("breaching", "ALARM"), ("notBreaching", "OK"), ("ignore", "INSUFFICIENT_DATA"), (None, "INSUFFICIENT_DATA")],
)
def test_the_no_data_state_follows_the_treatment(treatment, state):
    alarm = {"ComparisonOperator": "LessThanThreshold", "Threshold": 1}
    if treatment:
        alarm["TreatMissingData"] = treatment
    assert state_with_no_data(alarm) == state


def test_no_alarm_is_in_alarm_in_an_idle_deployment(kit_app):
    alarms = _alarms(kit_app)
    # The hourly extraction's failure alarm exists where hourly extraction is on (production).
    assert len(alarms) == 8 + kit_app.settings.model_quality.quality_hourly_extract
    in_alarm = {
        name: alarm.get("TreatMissingData") for name, alarm in alarms.items() if state_with_no_data(alarm) == "ALARM"
    }
    assert not in_alarm, f"in ALARM from deploy with no data ({kit_app.settings.common.profile}): {in_alarm}"


def _run_missed(kit_app) -> dict:
    (alarm,) = [a for a in _alarms(kit_app).values() if a.get("MetricName") == "RunMissed"]
    return alarm


def test_a_missed_run_fires_the_alarm_and_a_run_on_time_does_not(kit_app):
    alarm = _run_missed(kit_app)
    assert state_with(alarm, 1.0) == "ALARM"
    assert state_with(alarm, 0.0) == "OK"
    assert state_with_no_data(alarm) == "OK"


def test_the_missed_run_notice_comes_within_hours_of_the_deadline(kit_app):
    """The check runs 15 minutes after the state machine's timeout has ended the run; one period of the alarm
    later, at most, the notice is out."""
    settings = kit_app.settings.model_quality
    stack = next(s for s in kit_app.assembly.stacks if s.stack_name == "ModelQualityStack")
    resources = stack.template["Resources"]
    (machine,) = [
        r for lid, r in resources.items() if r["Type"] == "AWS::StepFunctions::StateMachine" and "DailyRun" in lid
    ]
    timeout_minutes = re.search(r'"TimeoutSeconds":(\d+)\}$', _definition_text(machine))
    run_minutes = int(timeout_minutes.group(1)) // 60
    schedules = {
        r["Properties"]["Description"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Scheduler::Schedule"
    }
    check = next(s for d, s in schedules.items() if "deadline" in d)
    minute, hour = map(int, check["ScheduleExpression"].removeprefix("cron(").split()[:2])
    at = (settings.quality_schedule_hour * 60 + run_minutes + 15) % (24 * 60)
    assert (hour, minute) == divmod(at, 60)
    assert check["ScheduleExpressionTimezone"] == settings.quality_schedule_time_zone
    assert check["State"] == ("ENABLED" if settings.common.schedules_enabled else "DISABLED")
    assert _run_missed(kit_app)["Period"] <= 3600


def _definition_text(machine: dict) -> str:
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    return "".join(part for part in parts if isinstance(part, str))
