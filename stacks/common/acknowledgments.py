"""The one way the kit acknowledges a cdk-nag finding or skips a checkov check: on a named resource, with a reason."""

from __future__ import annotations

import re

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

# Rule ids as cdk-nag 3 reports them, optionally with a granular finding: AwsSolutions-IAM5[Action::s3:GetObject*]
RULE_ID_PATTERN = re.compile(r"^(AwsSolutions|NIST\.800\.53\.R5)-[A-Za-z0-9]+(\[.+\])?$")
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
        if not RULE_ID_PATTERN.match(rule_id):
            raise ValueError(
                f"{rule_id!r} is not a cdk-nag rule id (expected e.g. AwsSolutions-S1 or "
                "NIST.800.53.R5-S3BucketLoggingEnabled, optionally with [finding])."
            )
        Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason.strip()))


def skip_checkov(resource: CfnResource, check_id: str, reason: str) -> None:
    """Record a checkov skip in the resource's metadata, where checkov reads it and a reviewer sees why."""
    if len(reason.strip()) < MIN_REASON_LENGTH:
        raise ValueError(f"A checkov skip on {resource.node.path} needs a reason of at least {MIN_REASON_LENGTH} characters.")
    metadata = resource.get_metadata("checkov") or {}
    skips = [s for s in metadata.get("skip", []) if s["id"] != check_id]
    skips.append({"id": check_id, "comment": reason.strip()})
    resource.add_metadata("checkov", {**metadata, "skip": skips})
