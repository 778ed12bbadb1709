"""The synth benchmark's yardstick: one S3 bucket in one stack, with the validation plugins app.py registers.

    cdk synth --app "python benchmarks/one_bucket_app.py"

Same aws-cdk-lib, CDK CLI, cdk.json feature flags and plugins as the kit's app, so what the full app costs beyond
it is the kit's own work (its constructs, assets, sample data and the validation of its larger templates).
"""

import sys
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stacks.common.acknowledgments import acknowledge  # noqa: E402
from stacks.common.validation import validation_plugins  # noqa: E402

app = cdk.App()
bucket = s3.Bucket(
    cdk.Stack(app, "OneBucketStack"),
    "Bucket",
    encryption=s3.BucketEncryption.S3_MANAGED,
    enforce_ssl=True,
    block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
)
# Acknowledged so that both apps synthesize cleanly: a failing synth prints a report the kit's app does not.
acknowledge(
    bucket,
    "Benchmark yardstick, never deployed: it measures synth, not a secure bucket.",
    "AwsSolutions-S1",
    "NIST.800.53.R5-S3BucketLoggingEnabled",
    "NIST.800.53.R5-S3BucketReplicationEnabled",
    "NIST.800.53.R5-S3BucketVersioningEnabled",
    "NIST.800.53.R5-S3DefaultEncryptionKMS",
    "s3_bucket_default_encryption_kms_check",
    "s3_bucket_logging_enabled_check",
    "s3_bucket_object_lock_enabled_check",
    "s3_bucket_versioning_enabled_check",
    "s3_event_notifications_enabled_check",
    "s3_lifecycle_policy_check",
)
cdk.Validations.of(app).add_plugins(*validation_plugins(app))
app.synth()
