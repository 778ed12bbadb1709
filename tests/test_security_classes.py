"""Whole classes of findings an independent reviewer's scanners report, checked over every synthesized template of
both profiles: each test looks at every statement, role, security group or endpoint of its kind, not one instance."""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path
from typing import Any, Iterator


from tests.gates import templates

# Services whose own pages document that they send aws:SourceAccount / aws:SourceArn when they assume a role, so a
# trust policy can (and in this kit must) pin both to this account:
CONFUSED_DEPUTY_SERVICES = {
    # https://docs.aws.amazon.com/scheduler/latest/UserGuide/cross-service-confused-deputy-prevention.html
    "scheduler.amazonaws.com",
    # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html
    "vpc-flow-logs.amazonaws.com",
    # https://docs.aws.amazon.com/step-functions/latest/dg/cross-service-confused-deputy-prevention.html
    "states.amazonaws.com",
    # https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/security-iam-runtime-role.html
    "emr-serverless.amazonaws.com",
}


def _load(kit_app) -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in templates(kit_app.assembly.directory)]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(kit_app) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(kind, logical id, statement) for every identity policy statement and every key policy statement."""
    for template in _load(kit_app):
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            documents = []
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                documents.append(("identity", props["PolicyDocument"]))
            elif resource["Type"] == "AWS::IAM::Role":
                documents += [("identity", p["PolicyDocument"]) for p in props.get("Policies", [])]
            elif resource["Type"] == "AWS::KMS::Key":
                documents.append(("key", props["KeyPolicy"]))
            for kind, document in documents:
                for statement in _as_list(document["Statement"]):
                    yield kind, logical_id, statement


def _allows(statement: dict[str, Any], action: str) -> bool:
    return statement.get("Effect") == "Allow" and any(
        fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in _as_list(statement.get("Action", []))
    )


def _key_denies_grants_except_for_aws_resources(statements: list[dict[str, Any]]) -> bool:
    """The key policy statement Control Tower's CT.KMS.PR.3 asks for."""
    return any(
        s.get("Effect") == "Deny"
        and "kms:CreateGrant" in _as_list(s.get("Action"))
        and s.get("Condition", {}).get("BoolIfExists", {}).get("kms:GrantIsForAWSResource") == "false"
        and s.get("Condition", {}).get("BoolIfExists", {}).get("aws:PrincipalIsAWSService") == "false"
        for s in statements
    )


def test_every_create_grant_is_only_for_aws_resources(kit_app):
    """An identity policy's kms:CreateGrant carries GrantIsForAWSResource; a key policy that allows it (the account
    root's kms:*) denies grants that are not for AWS resources."""
    offenders, key_statements = [], {}
    for kind, logical_id, statement in _statements(kit_app):
        if kind == "key":
            key_statements.setdefault(logical_id, []).append(statement)
            continue
        if _allows(statement, "kms:CreateGrant"):
            condition = statement.get("Condition", {}).get("Bool", {})
            if condition.get("kms:GrantIsForAWSResource") != "true":
                offenders.append(f"{logical_id}: {statement.get('Action')}")
    assert key_statements, "no KMS key found: the test reads the wrong templates"
    for logical_id, statements in key_statements.items():
        if any(_allows(s, "kms:CreateGrant") for s in statements):
            if not _key_denies_grants_except_for_aws_resources(statements):
                offenders.append(f"key {logical_id}")
    assert offenders == []


def test_every_pass_role_names_the_service_it_passes_to(kit_app):
    offenders = [
        f"{logical_id}: {statement.get('Resource')}"
        for kind, logical_id, statement in _statements(kit_app)
        if kind == "identity"
        and _allows(statement, "iam:PassRole")
        and "iam:PassedToService" not in json.dumps(statement.get("Condition", {}))
    ]
    assert offenders == []


def test_no_security_group_sends_traffic_to_the_internet(kit_app):
    offenders = []
    for template in _load(kit_app):
        for logical_id, resource in template["Resources"].items():
            rules = []
            if resource["Type"] == "AWS::EC2::SecurityGroup":
                rules = resource["Properties"].get("SecurityGroupEgress", [])
            elif resource["Type"] == "AWS::EC2::SecurityGroupEgress":
                rules = [resource["Properties"]]
            for rule in rules:
                if rule.get("CidrIp") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0":
                    offenders.append(f"{logical_id}: {rule.get('Description')}")
    assert offenders == []


# Endpoint services whose policies also hold the resource side to this account (aws:ResourceAccount), as
# stacks/common/network.py decides with AWS's pages: S3 (VPC endpoint policy example for buckets of one account), STS
# and CloudWatch Logs (data-perimeter guidance: no additional considerations for the network's resource perimeter).
# SageMaker and CodeArtifact endpoints limit principals only.
RESOURCE_PERIMETER_SERVICES = {"s3", "sts", "logs"}
THIS_ACCOUNT = {"Ref": "AWS::AccountId"}


def _endpoint_service(service_name: Any) -> str:
    """The short name of com.amazonaws.<region>.<short name>."""
    return _rendered(service_name).split('"AWS::Region"}.', 1)[-1]


def test_every_endpoint_carries_only_this_accounts_requests(kit_app):
    """Every interface and gateway endpoint has a policy, and each of its statements allows only this account's
    principals (and, for RESOURCE_PERIMETER_SERVICES, only this account's resources): with no policy, or one
    unconditioned statement, the default full access applies and foreign credentials can use the private subnets."""
    endpoints, offenders = [], []
    for template in _load(kit_app):
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::EC2::VPCEndpoint":
                continue
            props = resource["Properties"]
            service = _endpoint_service(props["ServiceName"])
            endpoints.append((props.get("VpcEndpointType", "Gateway"), service))
            statements = _as_list(props.get("PolicyDocument", {}).get("Statement", []))
            if not statements:
                offenders.append(f"{logical_id} ({service}): no endpoint policy")
            for statement in statements:
                equals = statement.get("Condition", {}).get("StringEquals", {})
                wanted = {"aws:PrincipalAccount": THIS_ACCOUNT}
                if service in RESOURCE_PERIMETER_SERVICES:
                    wanted["aws:ResourceAccount"] = THIS_ACCOUNT
                if statement.get("Effect") == "Allow" and any(equals.get(k) != v for k, v in wanted.items()):
                    offenders.append(f"{logical_id} ({service}): {statement.get('Sid')} allows {equals or 'anyone'}")
    assert ("Gateway", "s3") in endpoints, "every profile has at least the Redshift ML VPC's S3 gateway endpoint"
    if kit_app.settings.churn_model.churn_notebook:
        assert sorted(s for kind, s in endpoints if kind == "Interface") == sorted(
            ["sagemaker.api", "sagemaker.runtime", "sts", "logs", "codeartifact.api", "codeartifact.repositories"]
            + ["sagemaker.api", "sagemaker.runtime"] * kit_app.settings.redshift_ml.redshift_enhanced_vpc_routing
        )
    assert offenders == []


def test_service_roles_pin_the_source_account_and_resource(kit_app):
    """Trust statements for services that send aws:SourceAccount and aws:SourceArn (CONFUSED_DEPUTY_SERVICES)."""
    checked, offenders = 0, []
    for template in _load(kit_app):
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] != "AWS::IAM::Role":
                continue
            for statement in _as_list(resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]):
                services = set(_as_list(statement.get("Principal", {}).get("Service", [])))
                if not services & CONFUSED_DEPUTY_SERVICES:
                    continue
                checked += 1
                condition = json.dumps(statement.get("Condition", {}))
                if "aws:SourceAccount" not in condition or "aws:SourceArn" not in condition:
                    offenders.append(f"{logical_id}: {sorted(services)}")
    assert checked >= 4
    assert offenders == []


# CloudFormation invokes a custom resource's function asynchronously (Event invocation):
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-custom-resources-lambda.html
SYNCHRONOUS_CLAIM = re.compile(r"\bsynchronous", re.IGNORECASE)  # not "asynchronous"


def _reasons(kit_app) -> Iterator[tuple[str, str, str]]:
    """(where, rule, reason) for every cdk-nag acknowledgment and every checkov skip the kit recorded."""
    directory = Path(kit_app.assembly.directory)
    for metadata_file in directory.glob("*.metadata.json"):
        for path, entries in json.loads(metadata_file.read_text()).items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    for rule, reason in entry["data"].items():
                        yield path, rule, reason
    for template in _load(kit_app):
        for logical_id, resource in template["Resources"].items():
            for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
                yield logical_id, skip["id"], skip["comment"]


def test_no_reason_claims_cloudformation_invokes_synchronously(kit_app):
    claims = [
        f"{where} {rule}"
        for where, rule, reason in _reasons(kit_app)
        if SYNCHRONOUS_CLAIM.search(reason) and "CloudFormation" in reason
    ]
    assert claims == []


def test_custom_resource_functions_do_not_claim_synchronous_invocation(kit_app):
    """A function CloudFormation invokes directly (a ServiceToken) gives no DLQ reason that calls it synchronous."""
    checked = 0
    for template in _load(kit_app):
        resources = template["Resources"]
        targets = {
            resource["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
            for resource in resources.values()
            if resource["Type"].startswith("Custom::") or resource["Type"] == "AWS::CloudFormation::CustomResource"
            if isinstance(resource["Properties"].get("ServiceToken"), dict)
            and "Fn::GetAtt" in resource["Properties"]["ServiceToken"]
        }
        for logical_id in targets:
            for skip in resources[logical_id].get("Metadata", {}).get("checkov", {}).get("skip", []):
                if skip["id"] == "CKV_AWS_116":
                    checked += 1
                    assert not SYNCHRONOUS_CLAIM.search(skip["comment"]), (logical_id, skip["comment"])
    assert checked >= 1


# SageMaker actions that support no resource type: IAM evaluates them against "*", so a statement that scopes them to
# job ARNs never applies (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html,
# the "Resource types" column is empty for these).
NO_RESOURCE_TYPE = {
    "sagemaker:ListCandidatesForAutoMLJob",
    "sagemaker:ListModelPackages",
    "sagemaker:ListModels",
    "sagemaker:ListEndpointConfigs",
    "sagemaker:ListEndpoints",
    "sagemaker:ListTrainingJobs",
    "sagemaker:ListProcessingJobs",
}


def test_actions_without_a_resource_type_are_not_scoped_to_arns(kit_app):
    offenders = [
        f"{logical_id}: {action}"
        for kind, logical_id, statement in _statements(kit_app)
        if kind == "identity" and statement.get("Effect") == "Allow" and statement.get("Resource") != "*"
        for action in _as_list(statement.get("Action", []))
        if action in NO_RESOURCE_TYPE
    ]
    assert offenders == []


# The default synthesizer's file-asset bucket (DefaultStackSynthesizer, qualifier hnb659fds): it holds every asset of
# every CDK app in the account and region.
ASSETS_BUCKET = "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"


def _rendered(value: Any) -> str:
    """An ARN as text: Fn::Join parts joined, Fn::Sub as its template, any other intrinsic as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_rendered(part) for part in parts)
    if isinstance(value, dict) and "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
        return value["Fn::Sub"]
    return json.dumps(value)


def test_no_role_reads_the_assets_bucket_beyond_its_own_objects(kit_app):
    """CDK's Asset.grant_read allows s3:GetObject*, GetBucket* and List* on the whole bootstrap bucket. A reader gets
    s3:GetObject on its asset's object key only, and s3:ListBucket only where s3:prefix is such a key."""
    checked, offenders = 0, []
    for kind, logical_id, statement in _statements(kit_app):
        resources = [_rendered(r) for r in _as_list(statement.get("Resource", []))]
        on_assets = [r for r in resources if ASSETS_BUCKET in r]
        if kind != "identity" or statement.get("Effect") != "Allow" or not on_assets:
            continue
        checked += 1
        actions = sorted(_as_list(statement.get("Action", [])))
        for resource in on_assets:
            key = resource.split(ASSETS_BUCKET, 1)[1]
            if key == "":
                prefixes = _as_list(statement.get("Condition", {}).get("StringEquals", {}).get("s3:prefix", []))
                if actions != ["s3:ListBucket"] or not prefixes or any("*" in p or "?" in p for p in prefixes):
                    offenders.append(f"{logical_id}: {actions} on the bucket, prefixes {prefixes}")
            elif actions != ["s3:GetObject"] or not key.startswith("/") or len(key) < 2 or "*" in key:
                offenders.append(f"{logical_id}: {actions} on {resource}")
    assert checked >= 3, "the pipeline, PR job and Redshift ML roles read assets in both profiles"
    assert offenders == []


def _covers(rule: dict[str, Any], expiring: dict[str, Any]) -> bool:
    """`rule` applies to every object `expiring` applies to: its prefix is the same or broader, and it has no tag or
    size filter of its own."""
    narrowing = ("TagFilters", "ObjectSizeGreaterThan", "ObjectSizeLessThan")
    return (
        rule.get("Status") == "Enabled"
        and expiring.get("Prefix", "").startswith(rule.get("Prefix", ""))
        and not any(key in rule for key in narrowing)
    )


def test_versioned_buckets_expire_old_versions_and_delete_markers_too(kit_app):
    """On a versioning-enabled bucket an Expiration action only adds a delete marker; the expired version stays,
    billed, until a NoncurrentVersionExpiration removes it, and the lone delete marker left then is removed by
    ExpiredObjectDeleteMarker (which cannot share a rule with Expiration Days or Date):
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html
    https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html"""
    checked, offenders = 0, []
    versioned_buckets = 0
    for template in _load(kit_app):
        for logical_id, resource in template["Resources"].items():
            props = resource.get("Properties", {})
            if resource["Type"] != "AWS::S3::Bucket" or props.get("VersioningConfiguration", {}).get("Status") != (
                "Enabled"
            ):
                continue
            versioned_buckets += 1
            rules = props.get("LifecycleConfiguration", {}).get("Rules", [])
            for expiring in rules:
                if expiring.get("Status") != "Enabled" or not (
                    "ExpirationInDays" in expiring or "ExpirationDate" in expiring
                ):
                    continue
                checked += 1
                covering = [rule for rule in rules if _covers(rule, expiring)]
                if not any("NoncurrentVersionExpiration" in rule for rule in covering):
                    offenders.append(f"{logical_id} rule {expiring.get('Id')}: no noncurrent-version expiration")
                if not any(rule.get("ExpiredObjectDeleteMarker") is True for rule in covering):
                    offenders.append(f"{logical_id} rule {expiring.get('Id')}: no expired-delete-marker cleanup")
    assert checked or not versioned_buckets, "the production profile versions buckets that expire objects"
    assert offenders == []
