"""A4: failures are seen. Every failing Task reaches a notification; a failed notification fails the execution;
no custom resource reports success when the work it stands for failed.

Step Functions: an error no Retry or Catch handles fails the execution
(https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), so an uncaught failure of a
notification is visible; a Catch on it must lead only to Fail states. A Task's Catch must cover `States.ALL` and
every path from its target must pass a notification (an SNS publish or SQS send task) before the execution ends.

Custom resources: `AwsCustomResource` (Custom::AWS) reports SUCCESS whenever the SDK call returns. A Lambda
`Invoke` returns normally when the function itself failed (the response carries `FunctionError`:
https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), and the aws-cdk-lib handler
(custom-resource-handlers/.../aws-custom-resource-handler) never looks at it, so an invoked function's failure
becomes a successful create, update or delete. `ignoreErrorCodesMatching` that matches every error does the same.
The Provider framework's waiter state machine reports its failures to CloudFormation (provider_waiters).
"""

from __future__ import annotations

import json
import re
from typing import Iterator

from . import model
from .destinations import sends_to
from .resolve import Resolver, state_machine_definition

CUSTOM_RESOURCE_CALLS = ("Create", "Update", "Delete")


def _graphs(definition: dict, where: str = "") -> Iterator[tuple[str, dict]]:
    yield where, definition
    for name, state in definition.get("States", {}).items():
        for index, branch in enumerate(state.get("Branches", [])):
            yield from _graphs(branch, f"{where}{name}.Branches[{index}]/")
        for nested in ("Iterator", "ItemProcessor"):
            if nested in state:
                yield from _graphs(state[nested], f"{where}{name}.{nested}/")


def _successors(state: dict) -> list[str]:
    nexts = [state.get("Next"), state.get("Default")]
    nexts += [choice.get("Next") for choice in state.get("Choices", [])]
    nexts += [catch.get("Next") for catch in state.get("Catch", [])]
    return [name for name in nexts if name]


def _is_notification(state: dict) -> bool:
    return state.get("Type") == "Task" and sends_to(state) is not None


def _every_path(states: dict, start: str, *, goal, dead_end) -> bool:
    """Whether every path from `start` meets a state with `goal` before one with `dead_end` (cycles: no escape)."""
    seen: set[str] = set()

    def walk(name: str) -> bool:
        if name in seen:
            return True
        seen.add(name)
        state = states[name]
        if goal(state):
            return True
        if dead_end(state) or state.get("End") or state.get("Type") in ("Succeed", "Fail"):
            return False
        successors = _successors(state)
        return bool(successors) and all(walk(following) for following in successors)

    return walk(start)


def _catch_all(state: dict) -> dict | None:
    return next((catch for catch in state.get("Catch", []) if "States.ALL" in catch.get("ErrorEquals", [])), None)


def _reads_an_optional_error_field(state: dict, error_paths: set[str]) -> list[str]:
    """JSONPath expressions of a state that read `Cause` of a caught error. The error object "usually contains the
    field Cause" (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html), and a path
    that matches nothing fails the state with States.Runtime, so a notice built on it can itself fail."""
    expressions = [
        value
        for key, value in _walk_items(state.get("Parameters") or {})
        if key.endswith(".$") and isinstance(value, str)
    ]
    return [expression for expression in expressions for path in error_paths if f"{path}.Cause" in expression]


def _walk_items(value) -> Iterator[tuple[str, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk_items(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_items(item)


def check_definition(definition: dict, label: str, failures_alarmed: bool = False) -> list[str]:
    """`failures_alarmed`: an alarm with an action watches the state machine's failed executions, so a path that
    ends in a Fail state is seen too (the hourly extraction tells its topic once while its failures last rather
    than in each failed run)."""

    def seen(state: dict) -> bool:
        return _is_notification(state) or (failures_alarmed and state.get("Type") == "Fail")

    problems = []
    for where, graph in _graphs(definition):
        states = graph.get("States", {})
        error_paths = {
            catch["ResultPath"]
            for state in states.values()
            for catch in state.get("Catch", [])
            if catch.get("ResultPath")
        }
        for name, state in states.items():
            if state.get("Type") != "Task":
                continue
            if _is_notification(state):
                for expression in _reads_an_optional_error_field(state, error_paths):
                    problems.append(
                        f"{label}: notification {where}{name} reads the caught error's Cause, which "
                        f"may be absent ({expression}): the notice itself would fail"
                    )
                for catch in state.get("Catch", []):
                    if not _every_path(
                        states, catch["Next"], goal=lambda s: s.get("Type") == "Fail", dead_end=lambda s: False
                    ):
                        problems.append(
                            f"{label}: notification {where}{name} catches {catch.get('ErrorEquals')} "
                            f"into {catch['Next']}, a path that does not end in a Fail state"
                        )
                continue
            catch = _catch_all(state)
            if catch is None:
                problems.append(
                    f"{label}: task {where}{name} has no Catch for States.ALL, so its failure reaches no notification"
                )
            elif not _every_path(states, catch["Next"], goal=seen, dead_end=lambda s: False):
                problems.append(
                    f"{label}: task {where}{name} catches into {catch['Next']}, a path that can end "
                    "without a notification"
                )
    return problems


def provider_waiters(resolver: Resolver) -> set[tuple[str, str]]:
    """(stack, logical id) of the waiter state machines of aws-cdk-lib's Provider framework: the framework's onEvent
    function starts one (WAITER_STATE_MACHINE_ARN) for a custom resource with an isComplete handler. A failure in it
    is the custom resource's failure: its onTimeout task answers FAILED to CloudFormation, and when that task fails
    too, CloudFormation fails the stack event at its custom-resource timeout
    (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html)."""
    waiters = set()
    for stack in resolver.templates:
        for resource in resolver.resources(stack).values():
            properties = resource.get("Properties", {})
            if resource["Type"] != "AWS::Lambda::Function" or properties.get("Handler") != "framework.onEvent":
                continue
            arn = properties.get("Environment", {}).get("Variables", {}).get("WAITER_STATE_MACHINE_ARN")
            if isinstance(arn, dict) and "Ref" in arn:
                waiters.add((stack, arn["Ref"]))
    return waiters


def alarmed_state_machines(resolver: Resolver) -> set[tuple[str, str]]:
    """(stack, logical id) of the state machines whose failed executions an alarm with an action watches: Step
    Functions' ExecutionsFailed metric in AWS/States with the StateMachineArn dimension
    (https://docs.aws.amazon.com/step-functions/latest/dg/procedure-cw-metrics.html)."""
    watched = set()
    for stack in resolver.templates:
        for resource in resolver.resources(stack).values():
            properties = resource.get("Properties", {})
            if (
                resource["Type"] != "AWS::CloudWatch::Alarm"
                or (properties.get("Namespace"), properties.get("MetricName")) != ("AWS/States", "ExecutionsFailed")
                or not properties.get("AlarmActions")
            ):
                continue
            for dimension in properties.get("Dimensions", []):
                value = dimension.get("Value")
                if dimension.get("Name") == "StateMachineArn" and isinstance(value, dict) and "Ref" in value:
                    watched.add((stack, value["Ref"]))
    return watched


def check_state_machines(resolver: Resolver) -> list[str]:
    problems = []
    waiters = provider_waiters(resolver)
    alarmed = alarmed_state_machines(resolver)
    for machine in model.all_of_type(resolver, "AWS::StepFunctions::StateMachine"):
        if (machine.stack, machine.logical_id) in waiters:
            continue
        definition = state_machine_definition(resolver, machine.stack, machine.logical_id)
        key = (machine.stack, machine.logical_id)
        problems += check_definition(definition, f"state machine {machine}", failures_alarmed=key in alarmed)
    return problems


def _sdk_call(resolver: Resolver, stack: str, value) -> dict | None:
    resolved = resolver.resolve(stack, value)
    if isinstance(resolved, str):
        try:
            resolved = json.loads(resolved)
        except ValueError:
            return None
    return resolved if isinstance(resolved, dict) else None


def check_custom_resources(resolver: Resolver) -> list[str]:
    problems = []
    for stack in resolver.templates:
        for logical_id, resource in resolver.resources(stack).items():
            if resource["Type"] != "Custom::AWS":
                continue
            for phase in CUSTOM_RESOURCE_CALLS:
                call = _sdk_call(resolver, stack, resource.get("Properties", {}).get(phase))
                if call is None:
                    continue
                service, action = str(call.get("service", "")), str(call.get("action", ""))
                service = service.removeprefix("@aws-sdk/client-").replace("-", "").lower()
                if service == "lambda" and action.lower() in ("invoke", "invokecommand"):
                    problems.append(
                        f"custom resource {stack}/{logical_id} ({phase}): AwsCustomResource Lambda "
                        "invoke reports success when the function fails (FunctionError is not checked)"
                    )
                pattern = call.get("ignoreErrorCodesMatching")
                if pattern and re.search(pattern, "InternalServerError") and re.search(pattern, "AccessDenied"):
                    problems.append(
                        f"custom resource {stack}/{logical_id} ({phase}): ignoreErrorCodesMatching "
                        f"{pattern!r} ignores every error"
                    )
    return problems


def check(resolver: Resolver) -> list[str]:
    return check_state_machines(resolver) + check_custom_resources(resolver)
