"""Raw capture and labels: expiry, or an audit archive in Deep Archive, exactly as the settings say."""

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from stacks.model_quality.settings import ModelQualitySettings
from stacks.common.config import load_settings
from stacks.common.encryption import DataKey
from stacks.model_quality.storage import QualityStorage, capture_expiry_days
from tests.construct_app import new_app


def raw_rules(**settings):
    config = load_settings(
        {"profile": "production", **{f"kit:{k}": v for k, v in settings.items()}}, ModelQualitySettings
    )
    stack = cdk.Stack(new_app(), "RawRetentionStack")
    QualityStorage(
        stack,
        "Storage",
        settings=config,
        encryption_key=DataKey(stack, "Key", common=config.common, description="test"),
    )
    buckets = Template.from_stack(stack).find_resources("AWS::S3::Bucket")
    return {
        logical_id: rule
        for logical_id, bucket in buckets.items()
        for rule in bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        if rule["Id"] == "ExpireRawData"
    }


def kept_days(name, retention):
    """Ground truth is kept the retention setting; raw capture until the run that extracts it has ended."""
    capture = capture_expiry_days(ModelQualitySettings.for_profile("production"))
    return capture if name.startswith("StorageCapture") else retention


def test_without_an_archive_raw_data_expires_after_the_retention():
    rules = raw_rules(quality_raw_retention_days=4)
    assert len(rules) == 2 and all(name.startswith(("StorageCapture", "StorageGroundTruth")) for name in rules)
    for name, rule in rules.items():
        assert rule["ExpirationInDays"] == kept_days(name, 4) and "Transitions" not in rule
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 1}
    assert {rule["ExpirationInDays"] for rule in rules.values()} == {1, 4}


@pytest.mark.parametrize(("retention", "expiry"), [(3, 365), (5, 185)])
def test_the_audit_archive_moves_raw_data_to_deep_archive_then_expires_it(retention, expiry):
    # An archive keeps raw capture anyway: hourly extraction would delete nothing (settings refuse the pair).
    rules = raw_rules(
        quality_raw_retention_days=retention, quality_raw_archive_expiry_days=expiry, quality_hourly_extract=False
    )
    assert len(rules) == 2
    for name, rule in rules.items():
        assert rule["Transitions"] == [{"StorageClass": "DEEP_ARCHIVE", "TransitionInDays": kept_days(name, retention)}]
        assert rule["ExpirationInDays"] == expiry


def test_raw_buckets_are_unversioned_with_a_reason_and_the_results_stay_versioned():
    config = ModelQualitySettings.for_profile("production")
    stack = cdk.Stack(new_app(), "RawVersioningStack")
    storage = QualityStorage(
        stack,
        "Storage",
        settings=config,
        encryption_key=DataKey(stack, "Key", common=config.common, description="test"),
    )
    buckets = Template.from_stack(stack).find_resources("AWS::S3::Bucket")

    def versioning(bucket):
        return buckets[stack.get_logical_id(bucket.node.default_child)]["Properties"].get("VersioningConfiguration")

    assert versioning(storage.capture_bucket) is None and versioning(storage.ground_truth_bucket) is None
    assert versioning(storage.results_bucket) == {"Status": "Enabled"}
    for bucket in (storage.capture_bucket, storage.ground_truth_bucket):
        skips = bucket.node.default_child.get_metadata("checkov")["skip"]
        assert any(skip["id"] == "CKV_AWS_21" and "write-once" in skip["comment"] for skip in skips)
