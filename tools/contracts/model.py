"""Walkers over resolved templates: who has which policy, which key encrypts what, who runs as which role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from .iam import Principal
from .resolve import Resolver, RESOURCE_TYPES


@dataclass(frozen=True)
class Ref:
    """A resource in the app: stack name and logical id."""

    stack: str
    logical_id: str

    def __str__(self) -> str:
        return f"{self.stack}/{self.logical_id}"


def find(resolver: Resolver, value: Any, *, stack: str) -> Ref | None:
    """The resource a template value (a Ref, GetAtt, cross-stack output or a resolved ARN/name) names."""
    direct = resolver.resource_of(stack, value) if isinstance(value, dict) else None
    if direct is not None:
        return Ref(stack, direct)
    resolved = resolver.resolve(stack, value)
    for other in resolver.templates:
        for logical_id, resource in resolver.resources(other).items():
            builders = RESOURCE_TYPES.get(resource["Type"], (None, {}))[1]
            name = resolver.physical_name(other, logical_id)
            if any(resolved == build(name) for build in builders.values()):
                return Ref(other, logical_id)
    return None


def resource(resolver: Resolver, ref: Ref) -> dict:
    return resolver.resources(ref.stack)[ref.logical_id]


def properties(resolver: Resolver, ref: Ref) -> dict:
    return resource(resolver, ref).get("Properties", {})


def arn(resolver: Resolver, ref: Ref) -> str:
    kind = resource(resolver, ref)["Type"]
    attribute = {"AWS::SNS::Topic": "TopicArn", "AWS::StepFunctions::StateMachine": "Arn"}.get(kind, "Arn")
    return str(resolver.attribute(ref.stack, ref.logical_id, attribute))


def role_statements(resolver: Resolver, role: Ref) -> list[dict]:
    """Every statement of the role's inline policies and of the AWS::IAM::Policy/ManagedPolicy attached to it.

    AWS managed policies (ManagedPolicyArns) are not in the template and are not evaluated."""
    statements = []
    for policy in properties(resolver, role).get("Policies", []):
        statements += _statements(resolver.resolve(role.stack, policy["PolicyDocument"]))
    for candidate in resolver.resources(role.stack).values():
        if candidate["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            continue
        attached = [find(resolver, item, stack=role.stack) for item in candidate["Properties"].get("Roles", [])]
        if role in attached:
            statements += _statements(resolver.resolve(role.stack, candidate["Properties"]["PolicyDocument"]))
    return statements


def identity_policies(resolver: Resolver) -> Iterator[tuple[str, list[dict]]]:
    """(label, statements) of every identity policy in the templates: each role's inline policies (the
    AwsCustomResource and other CDK singleton roles included) and every AWS::IAM::Policy and ManagedPolicy."""
    for role in all_of_type(resolver, "AWS::IAM::Role"):
        for policy in properties(resolver, role).get("Policies", []):
            document = resolver.resolve(role.stack, policy["PolicyDocument"])
            yield f"role {role} policy {policy.get('PolicyName')}", _statements(document)
    for policy in all_of_type(resolver, "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        yield (
            f"policy {policy}",
            _statements(resolver.resolve(policy.stack, properties(resolver, policy)["PolicyDocument"])),
        )


def _statements(document: dict) -> list[dict]:
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def key_policy(resolver: Resolver, key: Ref) -> list[dict]:
    return _statements(resolver.resolve(key.stack, properties(resolver, key).get("KeyPolicy", {})))


_POLICY_KINDS = {
    "AWS::SNS::TopicPolicy": "Topics",
    "AWS::SQS::QueuePolicy": "Queues",
    "AWS::S3::BucketPolicy": "Bucket",
}


def _policies_of(resolver: Resolver, target: Ref) -> Iterator[dict]:
    for candidate in resolver.resources(target.stack).values():
        field = _POLICY_KINDS.get(candidate["Type"])
        if field is None:
            continue
        named = candidate["Properties"].get(field)
        named = named if isinstance(named, list) else [named]
        if target in [find(resolver, item, stack=target.stack) for item in named]:
            yield candidate


def resource_policy(resolver: Resolver, target: Ref) -> list[dict]:
    """Statements of the topic, queue or bucket policies that name `target`."""
    statements = []
    for policy in _policies_of(resolver, target):
        statements += _statements(resolver.resolve(target.stack, policy["Properties"]["PolicyDocument"]))
    return statements


def has_resource_policy(resolver: Resolver, target: Ref) -> bool:
    """Whether a policy resource names `target` (it then replaces the service's default access policy)."""
    return next(_policies_of(resolver, target), None) is not None


def role_principal(resolver: Resolver, role: Ref) -> Principal:
    return Principal("AWS", arn(resolver, role))


def role_of(resolver: Resolver, actor: Ref) -> Ref | None:
    """The execution role of a Lambda function or state machine."""
    props = properties(resolver, actor)
    value = props.get("Role") or props.get("RoleArn")
    return find(resolver, value, stack=actor.stack) if value is not None else None


def all_of_type(resolver: Resolver, *types: str) -> Iterator[Ref]:
    for stack in resolver.templates:
        for logical_id, candidate in resolver.resources(stack).items():
            if candidate["Type"] in types:
                yield Ref(stack, logical_id)


def encryption_key(resolver: Resolver, target: Ref) -> Ref | None:
    """The customer-managed key of an SNS topic or SQS queue (None for none or an AWS managed key alias)."""
    value = properties(resolver, target).get("KmsMasterKeyId")
    if value is None:
        return None
    key = find(resolver, value, stack=target.stack)
    return key if key is not None and resource(resolver, key)["Type"] == "AWS::KMS::Key" else None
