"""The one way the kit acknowledges a cdk-nag finding or skips a checkov check: on a named resource, with a reason."""

from __future__ import annotations

import json
import re
from typing import Any, cast

import jsii
from aws_cdk import Acknowledgment, CfnResource, IAspect, Stack, Validations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import IConstruct, IValidation

# Rule ids as cdk-nag 3 reports them, optionally with a granular finding: AwsSolutions-IAM5[Action::s3:GetObject*]
RULE_ID_PATTERN = re.compile(r"^(AwsSolutions|NIST\.800\.53\.R5)-[A-Za-z0-9]+(\[.+\])?$")
# Rule names of the CfnGuard validator's bundled Control Tower proactive controls, as its report prints them after
# "Acknowledge with 'cdk-validator-cfnguard::...'" (the rule in the .guard file, e.g. lambda_inside_vpc_check).
GUARD_RULE_PATTERN = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)*_check$")
GUARD_PLUGIN_NAME = "cdk-validator-cfnguard"
MIN_REASON_LENGTH = 20


def acknowledge(construct: IConstruct, reason: str, *rule_ids: str) -> None:
    """Acknowledge findings of `rule_ids` on `construct` and everything below it.

    The reason is required and must say why the finding does not apply: it ends up in the
    cloud assembly next to the resource, where a reviewer reads it.
    """
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"An acknowledgment on {construct.node.path} needs a reason of at least {MIN_REASON_LENGTH} characters."
        )
    if not rule_ids:
        raise ValueError(f"An acknowledgment on {construct.node.path} names no rule id.")
    for rule_id in rule_ids:
        if not RULE_ID_PATTERN.match(rule_id) and not GUARD_RULE_PATTERN.match(rule_id):
            raise ValueError(
                f"{rule_id!r} is not a cdk-nag rule id (expected e.g. AwsSolutions-S1 or "
                "NIST.800.53.R5-S3BucketLoggingEnabled, optionally with [finding]) nor a CfnGuard rule name "
                "(e.g. lambda_inside_vpc_check)."
            )
        if GUARD_RULE_PATTERN.match(rule_id):
            # aws-cdk-lib matches another plugin's findings by '<plugin name>::<rule>'; cdk-nag reads its own ids.
            rule_id = f"{GUARD_PLUGIN_NAME}::{rule_id}"
        Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason.strip()))


def skip_checkov(resource: CfnResource, check_id: str, reason: str) -> None:
    """Record a checkov skip in the resource's metadata, where checkov reads it and a reviewer sees why."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"A checkov skip on {resource.node.path} needs a reason of at least {MIN_REASON_LENGTH} characters."
        )
    metadata = resource.get_metadata("checkov") or {}
    skips = [s for s in metadata.get("skip", []) if s["id"] != check_id]
    skips.append({"id": check_id, "comment": reason.strip()})
    resource.add_metadata("checkov", {**metadata, "skip": skips})


def skip_cfn_lint(resource: CfnResource, rule_id: str, reason: str) -> None:
    """Have cfn-lint ignore one rule on one resource (its metadata), with the reason next to it."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(
            f"A cfn-lint skip on {resource.node.path} needs a reason of at least {MIN_REASON_LENGTH} characters."
        )
    metadata = resource.get_metadata("cfn-lint") or {"config": {"ignore_checks": []}}
    metadata["config"]["ignore_checks"] = sorted({*metadata["config"]["ignore_checks"], rule_id})
    resource.add_metadata("cfn-lint", metadata)
    reasons = resource.get_metadata("cfn-lint-reasons") or {}
    resource.add_metadata("cfn-lint-reasons", {**reasons, rule_id: reason.strip()})


CDK_MANAGED_REASON = (
    "CDK-managed helper function; its code, runtime and settings are set by aws-cdk-lib, not by the kit."
)


@jsii.implements(IAspect)
class CdkManagedHelpers:
    """Acknowledge, with a reason, the findings on helper functions aws-cdk-lib adds on its own: the
    `*CustomResourceProvider` handlers (auto-delete-objects, default security group restriction), which only
    checkov inspects, and the AwsCustomResource singleton function, its log group and its role.

    Add it to the app (app.py does) or to any stack that uses the kit's constructs.
    """

    def visit(self, node: IConstruct) -> None:
        node_id = node.node.id
        if node_id.endswith("CustomResourceProvider") and isinstance(node.node.try_find_child("Handler"), CfnResource):
            handler = cast(CfnResource, node.node.find_child("Handler"))  # checked just above
            for check_id in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                skip_checkov(handler, check_id, CDK_MANAGED_REASON)
            acknowledge(handler, CDK_MANAGED_REASON, "lambda_inside_vpc_check")
        elif isinstance(node, logs.CfnLogGroup) and _is_cdk_managed_function(node):
            skip_checkov(node, "CKV_AWS_158", CDK_MANAGED_REASON)
        elif isinstance(node, lambda_.CfnFunction) and _is_cdk_managed_function(node):
            acknowledge(
                cast(IConstruct, node.node.scope),  # the Function, so its role and log group are covered too
                CDK_MANAGED_REASON,
                f"AwsSolutions-IAM4[Policy::{BASIC_EXECUTION_ROLE}]",
                "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
                "NIST.800.53.R5-LambdaConcurrency",
                "NIST.800.53.R5-LambdaDLQ",
                "NIST.800.53.R5-LambdaInsideVPC",
                "lambda_inside_vpc_check",
                "cloudwatch_log_group_encrypted_check",
            )
            for check_id in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                skip_checkov(node, check_id, CDK_MANAGED_REASON)


BASIC_EXECUTION_ROLE = "arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
# Construct ids aws-cdk-lib gives its singleton helper functions (AwsCustomResource's is a fixed UUID).
CDK_MANAGED_FUNCTION_MARKERS = ("AWS679f53fac002430cb0da5b7982bd2287",)


def _is_cdk_managed_function(function: CfnResource) -> bool:
    path = function.node.path
    return any(marker in path for marker in CDK_MANAGED_FUNCTION_MARKERS)


def _as_nag_renders(value: Any) -> str:
    """A resolved ARN as cdk-nag writes it in a finding id: `<Logical.Attr>` for a GetAtt, `<Name>` for a Ref, the
    export name for an import (a bucket of another stack), a Join's parts joined (an imported bucket's
    `arn:<AWS::Partition>:s3:::name`), anything else as compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and list(value) == ["Fn::GetAtt"]:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and list(value) == ["Fn::ImportValue"]:
        return _as_nag_renders(value["Fn::ImportValue"])
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_as_nag_renders(part) for part in parts)
    return json.dumps(value, separators=(",", ":"))


def acknowledge_bucket_objects(construct: IConstruct, reason: str, bucket: s3.IBucket, pattern: str = "*") -> None:
    """Acknowledge the IAM5 finding of a grant on `pattern` objects of `bucket`, as cdk-nag renders it.

    The id is computed once references are resolved (a construct validation runs after that and before the nag
    plugins), so it also matches a bucket of another stack, whose ARN becomes an import there.
    """

    @jsii.implements(IValidation)
    class _AfterReferencesResolve:
        def validate(self) -> list[str]:
            rendered = _as_nag_renders(Stack.of(construct).resolve(bucket.bucket_arn))
            acknowledge(construct, reason, f"AwsSolutions-IAM5[Resource::{rendered}/{pattern}]")
            return []

    construct.node.add_validation(_AfterReferencesResolve())


GRANT_ACTION_FINDINGS = tuple(
    f"AwsSolutions-IAM5[Action::{action}]"
    for action in (
        "s3:GetObject*",
        "s3:GetBucket*",
        "s3:List*",
        "s3:DeleteObject*",
        "s3:Abort*",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    )
)
