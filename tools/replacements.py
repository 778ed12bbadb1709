"""What a stack update replaces or deletes, read offline from the old and the new template.

CloudFormation updates a resource in place unless a property whose update behaviour is Replacement changes: then it
creates a new resource (new physical id), repoints references and deletes the old one, which its
`UpdateReplacePolicy` may retain; a resource removed from the template is deleted unless its `DeletionPolicy`
retains it; a resource that keeps its custom name cannot be replaced at all ("CloudFormation cannot update a stack
when a custom-named resource requires replacing"); and a changed type fails the change set ("Update of resource
type is not permitted"):
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-updatereplacepolicy.html
https://repost.aws/knowledge-center/cloudformation-custom-name
https://github.com/aws/aws-sam-cli/issues/6786 (the type-change error)

The properties whose change replaces are the resource provider schemas' `createOnlyProperties`, as cfn-lint ships
them (`cfnlint/data/schemas`). A replaced resource's `Ref` and `Fn::GetAtt` values change (new physical id), so a
create-only property built from them changes too and that resource is replaced in turn; a mutable property built
from them is an in-place update.

Both templates are normalized (`tools.normalized_templates.normalize`): asset hashes are `<asset of LogicalId>` on both sides,
so a code change never shows as a replacement (a Lambda function's `Code.S3Key` is mutable anyway), and placeholders
are compared without the owner's name, so a placeholder renamed by an unrelated resource is not a change either.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import cfnlint

_SCHEMAS = Path(cfnlint.__file__).parent / "data" / "schemas"
# Provider schemas are per region; us-east-1 carries every type the kit uses.
_REGION = "us-east-1"
_ASSET = re.compile(r"<asset of [^>]*>")
_MISSING = "<absent>"

# Types whose loss loses data someone keeps: objects, keys (everything they encrypted), the warehouse, the catalog,
# logs, secrets, registered models, notebook volumes, job-run history, QuickSight analyses, queued messages.
STATEFUL = frozenset(
    {
        "AWS::S3::Bucket",
        "AWS::KMS::Key",
        "AWS::RedshiftServerless::Namespace",
        "AWS::RedshiftServerless::Workgroup",
        "AWS::Glue::Database",
        "AWS::Glue::Table",
        "AWS::Logs::LogGroup",
        "AWS::SecretsManager::Secret",
        "AWS::SageMaker::ModelPackageGroup",
        "AWS::SageMaker::NotebookInstance",
        "AWS::EMRServerless::Application",
        "AWS::QuickSight::DataSet",
        "AWS::QuickSight::Dashboard",
        "AWS::SQS::Queue",  # messages waiting, or failed ones kept in a dead-letter queue for inspection
        "AWS::CodeArtifact::Repository",
    }
)
CUSTOM_RESOURCE = "AWS::CloudFormation::CustomResource"

# The property that names a resource, where it is not the schema's writable primary identifier. A replacement that
# keeps the name set here fails; a resource that leaves it unset gets a generated name and can be replaced.
NAME_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Glue::Database": ("DatabaseInput/Name",),
    "AWS::Glue::Table": ("TableInput/Name",),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupName",),
    "AWS::SageMaker::NotebookInstance": ("NotebookInstanceName",),
    "AWS::CodeArtifact::Domain": ("DomainName",),
    "AWS::CodeArtifact::Repository": ("RepositoryName",),
    "AWS::SNS::Topic": ("TopicName",),
    "AWS::SQS::Queue": ("QueueName",),
    "AWS::SecretsManager::Secret": ("Name",),
    "AWS::StepFunctions::StateMachine": ("StateMachineName",),
    "AWS::Events::Rule": ("Name",),
    "AWS::EC2::SecurityGroup": ("GroupName",),
    "AWS::QuickSight::DataSet": ("DataSetId",),
    "AWS::QuickSight::Dashboard": ("DashboardId",),
    "AWS::QuickSight::DataSource": ("DataSourceId",),
    # FunctionName is the function the statement is on, not a name of the permission (its Id is generated).
    "AWS::Lambda::Permission": (),
}
# Names that are unique only inside another resource: a Glue table in its database, a repository in its domain. A
# deleted resource and an added one with the same name in different scopes do not collide.
SCOPE_PROPERTIES: dict[str, tuple[str, ...]] = {
    "AWS::Glue::Table": ("CatalogId", "DatabaseName"),
    "AWS::CodeArtifact::Repository": ("DomainOwner", "DomainName"),
}

# Updatable properties of types whose update API takes one changed parameter per request, which the CloudFormation
# handler does not split: UpdateWorkgroup "You can't update multiple parameters in one request" (its documentation
# in the botocore service model of redshift-serverless).
ONE_CHANGE_PER_UPDATE: dict[str, tuple[str, ...]] = {
    "AWS::RedshiftServerless::Workgroup": (
        "BaseCapacity",
        "MaxCapacity",
        "EnhancedVpcRouting",
        "PubliclyAccessible",
        "SubnetIds",
        "SecurityGroupIds",
        "ConfigParameters",
        "Port",
        "PricePerformanceTarget",
        "TrackName",
    ),
}

# Marks, most severe first. All but a plain deletion gate `make review ARGS=--fail-on-replace`.
FAILS_CUSTOM_NAME = "fails: custom name"
FAILS_TYPE_CHANGE = "fails: type change"
FAILS_SEVERAL_CHANGES = "fails: several changes"
FAILS_CIDR_KEPT = "fails: CIDR kept"
DATA_LOSS = "data loss"
ORPHANS_DATA = "orphans data"
EXPIRES_KEPT_DATA = "expires kept data"
REPLACED = "replaced"
DELETED = "deleted"
RETAINED = "retained"
RE_RUNS = "re-runs"
_ORDER = (
    FAILS_CUSTOM_NAME,
    FAILS_TYPE_CHANGE,
    FAILS_SEVERAL_CHANGES,
    FAILS_CIDR_KEPT,
    DATA_LOSS,
    ORPHANS_DATA,
    EXPIRES_KEPT_DATA,
    REPLACED,
    DELETED,
)
GATED = frozenset(_ORDER) - {DELETED}


@dataclass(frozen=True)
class Finding:
    """One resource the update replaces, deletes, re-runs or expires data of, and why."""

    logical_id: str
    type: str
    marks: tuple[str, ...]  # e.g. ("replaced", "data loss")
    reason: str

    @property
    def gated(self) -> bool:
        return bool(GATED.intersection(self.marks))

    def line(self) -> str:
        return f"{self.logical_id} ({self.type}): {', '.join(self.marks)}: {self.reason}"

    def _rank(self) -> tuple[int, str]:
        severity = min((_ORDER.index(mark) for mark in self.marks if mark in _ORDER), default=len(_ORDER))
        return (0 if self.type in STATEFUL and severity < _ORDER.index(REPLACED) else 1, severity, self.logical_id)


@functools.cache
def _provider_index() -> dict[str, str]:
    return json.loads((_SCHEMAS / "providers" / f"{_REGION}.json").read_text())


@functools.cache
def _schema(resource_type: str) -> dict:
    digest = _provider_index().get(resource_type)
    return json.loads((_SCHEMAS / "resources" / f"{digest}.json").read_text()) if digest else {}


def _paths(pointers: list[str]) -> tuple[str, ...]:
    return tuple(pointer.removeprefix("/properties/") for pointer in pointers if pointer.startswith("/properties/"))


def create_only(resource_type: str) -> tuple[str, ...]:
    """The type's create-only properties as paths under Properties (`VpcConfig/SubnetIds`, `Rules/*/Id`)."""
    return _paths(_schema(resource_type).get("createOnlyProperties", []))


def name_properties(resource_type: str) -> tuple[str, ...]:
    if resource_type in NAME_PROPERTIES:
        return NAME_PROPERTIES[resource_type]
    schema = _schema(resource_type)
    read_only = set(schema.get("readOnlyProperties", []))
    identifier = [pointer for pointer in schema.get("primaryIdentifier", []) if pointer not in read_only]
    return tuple(path for path in _paths(identifier) if path in create_only(resource_type))


def values_at(properties: dict, path: str) -> list:
    """The values at `path` (`*` steps into each list item); [_MISSING] where the path is absent."""
    found = [properties]
    for step in path.split("/"):
        following = []
        for value in found:
            if step == "*" and isinstance(value, list):
                following.extend(value)
            elif isinstance(value, dict) and step in value:
                following.append(value[step])
        found = following
    return found or [_MISSING]


def _canonical(value):
    return json.loads(_ASSET.sub("<asset>", json.dumps(value, sort_keys=True)))


def references(value) -> set[str]:
    """Logical ids that `value` takes a Ref, Fn::GetAtt or Fn::Sub variable of."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else str(item).split(".")[0])
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", str(text))}
                found |= references(item[1:] if isinstance(item, list) else [])
            else:
                found |= references(item)
    return found


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type == CUSTOM_RESOURCE


def _replacement_reason(old: dict, new: dict, replaced: set[str]) -> str | None:
    """Why `new` replaces `old` (same logical id and type), given the resources already `replaced`; None if not."""
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    for path in create_only(new["Type"]):
        before, after = values_at(old_properties, path), values_at(new_properties, path)
        if _canonical(before) != _canonical(after):
            return f"create-only {path} changed"
        fed = sorted(references(after) & replaced)
        if fed:
            return f"create-only {path} takes the new id of replaced {', '.join(fed)}"
    return None


def _name(resource: dict) -> str | None:
    properties = resource.get("Properties", {})
    names = [values_at(properties, path) for path in name_properties(resource["Type"])]
    named = [value for value in names if value != [_MISSING]]
    return json.dumps(_canonical(named), sort_keys=True) if named else None


def _cidr_kept(old: dict, new: dict, replaced: set[str]) -> bool:
    """A replaced subnet in the same VPC that keeps its CIDR: CloudFormation creates it before deleting the old one,
    whose CIDR it conflicts with ("If you update this property, you must also update the ``CidrBlock`` property": the
    AvailabilityZone description in the AWS::EC2::Subnet provider schema that cfn-lint ships)."""
    if new["Type"] != "AWS::EC2::Subnet":
        return False
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    same_vpc = not references(new_properties.get("VpcId")) & replaced
    return same_vpc and _canonical(old_properties.get("CidrBlock")) == _canonical(new_properties.get("CidrBlock"))


def _changed_parameters(old: dict, new: dict, replaced: set[str]) -> list[str]:
    """The properties of a one-change-per-update type that an update changes, by value or by a replaced reference."""
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    return [
        path
        for path in ONE_CHANGE_PER_UPDATE.get(new["Type"], ())
        if _canonical(values_at(old_properties, path)) != _canonical(values_at(new_properties, path))
        or references(values_at(new_properties, path)) & replaced
    ]


def _scoped_name(resource: dict, resources: dict) -> str | None:
    """The name and the scope it is unique in, a referenced scope by that resource's own name in `resources`."""
    name = _name(resource)
    if name is None:
        return None
    scopes = []
    for path in SCOPE_PROPERTIES.get(resource["Type"], ()):
        for value in values_at(resource.get("Properties", {}), path):
            refs = sorted(references(value))
            scopes.append([_name(resources[ref]) if ref in resources else ref for ref in refs] if refs else value)
    return json.dumps([name, _canonical(scopes)], sort_keys=True)


def _loss(resource_type: str, policy: str | None, when: str) -> tuple[str, ...]:
    """The data mark of losing a `resource_type` whose policy (UpdateReplacePolicy or DeletionPolicy) is `policy`."""
    if resource_type not in STATEFUL:
        return ()
    if policy in ("Retain", "RetainExceptOnCreate"):
        return (ORPHANS_DATA,) if when == "replaced" else (RETAINED,)
    return () if policy == "Snapshot" else (DATA_LOSS,)


def _expiry(old: dict, new: dict) -> list[str]:
    """The retention settings `new` lowers (or sets where `old` kept data for ever)."""
    old_properties, new_properties = old.get("Properties", {}), new.get("Properties", {})
    kind, lowered = new["Type"], []
    if kind == "AWS::Logs::LogGroup":
        lowered += _lowered(
            "RetentionInDays", old_properties.get("RetentionInDays"), new_properties.get("RetentionInDays")
        )
    elif kind == "AWS::SQS::Queue":
        default = 345_600  # four days: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html
        lowered += _lowered(
            "MessageRetentionPeriod",
            old_properties.get("MessageRetentionPeriod", default),
            new_properties.get("MessageRetentionPeriod", default),
        )
    elif kind == "AWS::S3::Bucket":
        before = _rules(old_properties)
        for rule_id, rule in _rules(new_properties).items():
            kept = before.get(rule_id, {})
            for path in (
                "ExpirationInDays",
                "NoncurrentVersionExpiration/NoncurrentDays",
                "NoncurrentVersionExpirationInDays",
            ):
                (was,), (now,) = values_at(kept, path), values_at(rule, path)
                lowered += _lowered(f"lifecycle rule {rule_id} {path}", None if was == _MISSING else was, now)
    return lowered


def _rules(properties: dict) -> dict[str, dict]:
    rules = properties.get("LifecycleConfiguration", {}).get("Rules", [])
    return {str(rule.get("Id", index)): rule for index, rule in enumerate(rules) if rule.get("Status") != "Disabled"}


def _lowered(label: str, before, after) -> list[str]:
    if not isinstance(after, int) or after == _MISSING:
        return []
    if before is None or before == _MISSING:
        return [f"{label} set to {after} (was: kept)"]
    return [f"{label} {before} -> {after}"] if isinstance(before, int) and after < before else []


def assess(old: dict, new: dict) -> list[Finding]:
    """What updating a stack from template `old` to `new` replaces, deletes, re-runs or expires, most severe first."""
    before, after = old.get("Resources", {}), new.get("Resources", {})
    kept = sorted(before.keys() & after.keys())
    findings: dict[str, Finding] = {}
    for logical_id in kept:
        if before[logical_id]["Type"] != after[logical_id]["Type"]:
            reason = f"type {before[logical_id]['Type']} -> {after[logical_id]['Type']}"
            findings[logical_id] = Finding(logical_id, after[logical_id]["Type"], (FAILS_TYPE_CHANGE,), reason)
    replaced: set[str] = set()
    reasons: dict[str, str] = {}
    while True:  # until no further replacement propagates through Ref/GetAtt
        grown = False
        for logical_id in kept:
            resource = after[logical_id]
            if logical_id in replaced or logical_id in findings or _is_custom(resource["Type"]):
                continue
            reason = _replacement_reason(before[logical_id], resource, replaced)
            if reason:
                replaced.add(logical_id)
                reasons[logical_id] = reason
                grown = True
        if not grown:
            break
    for logical_id in sorted(replaced):
        resource = after[logical_id]
        name = _name(resource)
        marks = (REPLACED,)
        reason = reasons[logical_id]
        if name is not None and name == _name(before[logical_id]):
            marks += (FAILS_CUSTOM_NAME,)
        elif _cidr_kept(before[logical_id], resource, replaced):
            marks += (FAILS_CIDR_KEPT,)
            reason += "; the new subnet keeps the old one's CidrBlock, which the old one holds until it is deleted"
        else:
            marks += _loss(resource["Type"], resource.get("UpdateReplacePolicy"), "replaced")
        findings[logical_id] = Finding(logical_id, resource["Type"], marks, reason)
    added = {logical_id: after[logical_id] for logical_id in after.keys() - before.keys()}
    for logical_id in sorted(before.keys() - after.keys()):
        resource = before[logical_id]
        marks = (DELETED, *_loss(resource["Type"], resource.get("DeletionPolicy"), "deleted"))
        reason = "logical id removed"
        name = _scoped_name(resource, before)
        twins = [
            other
            for other, body in sorted(added.items())
            if body["Type"] == resource["Type"] and _scoped_name(body, after) == name
        ]
        if twins and name is not None:
            # CloudFormation creates the new resource before it deletes the old one; both cannot hold the name.
            marks, reason = (DELETED, FAILS_CUSTOM_NAME), f"logical id renamed to {twins[0]}, which keeps its name"
        findings[logical_id] = Finding(logical_id, resource["Type"], marks, reason)
    for logical_id in kept:
        if logical_id in findings:
            continue
        resource = after[logical_id]
        if _is_custom(resource["Type"]):
            changed = _canonical(before[logical_id].get("Properties")) != _canonical(resource.get("Properties"))
            fed = sorted(references(resource.get("Properties", {})) & replaced)
            if changed or fed:
                reason = "properties changed" if changed else f"takes the new id of replaced {', '.join(fed)}"
                findings[logical_id] = Finding(logical_id, resource["Type"], (RE_RUNS,), reason)
            continue
        several = _changed_parameters(before[logical_id], resource, replaced)
        if len(several) > 1:
            reason = (
                f"{', '.join(several)} change in one update, and the service takes one per request: deploy them one "
                "at a time (a `-c kit:` override per step)"
            )
            findings[logical_id] = Finding(logical_id, resource["Type"], (FAILS_SEVERAL_CHANGES,), reason)
            continue
        expiring = _expiry(before[logical_id], resource)
        if expiring:
            findings[logical_id] = Finding(logical_id, resource["Type"], (EXPIRES_KEPT_DATA,), "; ".join(expiring))
    return sorted(findings.values(), key=Finding._rank)
