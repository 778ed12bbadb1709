"""A5: a custom resource runs only after the policies of every role it exercises exist.

CloudFormation creates a resource after everything it references (`Ref`, `Fn::GetAtt`, `Fn::Sub`) and everything
in its `DependsOn`, and nothing else
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html). A role's policies
(`AWS::IAM::Policy`) are separate resources that reference the role, so a resource that uses the role is not
ordered after them unless it says so; IAM changes also take a moment to apply, which ordering cannot remove but
missing ordering makes certain to hit. A custom resource acts at deploy time, so for each one the roles it
exercises are:

- its handler's: the role of the function its ServiceToken names and of every function that function's
  environment names (a provider framework's user handler), through trust.consumers;
- the roles of the services it drives: every role a consumer (tools/contracts/trust.py) hands over in a resource
  the custom resource's properties reach by reference (a Redshift workgroup -> its namespace -> the namespace's
  IAM roles, which run the bootstrap's COPY). Other custom resources it reads are not followed: their outputs are
  values, not work it drives.

Two narrowings keep the rule to what the handler really runs:
- a policy on a shared handler role that a sibling custom resource (same ServiceToken) depends on belongs to that
  sibling (CDK's AwsCustomResource writes one such policy per call on one singleton role);
- an AwsCustomResource whose SDK calls are all in READS_NO_ROLE drives no service role: those calls read or
  configure a resource and make no service assume the roles it holds.
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterator

from . import model, trust
from .model import Ref
from .resolve import Resolver

CUSTOM = ("AWS::CloudFormation::CustomResource",)
NOT_FOLLOWED = ("AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")
# (service, action) of AwsCustomResource SDK calls that read or configure a resource without making its service
# assume the resource's roles: GetNamespace returns the namespace's settings; the usage-limit calls set a
# workgroup's RPU-hour cap; DescribeManagedPrefixLists reads EC2 prefix lists
# (https://docs.aws.amazon.com/redshift-serverless/latest/APIReference/API_GetNamespace.html,
# .../API_CreateUsageLimit.html, https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeManagedPrefixLists.html).
READS_NO_ROLE = frozenset(
    {
        ("RedshiftServerless", "getNamespace"),
        ("RedshiftServerless", "createUsageLimit"),
        ("RedshiftServerless", "updateUsageLimit"),
        ("RedshiftServerless", "deleteUsageLimit"),
        ("EC2", "describeManagedPrefixLists"),
    }
)


def is_custom(resource: dict) -> bool:
    return resource["Type"].startswith("Custom::") or resource["Type"] in CUSTOM


def references(resources: dict[str, dict], value: Any) -> set[str]:
    """Logical ids `value` names through Ref, Fn::GetAtt and Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(resources, item)
    elif isinstance(value, dict):
        for key, argument in value.items():
            if key == "Ref" and argument in resources:
                found.add(argument)
            elif key == "Fn::GetAtt":
                found.add(argument[0] if isinstance(argument, list) else str(argument).split(".", 1)[0])
            elif key == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                names = {name.split(".", 1)[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text)}
                found |= names & set(resources)
                if not isinstance(argument, str):
                    found |= references(resources, argument[1])
            else:
                found |= references(resources, argument)
    return found & set(resources)


def _depends_on(resource: dict) -> set[str]:
    value = resource.get("DependsOn", [])
    return set(value if isinstance(value, list) else [value])


def created_before(resolver: Resolver, ref: Ref) -> set[str]:
    """Everything CloudFormation creates before `ref`: the closure of references and DependsOn."""
    resources = resolver.resources(ref.stack)
    seen: set[str] = set()
    pending = [ref.logical_id]
    while pending:
        resource = resources[pending.pop()]
        for other in references(resources, resource.get("Properties", {})) | _depends_on(resource):
            if other not in seen:
                seen.add(other)
                pending.append(other)
    return seen


def reached(resolver: Resolver, ref: Ref) -> set[str]:
    """The resources `ref`'s properties reach by reference, not entering roles, policies or other custom
    resources."""
    resources = resolver.resources(ref.stack)
    seen: set[str] = set()
    pending = [ref.logical_id]
    while pending:
        current = pending.pop()
        resource = resources[current]
        if current != ref.logical_id and (resource["Type"] in NOT_FOLLOWED or is_custom(resource)):
            continue
        for other in references(resources, resource.get("Properties", {})):
            if other not in seen:
                seen.add(other)
                pending.append(other)
    return seen


def sdk_calls(resolver: Resolver, ref: Ref) -> set[tuple[str, str]] | None:
    """The (service, action) of an AwsCustomResource's Create/Update/Delete calls, or None for another handler."""
    props = model.properties(resolver, ref)
    calls: set[tuple[str, str]] = set()
    for field in ("Create", "Update", "Delete"):
        if field not in props:
            continue
        text = resolver.resolve(ref.stack, props[field])
        call = json.loads(text) if isinstance(text, str) else text
        calls.add((str(call.get("service")), str(call.get("action"))))
    return calls or None


def policies_of(resolver: Resolver, role: Ref) -> set[str]:
    """The AWS::IAM::Policy/ManagedPolicy resources attached to `role` (inline policies come with the role)."""
    found = set()
    resources = resolver.resources(role.stack)
    for logical_id, resource in resources.items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            if role.logical_id in references(resources, resource["Properties"].get("Roles", [])):
                found.add(logical_id)
    return found


def _siblings_policies(resolver: Resolver, custom: Ref) -> set[str]:
    """Policies that other custom resources with the same ServiceToken depend on directly (theirs, not ours)."""
    resources = resolver.resources(custom.stack)
    token = resources[custom.logical_id].get("Properties", {}).get("ServiceToken")
    owned: set[str] = set()
    for logical_id, resource in resources.items():
        if logical_id != custom.logical_id and is_custom(resource):
            if resource.get("Properties", {}).get("ServiceToken") == token:
                owned |= _depends_on(resource)
    return owned - _depends_on(resources[custom.logical_id])


def exercised(resolver: Resolver, custom: Ref, consumers: list[trust.Consumer]) -> Iterator[tuple[Ref, str]]:
    """(role, why) for every role `custom` exercises at deploy time."""
    resources = resolver.resources(custom.stack)
    token = references(resources, resources[custom.logical_id].get("Properties", {}).get("ServiceToken"))
    handlers = set(token)
    pending = list(token)
    while pending:  # a provider framework's function names the user's handlers in its environment
        function = resources[pending.pop()]
        if function["Type"] != "AWS::Lambda::Function":
            continue
        for other in references(resources, function.get("Properties", {}).get("Environment", {})):
            if resources[other]["Type"] == "AWS::Lambda::Function" and other not in handlers:
                handlers.add(other)
                pending.append(other)
    calls = sdk_calls(resolver, custom)
    drives_services = calls is None or not calls <= READS_NO_ROLE
    driven = reached(resolver, custom) - handlers if drives_services else set()
    for consumer in consumers:
        holder = consumer.holder
        if holder is None or holder.stack != custom.stack:
            continue
        if holder.logical_id in handlers:
            yield consumer.role, f"its handler {holder.logical_id} runs as it"
        elif holder.logical_id in driven:
            yield consumer.role, f"it drives {consumer.via}"


def check(resolver: Resolver) -> list[str]:
    """One line per custom resource that can run before a policy of a role it exercises exists."""
    consumers = trust.consumers(resolver)
    problems = []
    for custom in model.all_of_type(resolver, *_custom_types(resolver)):
        before = created_before(resolver, custom)
        theirs = _siblings_policies(resolver, custom)
        for role, why in exercised(resolver, custom, consumers):
            for policy in sorted(policies_of(resolver, role) - before - theirs):
                problems.append(f"{custom} can run before {policy} (a policy of {role.logical_id}; {why})")
    return sorted(set(problems))


def _custom_types(resolver: Resolver) -> set[str]:
    return {
        resource["Type"]
        for stack in resolver.templates
        for resource in resolver.resources(stack).values()
        if is_custom(resource)
    }
