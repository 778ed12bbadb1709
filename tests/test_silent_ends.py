"""No silent end (issue 32, item 7): every state machine that does work someone waits for sends a notice to its
architecture's topic when an execution times out or is aborted, ends the state machine's own notify states cannot
reach. CDK Provider waiter state machines are exempt: their failures fail the custom resource, which
CloudFormation reports.

The events are the documented samples (Step Functions DG, "EventBridge (CloudWatch Events) for Step Functions
execution status changes", https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html, "Execution Timed
Out" and "Execution Aborted"), matched against each rule's pattern by moto's EventBridge pattern matcher.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import IConstruct
from moto.events.models import EventPattern

SAMPLE: dict[str, Any] = {
    "version": "0",
    "id": "315c1398-40ff-a850-213b-158f73e60175",
    "detail-type": "Step Functions Execution Status Change",
    "source": "aws.states",
    "account": "012345678912",
    "time": "2019-02-26T19:42:21Z",
    "region": "us-east-1",
    "resources": ["arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name"],
    "detail": {
        "executionArn": "arn:aws:states:us-east-1:012345678912:execution:state-machine-name:execution-name",
        "stateMachineArn": "arn:aws:states:us-east-1:012345678912:stateMachine:state-machine",
        "name": "execution-name",
        "status": "TIMED_OUT",
        "startDate": 1551224926156,
        "stopDate": 1551224927157,
        "input": "{}",
        "output": None,
    },
}


def _arn(logical_id: str) -> str:
    """The ARN a template's `{"Ref": <state machine>}` stands for in these tests."""
    return f"arn:aws:states:us-east-1:012345678912:stateMachine:{logical_id}"


def _resolve(value: Any) -> Any:
    """The pattern with each `{"Ref": X}` replaced by the ARN `_arn(X)` (a state machine's Ref is its ARN)."""
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return _arn(value["Ref"])
        return {key: _resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    return value


def _event(status: str, logical_id: str) -> dict[str, Any]:
    event = copy.deepcopy(SAMPLE)
    event["detail"].update(status=status, stateMachineArn=_arn(logical_id))
    return event


def _is_provider_waiter(construct: IConstruct) -> bool:
    return any(isinstance(scope, cr.Provider) for scope in construct.node.scopes)


def _state_machines(kit_app) -> list[tuple[str, str]]:
    """(stack name, logical id) of every state machine of the app except Provider waiters."""
    return [
        (cdk.Stack.of(c).stack_name, cdk.Stack.of(c).get_logical_id(c))
        for c in kit_app.app.node.find_all()
        if isinstance(c, sfn.CfnStateMachine) and not _is_provider_waiter(c)
    ]


def _topic_rules(template: dict) -> list[tuple[str, dict]]:
    """(rule id, resolved pattern) of every rule of the template with a target that is one of its topics."""
    resources = template["Resources"]
    return [
        (rule_id, _resolve(rule["Properties"]["EventPattern"]))
        for rule_id, rule in resources.items()
        if rule["Type"] == "AWS::Events::Rule"
        and "EventPattern" in rule["Properties"]
        and any(
            resources.get(target["Arn"].get("Ref", ""), {}).get("Type") == "AWS::SNS::Topic"
            for target in rule["Properties"].get("Targets", [])
            if isinstance(target["Arn"], dict)
        )
    ]


def _notified(kit_app, stack_name: str, status: str, logical_id: str) -> list[str]:
    template = kit_app.assembly.get_stack_by_name(stack_name).template
    event = _event(status, logical_id)
    return [
        rule_id
        for rule_id, pattern in _topic_rules(template)
        if EventPattern.load(json.dumps(pattern)).matches_event(event)
    ]


def test_the_class_holds_the_state_machines_people_wait_for(kit_app):
    ids = {logical_id for _, logical_id in _state_machines(kit_app)}
    assert any("ModelLifecycle" in i for i in ids) and any("DailyRun" in i for i in ids), ids


@pytest.mark.parametrize("status", ["TIMED_OUT", "ABORTED"])
def test_every_state_machine_tells_its_topic_when_an_execution_times_out_or_is_aborted(kit_app, status):
    silent = [
        f"{stack}/{logical_id}"
        for stack, logical_id in _state_machines(kit_app)
        if not _notified(kit_app, stack, status, logical_id)
    ]
    assert not silent, f"{status} executions of these state machines reach no topic: {silent}"


@pytest.mark.parametrize("status", ["RUNNING", "SUCCEEDED", "FAILED"])
def test_no_second_notice_for_ends_the_state_machine_reports_itself(kit_app, status):
    """A FAILED execution has passed through the state machine's own failure notice (every step catches into it)."""
    for stack, logical_id in _state_machines(kit_app):
        assert not _notified(kit_app, stack, status, logical_id), f"{stack}/{logical_id} {status}"


def test_another_state_machines_end_is_not_reported(kit_app):
    for stack, logical_id in _state_machines(kit_app):
        assert not _notified(kit_app, stack, "TIMED_OUT", f"{logical_id}Other"), f"{stack}/{logical_id}"


def test_the_notice_names_the_execution_and_how_it_ended(kit_app):
    for stack, logical_id in _state_machines(kit_app):
        resources = kit_app.assembly.get_stack_by_name(stack).template["Resources"]
        for rule_id in _notified(kit_app, stack, "TIMED_OUT", logical_id):
            for target in resources[rule_id]["Properties"]["Targets"]:
                transformer = target["InputTransformer"]
                assert transformer["InputPathsMap"]["detail-executionArn"] == "$.detail.executionArn"
                assert transformer["InputPathsMap"]["detail-status"] == "$.detail.status"
                assert "<detail-executionArn>" in transformer["InputTemplate"]
                assert "<detail-status>" in transformer["InputTemplate"]
