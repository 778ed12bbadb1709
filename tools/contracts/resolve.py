"""Symbolic resolution of CloudFormation intrinsics across the stacks of one app."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "111122223333"
PSEUDO = {
    "AWS::Partition": PARTITION,
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::NoValue": None,
}

_ARN = f"arn:{PARTITION}:{{service}}:{REGION}:{ACCOUNT}:{{rest}}"


def _arn(service: str, rest: str) -> str:
    return _ARN.format(service=service, rest=rest)


# Resource type -> (name property, {attribute or "Ref": ARN/name built from the physical name}).
RESOURCE_TYPES: dict[str, tuple[str | None, dict[str, Callable[[str], str]]]] = {
    "AWS::S3::Bucket": ("BucketName", {"Ref": lambda n: n, "Arn": lambda n: f"arn:{PARTITION}:s3:::{n}"}),
    "AWS::SNS::Topic": (
        "TopicName",
        {"Ref": lambda n: _arn("sns", n), "TopicArn": lambda n: _arn("sns", n), "TopicName": lambda n: n},
    ),
    "AWS::SQS::Queue": (
        "QueueName",
        {
            "Ref": lambda n: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{n}",
            "QueueUrl": lambda n: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{n}",
            "Arn": lambda n: _arn("sqs", n),
            "QueueName": lambda n: n,
        },
    ),
    "AWS::KMS::Key": (None, {"Ref": lambda n: n, "KeyId": lambda n: n, "Arn": lambda n: _arn("kms", f"key/{n}")}),
    "AWS::Lambda::Function": ("FunctionName", {"Ref": lambda n: n, "Arn": lambda n: _arn("lambda", f"function:{n}")}),
    "AWS::StepFunctions::StateMachine": (
        "StateMachineName",
        {
            "Ref": lambda n: _arn("states", f"stateMachine:{n}"),
            "Arn": lambda n: _arn("states", f"stateMachine:{n}"),
            "Name": lambda n: n,
        },
    ),
    "AWS::IAM::Role": ("RoleName", {"Ref": lambda n: n, "Arn": lambda n: f"arn:{PARTITION}:iam::{ACCOUNT}:role/{n}"}),
    "AWS::Logs::LogGroup": ("LogGroupName", {"Ref": lambda n: n, "Arn": lambda n: _arn("logs", f"log-group:{n}:*")}),
    "AWS::Events::Rule": ("Name", {"Ref": lambda n: n, "Arn": lambda n: _arn("events", f"rule/{n}")}),
    "AWS::Scheduler::Schedule": (
        "Name",
        {"Ref": lambda n: n, "Arn": lambda n: _arn("scheduler", f"schedule/default/{n}")},
    ),
    "AWS::CloudWatch::Alarm": ("AlarmName", {"Ref": lambda n: n, "Arn": lambda n: _arn("cloudwatch", f"alarm:{n}")}),
    "AWS::RedshiftServerless::Workgroup": (
        "WorkgroupName",
        {
            "Ref": lambda n: n,
            "Workgroup.WorkgroupArn": lambda n: _arn("redshift-serverless", f"workgroup/{n}-id"),
            "Workgroup.WorkgroupName": lambda n: n,
        },
    ),
    "AWS::RedshiftServerless::Namespace": (
        "NamespaceName",
        {
            "Ref": lambda n: n,
            "Namespace.NamespaceArn": lambda n: _arn("redshift-serverless", f"namespace/{n}-id"),
            "Namespace.NamespaceName": lambda n: n,
        },
    ),
    "AWS::EMRServerless::Application": (
        None,
        {
            "Ref": lambda n: n,
            "ApplicationId": lambda n: n,
            "Arn": lambda n: _arn("emr-serverless", f"/applications/{n}"),
        },
    ),
    "AWS::Athena::WorkGroup": ("Name", {"Ref": lambda n: n}),
    "AWS::Glue::Database": (None, {"Ref": lambda n: n}),
    "AWS::Glue::Table": (None, {"Ref": lambda n: n}),
    "AWS::SageMaker::ModelPackageGroup": (
        "ModelPackageGroupName",
        {
            "Ref": lambda n: _arn("sagemaker", f"model-package-group/{n}"),
            "ModelPackageGroupArn": lambda n: _arn("sagemaker", f"model-package-group/{n}"),
            "ModelPackageGroupName": lambda n: n,
        },
    ),
    "AWS::SageMaker::Pipeline": ("PipelineName", {"Ref": lambda n: n}),
}


@dataclass(frozen=True)
class Token:
    """A value known only at deploy time that has no symbolic form here (kept as `{what}` in strings)."""

    what: str

    def __str__(self) -> str:
        return "{" + self.what + "}"


class Resolver:
    """Resolves intrinsics in the templates of one app (stack name -> template)."""

    def __init__(self, templates: dict[str, dict], assets: dict[str, dict[str, str]] | None = None) -> None:
        self.templates = templates
        # stack -> file asset display name (its construct path in the stack) -> object key in the assets bucket
        self.assets = assets or {}

    def resources(self, stack: str) -> dict[str, dict]:
        return self.templates[stack].get("Resources", {})

    def physical_name(self, stack: str, logical_id: str) -> str:
        resource = self.resources(stack)[logical_id]
        name_property = RESOURCE_TYPES.get(resource["Type"], (None, {}))[0]
        if name_property:
            value = resource.get("Properties", {}).get(name_property)
            if value is not None:
                resolved = self.resolve(stack, value)
                if isinstance(resolved, str):
                    return resolved
        for nested in ("DatabaseInput", "TableInput"):  # AWS::Glue::Database, AWS::Glue::Table
            name = resource.get("Properties", {}).get(nested, {}).get("Name")
            if isinstance(name, str):
                return name
        return logical_id.lower() if resource["Type"] == "AWS::S3::Bucket" else logical_id

    def attribute(self, stack: str, logical_id: str, attribute: str) -> Any:
        resource = self.resources(stack).get(logical_id)
        if resource is None:
            if attribute == "Ref" and logical_id in PSEUDO:
                return PSEUDO[logical_id]
            if attribute == "Ref":  # a template parameter
                return Token(f"parameter {logical_id}")
            raise KeyError(f"{stack}: no resource {logical_id}")
        builders = RESOURCE_TYPES.get(resource["Type"], (None, {}))[1]
        if attribute in builders:
            return builders[attribute](self.physical_name(stack, logical_id))
        return Token(f"{logical_id}.{attribute}" if attribute != "Ref" else logical_id)

    def resolve(self, stack: str, value: Any) -> Any:
        """`value` with every intrinsic replaced by its symbolic value (strings where it can be a string)."""
        if isinstance(value, list):
            return [self.resolve(stack, item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.attribute(stack, argument, "Ref")
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attribute(stack, logical_id, attribute)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(_text(part) for part in self.resolve(stack, parts))
            if key == "Fn::Sub":
                return self._sub(stack, argument)
            if key == "Fn::Select":
                index, items = self.resolve(stack, argument)
                return items[int(index)] if isinstance(items, list) else Token(f"select {index}")
            if key == "Fn::Split":
                separator, text = self.resolve(stack, argument)
                return text.split(separator) if isinstance(text, str) else Token("split")
            if key == "Fn::If":  # the first branch: the checks care about what can be deployed
                return self.resolve(stack, argument[1])
            if key == "Fn::GetStackOutput":
                other = argument["StackName"]
                output = self.templates.get(other, {}).get("Outputs", {}).get(argument["OutputName"])
                return self.resolve(other, output["Value"]) if output else Token(f"{other}.{argument['OutputName']}")
            if key == "Fn::ImportValue":
                return Token(f"import {_text(self.resolve(stack, argument))}")
            if key == "Fn::GetAZs":
                return [f"{REGION}a", f"{REGION}b", f"{REGION}c"]
        return {key: self.resolve(stack, item) for key, item in value.items()}

    def _sub(self, stack: str, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(self.resolve(stack, variables[name]))
            if "." in name and name.split(".", 1)[0] in self.resources(stack):
                return _text(self.attribute(stack, *name.split(".", 1)))
            return _text(self.attribute(stack, name, "Ref"))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def resource_of(self, stack: str, value: Any) -> str | None:
        """The logical id a `Ref`/`Fn::GetAtt` (or a value equal to one's resolution) names in `stack`, if any."""
        if isinstance(value, dict) and len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref" and argument in self.resources(stack):
                return argument
            if key == "Fn::GetAtt":
                return argument[0] if isinstance(argument, list) else argument.split(".", 1)[0]
        resolved = self.resolve(stack, value)
        for logical_id, resource in self.resources(stack).items():
            builders = RESOURCE_TYPES.get(resource["Type"], (None, {}))[1]
            if any(resolved == build(self.physical_name(stack, logical_id)) for build in builders.values()):
                return logical_id
        return None


def _text(value: Any) -> str:
    if isinstance(value, (str, Token)):
        return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    return "{" + json.dumps(value, sort_keys=True, default=str).replace('"', "'") + "}"


def state_machine_definition(resolver: Resolver, stack: str, logical_id: str) -> dict:
    """The Amazon States Language definition of a state machine, intrinsics resolved."""
    properties = resolver.resources(stack)[logical_id]["Properties"]
    if "Definition" in properties:
        return resolver.resolve(stack, properties["Definition"])
    definition = resolver.resolve(stack, properties["DefinitionString"])
    return json.loads(definition)
