"""A2: every publisher to an SNS topic or SQS queue may send to it, and can use its customer-managed key.

Resource side (every topic and queue, encrypted or not), evaluated as IAM evaluates a request in one account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an AWS service
principal (CloudWatch alarms, EventBridge rules and their dead-letter queues, S3 event notifications) has no
identity policy, so the topic or queue policy must allow it, with its Allow conditions resolved against the
publishing resource's ARN (`aws:SourceArn`) and account (`aws:SourceAccount`), and an explicit Deny wins. A role
(Lambda dead-letter queues and destinations, Step Functions tasks) is of the same account: an Allow in its identity
policy or in the resource policy suffices, unless either denies. A topic or queue policy replaces the default
access policy: SNS's default lets the owner account's principals publish (conditioned on `AWS:SourceOwner`,
https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html), SQS's lets only the owner in.
A service principal's Allow must depend on a source key (confused-deputy protection:
https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).

Key side (encrypted destinations):
Publishing to an SSE-KMS topic or sending to an SSE-KMS queue needs `kms:GenerateDataKey*` and `kms:Decrypt` on
its key, for a role (IAM policy, with the key policy delegating to IAM) and for an AWS service principal (key
policy only): https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html ("Configuring AWS KMS
permissions", "Enable compatibility between event sources from AWS services and encrypted topics") and
https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html ("Configuring
AWS KMS permissions": a producer needs kms:GenerateDataKey and kms:Decrypt). A service principal's statement must
be limited with `aws:SourceAccount` or `aws:SourceArn` (confused-deputy protection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from . import model
from .iam import Call, Principal, allowing_statements, evaluate
from .model import Ref
from .resolve import ACCOUNT, Resolver, state_machine_definition

KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
SOURCE_KEYS = ("aws:SourceAccount", "aws:SourceArn")
# Services whose KMS requests for a destination carry neither source key: their key-policy statement can be
# neither required to have nor allowed to depend on them (DataKey.allow_service_to_send_encrypted's
# `source_account=False`). EventBridge: the SNS guide says "Adding the aws:SourceAccount and aws:SourceArn to a
# AWS KMS policy is not supported for EventBridge-to-encrypted topics"
# (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, quoted in
# https://github.com/awslabs/landing-zone-accelerator-on-aws/issues/407), and the SQS guide's statement for AWS
# event sources has no condition (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/
# sqs-key-management.html): a rule's dead-letter queue is the same delivery path, so its key statement must not
# depend on them either. The queue policy (aws:SourceArn of the rule) still limits who can send.
SOURCE_KEYS_NOT_SENT: frozenset[str] = frozenset({"events.amazonaws.com"})
PUBLISH_ACTIONS = {"AWS::SNS::Topic": "sns:Publish", "AWS::SQS::Queue": "sqs:SendMessage"}
# Condition keys that tie a service principal's Allow to this account's resources (lower case: keys are not
# case-sensitive). SNS's default policy uses AWS:SourceOwner, the older form of aws:SourceAccount.
RESOURCE_SCOPING_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner")


@dataclass(frozen=True)
class Publisher:
    """Who sends to a destination: a role (`role`) or a service principal acting for `source`."""

    via: str  # what wires it, for the message
    role: Ref | None = None
    service: str | None = None
    source_arn: str | None = None


def encrypted_destinations(resolver: Resolver) -> Iterator[tuple[Ref, Ref]]:
    for target in model.all_of_type(resolver, *PUBLISH_ACTIONS):
        key = model.encryption_key(resolver, target)
        if key is not None:
            yield target, key


def _names(resolver: Resolver, stack: str, value, target: Ref) -> bool:
    return model.find(resolver, value, stack=stack) == target


def publishers(resolver: Resolver, target: Ref) -> list[Publisher]:
    found: list[Publisher] = []
    for alarm in model.all_of_type(resolver, "AWS::CloudWatch::Alarm"):
        props = model.properties(resolver, alarm)
        for field in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            if any(_names(resolver, alarm.stack, action, target) for action in props.get(field, [])):
                found.append(
                    Publisher(
                        f"alarm {alarm} {field}",
                        service="cloudwatch.amazonaws.com",
                        source_arn=model.arn(resolver, alarm),
                    )
                )
    for rule in model.all_of_type(resolver, "AWS::Events::Rule"):
        for entry in model.properties(resolver, rule).get("Targets", []):
            wired = [("target", entry.get("Arn")), ("dead-letter queue", entry.get("DeadLetterConfig", {}).get("Arn"))]
            for what, value in wired:
                if value is not None and _names(resolver, rule.stack, value, target):
                    found.append(
                        Publisher(
                            f"rule {rule} {what}", service="events.amazonaws.com", source_arn=model.arn(resolver, rule)
                        )
                    )
    for schedule in model.all_of_type(resolver, "AWS::Scheduler::Schedule"):
        entry = model.properties(resolver, schedule).get("Target", {})
        role = model.find(resolver, entry.get("RoleArn"), stack=schedule.stack) if entry.get("RoleArn") else None
        wired = [("target", entry.get("Arn")), ("dead-letter queue", entry.get("DeadLetterConfig", {}).get("Arn"))]
        for what, value in wired:
            if value is not None and _names(resolver, schedule.stack, value, target):
                found.append(Publisher(f"schedule {schedule} {what}", role=role))
    for function in model.all_of_type(resolver, "AWS::Lambda::Function"):
        value = model.properties(resolver, function).get("DeadLetterConfig", {}).get("TargetArn")
        if value is not None and _names(resolver, function.stack, value, target):
            found.append(Publisher(f"function {function} dead-letter queue", role=model.role_of(resolver, function)))
    for config in model.all_of_type(resolver, "AWS::Lambda::EventInvokeConfig"):
        props = model.properties(resolver, config)
        function = model.find(resolver, props.get("FunctionName"), stack=config.stack)
        for outcome, destination in props.get("DestinationConfig", {}).items():
            if _names(resolver, config.stack, destination.get("Destination"), target) and function is not None:
                found.append(Publisher(f"function {function} {outcome}", role=model.role_of(resolver, function)))
    for machine in model.all_of_type(resolver, "AWS::StepFunctions::StateMachine"):
        for name, state in task_states(state_machine_definition(resolver, machine.stack, machine.logical_id)):
            if sends_to(state) == model.arn(resolver, target) or sends_to(state) == resolver.attribute(
                target.stack, target.logical_id, "Ref"
            ):
                found.append(Publisher(f"state machine {machine} state {name}", role=model.role_of(resolver, machine)))
    for bucket in model.all_of_type(resolver, "AWS::S3::Bucket"):
        notifications = model.properties(resolver, bucket).get("NotificationConfiguration", {})
        for field, key in (("TopicConfigurations", "Topic"), ("QueueConfigurations", "Queue")):
            if any(_names(resolver, bucket.stack, entry.get(key), target) for entry in notifications.get(field, [])):
                found.append(
                    Publisher(
                        f"bucket {bucket} notification",
                        service="s3.amazonaws.com",
                        source_arn=model.arn(resolver, bucket),
                    )
                )
    action = PUBLISH_ACTIONS[model.resource(resolver, target)["Type"]]
    for role in model.all_of_type(resolver, "AWS::IAM::Role"):
        if any(p.role == role for p in found):
            continue
        call = Call(action, model.arn(resolver, target))
        if evaluate(
            call, principal=model.role_principal(resolver, role), identity=model.role_statements(resolver, role)
        ).allowed:
            found.append(Publisher(f"role {role} ({action} allowed)", role=role))
    return found


def task_states(definition: dict) -> Iterator[tuple[str, dict]]:
    """(name, state) of every Task, including those inside Parallel branches and Map processors."""
    for name, state in definition.get("States", {}).items():
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from task_states(branch)
        for nested in ("Iterator", "ItemProcessor"):
            if nested in state:
                yield from task_states(state[nested])


def sends_to(state: dict) -> str | None:
    """The topic ARN or queue URL a Task publishes or sends to (optimized or aws-sdk integration), else None."""
    resource = str(state.get("Resource", ""))
    parameters = state.get("Parameters") or state.get("Arguments") or {}
    service = resource.split(":states:::", 1)[-1].lower() if ":states:::" in resource else ""
    if service.startswith(("sns:publish", "aws-sdk:sns:publish")):
        return parameters.get("TopicArn")
    if service.startswith(("sqs:sendmessage", "aws-sdk:sqs:sendmessage")):
        return parameters.get("QueueUrl")
    return None


def check(resolver: Resolver) -> list[str]:
    """One line per publisher that the destination's own policy refuses, or that could not use its key."""
    problems = []
    for target in model.all_of_type(resolver, *PUBLISH_ACTIONS):
        action = PUBLISH_ACTIONS[model.resource(resolver, target)["Type"]]
        policy = destination_policy(resolver, target)
        key = model.encryption_key(resolver, target)
        for publisher in publishers(resolver, target):
            refused = _resource_use(resolver, publisher, Call(action, model.arn(resolver, target)), policy)
            if refused:
                problems.append(f"{target}: {publisher.via} cannot {action}: {refused}")
            if key is None:
                continue
            statements = model.key_policy(resolver, key)
            key_arn = model.arn(resolver, key)
            found = {action: _key_use(resolver, publisher, Call(action, key_arn), statements) for action in KEY_ACTIONS}
            failing = [action for action, problem in found.items() if problem]
            if failing:
                problems.append(
                    f"{target} (key {key}): {publisher.via} cannot {', '.join(failing)}: {found[failing[0]]}"
                )
    return problems


def destination_policy(resolver: Resolver, target: Ref) -> list[dict]:
    """The topic's or queue's policy statements; without a policy resource, the service's default access policy."""
    statements = model.resource_policy(resolver, target)
    if statements or model.has_resource_policy(resolver, target):
        return statements
    if model.resource(resolver, target)["Type"] == "AWS::SNS::Topic":
        return [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sns:Publish",
                "Resource": model.arn(resolver, target),
                "Condition": {"StringEquals": {"AWS:SourceOwner": ACCOUNT}},
            }
        ]
    return []


def _scoped(statement: dict) -> bool:
    return any(
        key.lower() in RESOURCE_SCOPING_KEYS for keys in (statement.get("Condition") or {}).values() for key in keys
    )


def _resource_use(resolver: Resolver, publisher: Publisher, call: Call, policy: list[dict]) -> str | None:
    """Why the destination's policy refuses `publisher`, or None."""
    if publisher.service is not None:
        principal = Principal("Service", publisher.service)
        call = Call(
            call.action, call.resource, {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": publisher.source_arn or ""}
        )
        decision = evaluate(call, principal=principal, resource_policy=policy)
        if not decision.allowed:
            named = (
                ""
                if decision.reason.startswith("explicit")
                else f" for {publisher.service} from {call.context['aws:SourceArn']}"
            )
            return f"the resource policy {'denies' if decision.reason.startswith('explicit') else 'has no Allow'}{named} ({decision.reason})"
        if [s for s in allowing_statements(policy, call, principal) if not _scoped(s)]:
            return f"the resource policy allows {publisher.service} with no aws:SourceAccount/aws:SourceArn condition"
        return None
    return _role_refusal(resolver, publisher, call, policy, key=False)


def _key_use(resolver: Resolver, publisher: Publisher, call: Call, key_statements: list[dict]) -> str | None:
    if publisher.service is not None:
        principal = Principal("Service", publisher.service)
        if publisher.service in SOURCE_KEYS_NOT_SENT:
            call = Call(call.action, call.resource, absent=SOURCE_KEYS)
        else:
            call = Call(
                call.action, call.resource, {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": publisher.source_arn or ""}
            )
        decision = evaluate(call, principal=principal, resource_policy=key_statements, resource_policy_required=True)
        if not decision.allowed:
            return f"the key policy has no statement for {publisher.service}"
        if publisher.service in SOURCE_KEYS_NOT_SENT:
            return None
        unscoped = [
            s
            for s in allowing_statements(key_statements, call, principal)
            if not any(key in conditions for conditions in (s.get("Condition") or {}).values() for key in SOURCE_KEYS)
        ]
        if unscoped:
            return f"the key policy statement for {publisher.service} has no aws:SourceAccount/aws:SourceArn condition"
        return None
    return _role_refusal(resolver, publisher, call, key_statements, key=True)


def _role_refusal(resolver: Resolver, publisher: Publisher, call: Call, policy: list[dict], *, key: bool) -> str | None:
    """Why the publisher's role may not make `call`: its identity policy with the resource's policy, which for a
    KMS key must itself allow the caller (or the account)."""
    if publisher.role is None:
        return "its role is not in the templates"
    decision = evaluate(
        call,
        principal=model.role_principal(resolver, publisher.role),
        identity=model.role_statements(resolver, publisher.role),
        resource_policy=policy,
        resource_policy_required=key,
    )
    return None if decision.allowed else decision.reason
