"""Buckets with the kit's security defaults, so no architecture writes its own bucket settings."""

from __future__ import annotations

import inspect
from typing import Any, Sequence, cast

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .acknowledgments import acknowledge, skip_checkov
from .config import CommonSettings

ABORT_INCOMPLETE_UPLOADS = s3.LifecycleRule(
    id="AbortIncompleteMultipartUploads", abort_incomplete_multipart_upload_after=Duration.days(7)
)
# How long a versioned bucket keeps a version that an expiring rule (or an overwrite or delete under its prefix) made
# noncurrent: a week to notice and undo a mistaken delete over a weekend, the recovery window versioning is kept for,
# at the price of one more week of data that was due to go (1 day is the least S3 allows). A rule that sets its own
# `noncurrent_version_expiration` keeps it.
NONCURRENT_VERSION_DAYS = 7
_RULE_FIELDS = tuple(inspect.signature(s3.LifecycleRule).parameters)


def expire_versions_too(rules: Sequence[s3.LifecycleRule], versioned: bool) -> list[s3.LifecycleRule]:
    """`rules`, with what makes an expiring rule free the bytes of a versioned bucket.

    On a versioning-enabled bucket Expiration only adds a delete marker and leaves the expired version, billed, as a
    noncurrent version; NoncurrentVersionExpiration removes it, and ExpiredObjectDeleteMarker then removes the lone
    delete marker (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-expire-general-considerations.html).
    ExpiredObjectDeleteMarker cannot be in a rule with Expiration Days or Date
    (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html), so it gets a rule of its own for
    the same prefix; a delete marker has no size or tags, so that rule filters by prefix only.
    """
    if not versioned:
        return list(rules)
    result: list[s3.LifecycleRule] = []
    marker_rules: dict[str, s3.LifecycleRule] = {}
    for rule in rules:
        expiring = rule.enabled is not False and (rule.expiration is not None or rule.expiration_date is not None)
        if expiring and rule.noncurrent_version_expiration is None:
            fields = {name: getattr(rule, name) for name in _RULE_FIELDS if getattr(rule, name) is not None}
            rule = s3.LifecycleRule(
                **{**fields, "noncurrent_version_expiration": Duration.days(NONCURRENT_VERSION_DAYS)}
            )
        result.append(rule)
        if expiring and (rule.prefix or "") not in marker_rules:
            marker_rules[rule.prefix or ""] = s3.LifecycleRule(
                id=f"{rule.id}DeleteMarkers" if rule.id else None,
                prefix=rule.prefix,
                expired_object_delete_marker=True,
            )
    return [*result, *marker_rules.values()]


def _common_bucket_settings(common: CommonSettings) -> dict[str, Any]:
    return dict(
        enforce_ssl=True,
        minimum_tls_version=1.2,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=common.versioned_buckets,
        removal_policy=common.removal_policy,
        auto_delete_objects=common.auto_delete_objects,
    )


class AccessLogsBucket(s3.Bucket):
    """Target for S3 server access logs of the stack's data buckets.

    S3 server access logging delivers only to buckets with SSE-S3 default encryption, so this one
    bucket cannot use the customer-managed key; it holds request logs, not data. Expired logs of a versioned one are
    removed with their noncurrent versions and delete markers (`expire_versions_too`).
    """

    def __init__(self, scope: Construct, construct_id: str, *, common: CommonSettings) -> None:
        super().__init__(
            scope,
            construct_id,
            encryption=s3.BucketEncryption.S3_MANAGED,
            lifecycle_rules=expire_versions_too(
                [
                    ABORT_INCOMPLETE_UPLOADS,
                    s3.LifecycleRule(id="ExpireAccessLogs", expiration=Duration.days(common.access_log_expiry_days)),
                ],
                common.versioned_buckets,
            ),
            **_common_bucket_settings(common),
        )
        acknowledge(
            self,
            "S3 server access logging only delivers to buckets encrypted with SSE-S3, not SSE-KMS.",
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "s3_bucket_default_encryption_kms_check",
        )
        acknowledge(
            self,
            "This is the server access log target; logging its own requests into itself would loop.",
            "s3_bucket_logging_enabled_check",
        )
        skip_checkov(
            cast(s3.CfnBucket, self.node.default_child),
            "CKV_AWS_18",
            "This is the server access log target; it does not log itself.",
        )
        _acknowledge_shared_settings(self, common)


class SecureBucket(s3.Bucket):
    """A data bucket: SSE-KMS with the given key, TLS 1.2+ only, no public access, access logs,
    incomplete uploads aborted, versioning and removal per profile.

    `lifecycle_rules` are added to the abort-incomplete-uploads rule, and on a versioned bucket every expiring rule
    also expires noncurrent versions and lone delete markers (`expire_versions_too`); `versioned` overrides the profile's
    `versioned_buckets` for one bucket (with `unversioned_reason` saying why); other `s3.Bucket` keyword
    arguments pass through.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common: CommonSettings,
        encryption_key: kms.IKey,
        access_logs_bucket: s3.IBucket,
        lifecycle_rules: Sequence[s3.LifecycleRule] = (),
        versioned: bool | None = None,
        unversioned_reason: str = "",
        **bucket_props: Any,
    ) -> None:
        settings = _common_bucket_settings(common)
        if versioned is not None:
            if not versioned and common.versioned_buckets and not unversioned_reason:
                raise ValueError(f"{construct_id}: say why it is unversioned when the profile versions buckets")
            settings["versioned"] = versioned
        super().__init__(
            scope,
            construct_id,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            lifecycle_rules=expire_versions_too([ABORT_INCOMPLETE_UPLOADS, *lifecycle_rules], settings["versioned"]),
            **settings,
            **bucket_props,
        )
        self._log_to(access_logs_bucket, f"{construct_id}/")
        _acknowledge_shared_settings(self, common, settings["versioned"], unversioned_reason)

    def _log_to(self, target: s3.IBucket, prefix: str) -> None:
        """Server access logs to `target`, granted by a bucket policy whatever the app's feature flags say.

        `s3.Bucket(server_access_logs_bucket=...)` grants with an ACL (LogDeliveryWrite, which BucketOwnerEnforced
        ownership rejects) unless the app sets `@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`; this writes the
        policy statement that flag would, so a copied construct does not depend on it. A target with "Bucket owner
        enforced" ownership must grant logging.s3.amazonaws.com s3:PutObject in its policy, scoped with
        aws:SourceArn and aws:SourceAccount:
        https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
        """
        bucket = cast(s3.CfnBucket, self.node.default_child)
        bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=target.bucket_name, log_file_prefix=prefix
        )
        granted = target.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[target.arn_for_objects(f"{prefix}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                },
            )
        )
        if not granted.statement_added:
            Annotations.of(self).add_warning_v2(
                "kit:access-log-target-policy",
                f"Grant logging.s3.amazonaws.com s3:PutObject on {prefix}* in the policy of the imported access-log "
                "bucket yourself.",
            )


def _acknowledge_shared_settings(
    bucket: s3.Bucket, common: CommonSettings, versioned: bool | None = None, unversioned_reason: str = ""
) -> None:
    """Findings that follow from the kit's deliberate choices for every bucket."""
    acknowledge(
        bucket,
        "Single-region reference kit: cross-region replication is a per-deployment disaster-recovery decision.",
        "NIST.800.53.R5-S3BucketReplicationEnabled",
    )
    acknowledge(
        bucket,
        "No Object Lock: the kit's buckets hold rebuildable ML data and logs that lifecycle rules expire and that "
        "sandbox stacks empty on delete; WORM retention is a per-deployment compliance decision.",
        "s3_bucket_object_lock_enabled_check",
    )
    acknowledge(
        bucket,
        "No S3 event notifications: the workflows read these buckets on their own schedule (Step Functions, "
        "EMR Serverless, SageMaker) and nothing reacts to object events.",
        "s3_event_notifications_enabled_check",
    )
    if not (common.versioned_buckets if versioned is None else versioned):
        reason = (
            unversioned_reason
            if common.versioned_buckets
            else (f"Profile {common.profile!r} turns versioning off (set kit:versioned_buckets=true to keep versions).")
        )
        acknowledge(bucket, reason, "NIST.800.53.R5-S3BucketVersioningEnabled", "s3_bucket_versioning_enabled_check")
        skip_checkov(cast(s3.CfnBucket, bucket.node.default_child), "CKV_AWS_21", reason)


def existing_bucket(
    scope: Construct, construct_id: str, bucket_name: str, encryption_key: kms.IKey | None
) -> s3.IBucket | None:
    """The bucket a destroyed stack kept (`bucket_name`), with the kept key its objects are encrypted with, so grants
    on the bucket cover the key too; None when not set. Its settings (encryption, lifecycle, logging, policy) stay
    as that stack left them."""
    if not bucket_name:
        return None
    return s3.Bucket.from_bucket_attributes(scope, construct_id, bucket_name=bucket_name, encryption_key=encryption_key)
