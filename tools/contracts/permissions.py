"""A3: every call a runtime actor declares is allowed by the synthesized policies.

Actors and where their calls come from:
- Lambda functions of the kit: `lambdas/<folder>/iam_calls.json`, kept honest by the recording hook of their
  handler tests (tools/contracts/calls.py).
- State machines: derived from the definition, per integration, as the Step Functions pages list them
  (https://docs.aws.amazon.com/step-functions/latest/dg/service-integration-iam-templates.html,
  https://docs.aws.amazon.com/step-functions/latest/dg/emr-serverless-iam.html,
  https://docs.aws.amazon.com/step-functions/latest/dg/sns-iam.html,
  https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html for the log delivery actions).
  Publishing to an encrypted topic also needs the key: tools/contracts/destinations.py checks that (A2).
- EventBridge Scheduler roles: `states:StartExecution` / `lambda:InvokeFunction` on the target
  (https://docs.aws.amazon.com/scheduler/latest/UserGuide/setting-up.html#setting-up-execution-role).
- Roles a service assumes (EMR job, SageMaker, Redshift ML, QuickSight): `stacks/<architecture>/iam_calls.json`,
  keyed by the role's logical id prefix, each list citing the service page it comes from.
- AwsCustomResource: the SDK calls of its Create, Update and Delete properties, made by the singleton function's
  role; the resource is "*" for an action with no resource type, else the ARN (or the template resource) its
  parameters name.

Besides the calls, every statement of every identity policy must be able to take effect as the Service
Authorization Reference describes its actions (tools/contracts/iam.py `statement_problems`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from . import model, sar
from .calls import LAMBDAS, declaration, expand
from .destinations import task_states
from .calls import sdk_call_action
from .iam import Call, Decision, evaluate, statement_problems, supports_resource_level
from .model import Ref
from .resolve import ACCOUNT, PARTITION, PSEUDO, REGION, Resolver, RESOURCE_TYPES, state_machine_definition
from tools.replacements import name_properties, values_at

STACKS = Path(__file__).resolve().parents[2] / "stacks"
STEP_FUNCTIONS_LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
_ARN_ATTRIBUTE = {
    "AWS::RedshiftServerless::Workgroup": "Workgroup.WorkgroupArn",
    "AWS::RedshiftServerless::Namespace": "Namespace.NamespaceArn",
    "AWS::SNS::Topic": "TopicArn",
    "AWS::SageMaker::ModelPackageGroup": "ModelPackageGroupArn",
}


@dataclass(frozen=True)
class Actor:
    label: str
    role: Ref | None
    calls: tuple[Call, ...]


def _find_named(resolver: Resolver, value: str, resource_type: str | None = None) -> Ref | None:
    for stack in resolver.templates:
        for logical_id, resource in resolver.resources(stack).items():
            if resource_type and resource["Type"] != resource_type:
                continue
            builders = RESOURCE_TYPES.get(resource["Type"], (None, {}))[1]
            name = resolver.physical_name(stack, logical_id)
            if any(str(build(name)) == value for build in builders.values()):
                return Ref(stack, logical_id)
    return None


def resource_arn(resolver: Resolver, ref: Ref) -> str:
    kind = model.resource(resolver, ref)["Type"]
    return str(resolver.attribute(ref.stack, ref.logical_id, _ARN_ATTRIBUTE.get(kind, "Arn")))


def key_of(resolver: Resolver, ref: Ref) -> Ref | None:
    props = model.properties(resolver, ref)
    value = props.get("KmsMasterKeyId")
    for rule in props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", []):
        value = rule.get("ServerSideEncryptionByDefault", {}).get("KMSMasterKeyID", value)
    return model.find(resolver, value, stack=ref.stack) if value is not None else None


class Lookup:
    """Resolves the placeholders of a declaration (see tools/contracts/calls.py) for one actor."""

    def __init__(
        self, resolver: Resolver, stack: str, environment: dict | None = None, properties: dict | None = None
    ) -> None:
        self.resolver, self.stack = resolver, stack
        self.environment = environment or {}
        self.properties = properties or {}

    def __call__(self, expression: str) -> str:
        if expression in PSEUDO:
            return str(PSEUDO[expression])
        kind, _, argument = expression.partition(":")
        if kind == "env":
            return str(self.environment[argument])
        if kind == "property":
            return str(self.properties[argument])
        if kind in ("resource", "name-of"):
            # the construct path's logical id: the prefix plus CDK's 8-character hash
            matches = [
                lid
                for lid in self.resolver.resources(self.stack)
                if re.fullmatch(re.escape(argument) + "[0-9A-F]{8}", lid)
            ]
            if len(matches) != 1:
                raise KeyError(f"{self.stack}: {len(matches)} resources start with {argument!r}")
            if kind == "name-of":
                return _name_of(self.resolver, self.stack, matches[0])
            return str(self.resolver.attribute(self.stack, matches[0], "Ref"))
        if kind in ("arn-of", "key-of"):
            resource_type, _, name = argument.rpartition("|")
            ref = _find_named(self.resolver, name, resource_type or None)
            if ref is None:
                raise KeyError(f"no resource in the templates is named {argument!r}")
            if kind == "arn-of":
                return resource_arn(self.resolver, ref)
            key = key_of(self.resolver, ref)
            if key is None:
                raise KeyError(f"{ref} is not encrypted with a key of the templates")
            return resource_arn(self.resolver, key)
        if kind == "asset-key":
            keys = self.resolver.assets.get(self.stack, {})
            if argument not in keys:
                raise KeyError(f"{self.stack}: no file asset is named {argument!r}")
            return keys[argument]
        raise KeyError(f"unknown placeholder ${{{expression}}}")


def _name_of(resolver: Resolver, stack: str, logical_id: str) -> str:
    """The literal name the template gives the resource (`tools.replacements.name_properties`)."""
    resource = resolver.resources(stack)[logical_id]
    for path in name_properties(resource["Type"]):
        (value,) = values_at(resource.get("Properties", {}), path)
        resolved = resolver.resolve(stack, value)
        if isinstance(resolved, str) and resolved != "<absent>":
            return resolved
    raise KeyError(f"{stack}: {logical_id} has no literal name")


def _applies(when: dict | None, lookup: Lookup) -> bool:
    """An entry's `when` ({"equals"|"greater": [a, b]}, placeholders allowed): the call is made only then."""
    if not when:
        return True
    ((test, (left, right)),) = when.items()
    left, right = expand(left, lookup), expand(right, lookup)
    return left == right if test == "equals" else float(left) > float(right)


# How a presence probe asks S3 whether a key is there, by the client that makes it.
PROBES = ("get", "hadoop")


def probe_calls(arn: str, by: str) -> tuple[Call, ...]:
    """The calls a presence probe of an S3 key makes, each of which must be allowed for a missing key to read as
    missing (404, or an empty listing) instead of 403 AccessDenied.

    "get" (a GetObject or HeadObject of the key, as a Lambda reads an optional object): s3:GetObject on the key,
    and s3:ListBucket on the bucket, without which a missing key answers 403 instead of 404
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html, Permissions). That request lists
    nothing and carries no s3:prefix, so a ListBucket grant conditioned on s3:prefix is not counted for it.
    "hadoop" (Hadoop's getFileStatus, which exists(), delete() and an empty listStatus() fall back to): the same
    HEAD of the key itself, the bare prefix with no trailing slash, then a listing of `key/` (s3:ListBucket with
    that s3:prefix); a bucket root is only listed (Hadoop S3A `S3AFileSystem.s3GetFileStatus`; EMRFS, EMR's s3://
    client, is taken to probe alike).
    """
    if by not in PROBES:
        raise ValueError(f"probe {arn}: 'by' must be one of {PROBES}, got {by!r}")
    bucket_name, _, key = arn.split(":::", 1)[1].partition("/")
    bucket = f"{arn.split(':::', 1)[0]}:::{bucket_name}"
    calls = []
    if key:
        calls += [Call("s3:GetObject", arn), Call("s3:ListBucket", bucket, absent=("s3:prefix",))]
    if by == "hadoop":
        calls.append(Call("s3:ListBucket", bucket, {"s3:prefix": f"{key}/" if key else ""}))
    return tuple(calls)


def _calls(entries: list[dict], lookup: Lookup) -> tuple[Call, ...]:
    """The declared calls; a `{"probe": <S3 object ARN>, "by": "get" | "hadoop"}` entry stands for the calls of
    that presence probe (`probe_calls`)."""
    calls: list[Call] = []
    for entry in entries:
        if not _applies(entry.get("when"), lookup):
            continue
        if "probe" in entry:
            calls += probe_calls(expand(entry["probe"], lookup), entry["by"])
            continue
        calls.append(
            Call(
                entry["action"],
                expand(entry["resource"], lookup),
                {key: expand(value, lookup) for key, value in entry.get("context", {}).items()},
            )
        )
    return tuple(calls)


def lambda_actors(resolver: Resolver) -> Iterator[Actor]:
    """Every function whose handler module is a kit Lambda with a declaration."""
    folders = {path.stem: path.parent for path in LAMBDAS.glob("*/*.py")}
    for function in model.all_of_type(resolver, "AWS::Lambda::Function"):
        props = model.properties(resolver, function)
        handler = str(props.get("Handler", ""))
        folder = folders.get(handler.split(".", 1)[0])
        if folder is None or handler not in declaration(folder):
            continue
        environment = resolver.resolve(function.stack, props.get("Environment", {}).get("Variables", {}))
        served = [
            resource
            for resource in resolver.resources(function.stack).values()
            if resource["Type"].startswith("Custom::")
            and function == model.find(resolver, resource["Properties"].get("ServiceToken"), stack=function.stack)
        ]
        properties = resolver.resolve(function.stack, served[0]["Properties"]) if served else {}
        lookup = Lookup(resolver, function.stack, environment, properties)
        yield Actor(
            f"function {function} ({folder.name}/{handler})",
            model.role_of(resolver, function),
            _calls(declaration(folder)[handler], lookup),
        )


def _state_calls(resolver: Resolver, state: dict) -> list[Call]:
    resource = str(state.get("Resource", ""))
    parameters = state.get("Parameters") or {}
    integration = resource.split(":states:::", 1)[1] if ":states:::" in resource else None
    if integration is None and ":lambda:" in resource:
        return [Call("lambda:InvokeFunction", resource)]
    if integration is None:
        return []
    if integration.startswith("lambda:invoke"):
        return [Call("lambda:InvokeFunction", str(parameters.get("FunctionName")))]
    if integration.startswith("sns:publish"):
        return [Call("sns:Publish", str(parameters.get("TopicArn")))]
    if integration.startswith("sqs:sendMessage"):
        queue_url = str(parameters.get("QueueUrl"))
        name = queue_url.rsplit("/", 1)[-1]
        return [Call("sqs:SendMessage", f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}")]
    if integration.startswith("states:startExecution"):
        return [Call("states:StartExecution", str(parameters.get("StateMachineArn")))]
    if integration.startswith("emr-serverless:startJobRun"):
        application_id = parameters.get("ApplicationId")
        application = f"arn:{PARTITION}:emr-serverless:{REGION}:{ACCOUNT}:/applications/{application_id}"
        calls = [
            Call("emr-serverless:StartJobRun", application),
            Call(
                "iam:PassRole",
                str(parameters.get("ExecutionRoleArn")),
                {"iam:PassedToService": "emr-serverless.amazonaws.com"},
            ),
        ]
        if integration.endswith(".sync"):
            rule = f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForEMRServerlessJobRule"
            calls += [
                Call("emr-serverless:GetJobRun", f"{application}/jobruns/run-1"),
                Call("emr-serverless:CancelJobRun", f"{application}/jobruns/run-1"),
            ]
            calls += [Call(action, rule) for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule")]
        return calls
    if integration.startswith("aws-sdk:"):
        service, action = integration.split(":")[1:3]
        return [Call(f"{service}:{action[0].upper()}{action[1:]}".split(".")[0], "*")]
    return []


def state_machine_actors(resolver: Resolver) -> Iterator[Actor]:
    for machine in model.all_of_type(resolver, "AWS::StepFunctions::StateMachine"):
        definition = state_machine_definition(resolver, machine.stack, machine.logical_id)
        calls: list[Call] = []
        for _, state in task_states(definition):
            calls += _state_calls(resolver, state)
        if model.properties(resolver, machine).get("LoggingConfiguration"):
            calls += [Call(action, "*") for action in STEP_FUNCTIONS_LOG_DELIVERY]
        yield Actor(f"state machine {machine}", model.role_of(resolver, machine), _unique(calls))


def _unique(calls: list[Call]) -> tuple[Call, ...]:
    unique: list[Call] = []
    for call in calls:
        if call not in unique:
            unique.append(call)
    return tuple(unique)


def scheduler_actors(resolver: Resolver) -> Iterator[Actor]:
    for schedule in model.all_of_type(resolver, "AWS::Scheduler::Schedule"):
        target = model.properties(resolver, schedule).get("Target", {})
        arn = str(resolver.resolve(schedule.stack, target.get("Arn")))
        action = {":states:": "states:StartExecution", ":lambda:": "lambda:InvokeFunction"}
        calls = tuple(Call(name, arn) for marker, name in action.items() if marker in arn)
        role = model.find(resolver, target.get("RoleArn"), stack=schedule.stack)
        yield Actor(f"schedule {schedule}", role, calls)


def service_role_actors(resolver: Resolver) -> Iterator[Actor]:
    """Roles declared in stacks/<architecture>/iam_calls.json ({"<role logical id prefix>": {"source": page,
    "calls": [entries as in a Lambda declaration]}}), for each stack that has such a role."""
    for path in sorted(STACKS.glob("*/iam_calls.json")):
        for prefix, entry in json.loads(path.read_text()).items():
            for stack in resolver.templates:
                for logical_id, resource in resolver.resources(stack).items():
                    is_role = resource["Type"] == "AWS::IAM::Role"
                    if is_role and re.fullmatch(re.escape(prefix) + "[0-9A-F]{8}", logical_id):
                        role = Ref(stack, logical_id)
                        yield Actor(
                            f"role {role} ({path.parent.name}/iam_calls.json)",
                            role,
                            _calls(entry["calls"], Lookup(resolver, stack)),
                        )


SDK_CALL_PHASES = ("Create", "Update", "Delete")
# The construct id aws-cdk-lib gives the AwsCustomResource singleton function.
SDK_CALL_FUNCTION = "AWS679f53fac002430cb0da5b7982bd2287"


def sdk_calls(resolver: Resolver, ref: Ref) -> dict[str, dict]:
    """The SDK calls ({phase: {"service", "action", "parameters"}}) of an AwsCustomResource; {} for another resource."""
    props = model.properties(resolver, ref)
    found = {}
    for phase in SDK_CALL_PHASES:
        if phase not in props:
            continue
        value = resolver.resolve(ref.stack, props[phase])
        try:
            call = json.loads(value) if isinstance(value, str) else value
        except ValueError:  # another custom resource's property of that name
            continue
        if isinstance(call, dict) and "service" in call and "action" in call:
            found[phase] = call
    return found


def _parameter_values(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _parameter_values(item)
    elif isinstance(value, list):
        for item in value:
            yield from _parameter_values(item)
    elif isinstance(value, str):
        yield value


def _sdk_call_resource(resolver: Resolver, action: str, parameters: dict) -> str:
    if not supports_resource_level(action):
        return "*"
    prefix = action.split(":", 1)[0]
    values = list(_parameter_values(parameters))
    for value in values:
        if value.startswith("arn:") and value.split(":")[2:3] == [prefix]:
            return value
    # A resource the parameters name by its name, of a type the action takes: UpdateNamespace names the roles it
    # attaches too, but is a call on the namespace.
    known = sar.lookup(action)
    for value in values:
        ref = _find_named(resolver, value)
        if ref is None:
            continue
        arn = resource_arn(resolver, ref)
        if known is None or any(sar.arn_may_match(arn, arn_format) for arn_format in known.arn_formats):
            return arn
    return "{no resource in the call's parameters}"


def sdk_call_actors(resolver: Resolver) -> Iterator[Actor]:
    for stack in resolver.templates:
        for logical_id, resource in resolver.resources(stack).items():
            if not resource["Type"].startswith("Custom::"):
                continue
            ref = Ref(stack, logical_id)
            phases = sdk_calls(resolver, ref)
            if not phases:
                continue
            function = model.find(resolver, resource["Properties"]["ServiceToken"], stack=stack)
            calls = []
            for call in phases.values():
                action = sdk_call_action(call["service"], call["action"])
                calls.append(Call(action, _sdk_call_resource(resolver, action, call.get("parameters") or {})))
            yield Actor(
                f"AwsCustomResource {ref} ({', '.join(phases)})",
                model.role_of(resolver, function) if function is not None else None,
                _unique(calls),
            )


def actors(resolver: Resolver) -> list[Actor]:
    return [
        *lambda_actors(resolver),
        *sdk_call_actors(resolver),
        *state_machine_actors(resolver),
        *scheduler_actors(resolver),
        *service_role_actors(resolver),
    ]


def decide(resolver: Resolver, role: Ref, call: Call) -> Decision:
    identity = model.role_statements(resolver, role)
    principal = model.role_principal(resolver, role)
    if call.action.lower().startswith("kms:"):
        key = _find_named(resolver, call.resource)
        key_statements = model.key_policy(resolver, key) if key is not None else []
        return evaluate(
            call,
            principal=principal,
            identity=identity,
            resource_policy=key_statements,
            resource_policy_required=key is not None,
        )
    target = _target_of(resolver, call.resource)
    policy = model.resource_policy(resolver, target) if target is not None else []
    return evaluate(call, principal=principal, identity=identity, resource_policy=policy)


def _target_of(resolver: Resolver, arn: str) -> Ref | None:
    if arn.startswith(f"arn:{PARTITION}:s3:::"):
        return _find_named(resolver, arn.split(":::", 1)[1].split("/", 1)[0])
    return _find_named(resolver, arn)


def policy_problems(resolver: Resolver) -> list[str]:
    """Every statement of every identity policy that cannot take effect as written (see `statement_problems`)."""
    problems = []
    for label, statements in model.identity_policies(resolver):
        for statement in statements:
            sid = statement.get("Sid", "no Sid")
            problems += [f"{label} ({sid}): {problem}" for problem in statement_problems(statement)]
    return problems


def check(resolver: Resolver) -> list[str]:
    problems = policy_problems(resolver)
    for actor in actors(resolver):
        if actor.role is None:
            problems.append(f"{actor.label}: its role is not in the templates")
            continue
        for call in actor.calls:
            decision = decide(resolver, actor.role, call)
            if not decision.allowed:
                context = f" {call.context}" if call.context else ""
                context += f" without {', '.join(call.absent)}" if call.absent else ""
                problems.append(
                    f"{actor.label}: {call.action} on {call.effective_resource}{context} is denied ({decision.reason})"
                )
    return problems
