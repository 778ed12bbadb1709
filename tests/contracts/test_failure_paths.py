"""A4: failures reach a notification, a failed notification fails the execution, custom resources report
their handler's failure."""

import json

from tests.contracts.conftest import fixture
from tools.contracts import failure_paths


def test_each_unseen_failure_is_reported():
    problems = failure_paths.check(fixture("failure_paths_defect"))
    assert problems == [
        "state machine A4Stack/Machine: task Work has no Catch for States.ALL, so its failure reaches no notification",
        "state machine A4Stack/Machine: task More catches into Done, a path that can end without a notification",
        "state machine A4Stack/Machine: notification Notify catches ['States.ALL'] into Done, a path that does not "
        "end in a Fail state",
        "custom resource A4Stack/Teardown (Delete): AwsCustomResource Lambda invoke reports success when the "
        "function fails (FunctionError is not checked)",
    ]


def test_caught_failures_that_notify_then_fail_pass():
    assert failure_paths.check(fixture("failure_paths_correct")) == []


def test_a_notification_without_catch_fails_the_execution_and_passes():
    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:lambda:us-east-1:111122223333:function:f",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Notify"}],
                "End": True,
            },
            "Notify": {
                "Type": "Task",
                "Resource": "arn:aws:states:::sns:publish",
                "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:111122223333:t", "Message": "m"},
                "Next": "Cleanup",
            },
            "Cleanup": {"Type": "Pass", "End": True},
        },
    }
    # an uncaught error fails the execution; the path after a delivered notice is not a failure path
    assert failure_paths.check_definition(definition, "m") == []


def test_a_notice_that_reads_the_errors_cause_is_reported():
    def machine(message):
        return {
            "StartAt": "Work",
            "States": {
                "Work": {
                    "Type": "Task",
                    "Resource": "arn:aws:lambda:us-east-1:111122223333:function:f",
                    "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Notify"}],
                    "End": True,
                },
                "Notify": {
                    "Type": "Task",
                    "Resource": "arn:aws:states:::sns:publish",
                    "Parameters": {"TopicArn": "arn:aws:sns:us-east-1:111122223333:t", "Message.$": message},
                    "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                    "Next": "Failed",
                },
                "Failed": {"Type": "Fail"},
            },
        }

    (problem,) = failure_paths.check_definition(machine("States.Format('failed: {}', $.error.Cause)"), "m")
    assert problem.startswith("m: notification Notify reads the caught error's Cause")
    assert failure_paths.check_definition(machine("States.JsonToString($.error)"), "m") == []


def test_kit_failures_are_seen(kit_resolver):
    problems = failure_paths.check(kit_resolver)
    assert not problems, "\n".join(problems)


def test_kit_failures_are_seen_with_quicksight(quicksight_resolver):
    problems = failure_paths.check(quicksight_resolver)
    assert not problems, "\n".join(problems)


def test_only_a_provider_frameworks_waiter_reports_to_cloudformation_instead_of_a_notification():
    """The waiter's failures end at CloudFormation (its onTimeout task answers FAILED); the same machine not started
    by a framework onEvent function is an ordinary machine whose failures reach no notification."""
    from tools.contracts.resolve import Resolver

    waiter = {
        "Type": "AWS::StepFunctions::StateMachine",
        "Properties": {
            "DefinitionString": json.dumps(
                {
                    "StartAt": "framework-isComplete-task",
                    "States": {
                        "framework-isComplete-task": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:111122223333:function:isComplete",
                            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 30, "MaxAttempts": 110}],
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "framework-onTimeout-task"}],
                            "End": True,
                        },
                        "framework-onTimeout-task": {
                            "Type": "Task",
                            "Resource": "arn:aws:lambda:us-east-1:111122223333:function:onTimeout",
                            "End": True,
                        },
                    },
                }
            )
        },
    }
    on_event = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "Handler": "framework.onEvent",
            "Environment": {"Variables": {"WAITER_STATE_MACHINE_ARN": {"Ref": "Waiter"}}},
        },
    }
    started = Resolver({"S": {"Resources": {"Waiter": waiter, "OnEvent": on_event}}})
    assert failure_paths.check(started) == []
    alone = Resolver({"S": {"Resources": {"Waiter": waiter}}})
    assert len(failure_paths.check(alone)) == 2


def test_a_failure_that_ends_in_a_fail_state_is_seen_only_through_an_alarm_on_failed_executions():
    """The hourly extraction tells its topic once while failures last (issue 30 item 4): its catch leads straight to
    a Fail state, which counts as seen only when an alarm with an action watches the machine's ExecutionsFailed."""
    from tools.contracts.resolve import Resolver

    definition = {
        "StartAt": "Work",
        "States": {
            "Work": {
                "Type": "Task",
                "Resource": "arn:aws:states:::emr-serverless:startJobRun.sync",
                "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
                "End": True,
            },
            "Failed": {"Type": "Fail"},
        },
    }
    machine = {"Type": "AWS::StepFunctions::StateMachine", "Properties": {"DefinitionString": json.dumps(definition)}}

    def alarm(metric, actions):
        return {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Namespace": "AWS/States",
                "MetricName": metric,
                "Dimensions": [{"Name": "StateMachineArn", "Value": {"Ref": "Machine"}}],
                "AlarmActions": actions,
            },
        }

    def problems(*alarms):
        resources = {"Machine": machine, **{f"Alarm{i}": body for i, body in enumerate(alarms)}}
        return failure_paths.check_state_machines(Resolver({"S": {"Resources": resources}}))

    unseen = ["state machine S/Machine: task Work catches into Failed, a path that can end without a notification"]
    assert problems() == unseen
    assert problems(alarm("ExecutionsFailed", [])) == unseen  # an alarm nobody hears
    assert problems(alarm("ExecutionsSucceeded", [{"Ref": "Topic"}])) == unseen
    assert problems(alarm("ExecutionsFailed", [{"Ref": "Topic"}])) == []
