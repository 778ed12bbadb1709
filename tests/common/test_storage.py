import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from stacks.common.config import CommonSettings
from stacks.common.encryption import DataKey
from stacks.common.storage import NONCURRENT_VERSION_DAYS, SecureBucket
from tests.construct_app import new_app

AUTO_DELETE_PROVIDER_ID = "Custom::S3AutoDeleteObjectsCustomResourceProvider"


@pytest.fixture(scope="module")
def synthesized(shared_constructs):
    synthesized_app, constructs = shared_constructs
    template = Template.from_stack(constructs.stack)
    return template, constructs, synthesized_app.common


def logical_id(construct):
    return construct.stack.get_logical_id(construct.node.default_child)


def test_data_bucket_uses_the_kms_key_with_bucket_keys(synthesized):
    template, constructs, _ = synthesized
    bucket = template.to_json()["Resources"][logical_id(constructs.bucket)]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {
            "BucketKeyEnabled": True,
            "ServerSideEncryptionByDefault": {
                "KMSMasterKeyID": {"Fn::GetAtt": [logical_id(constructs.key), "Arn"]},
                "SSEAlgorithm": "aws:kms",
            },
        }
    ]


def test_buckets_block_all_public_access_and_enforce_owner(synthesized):
    template, constructs, _ = synthesized
    for bucket in (constructs.bucket, constructs.access_logs):
        properties = template.to_json()["Resources"][logical_id(bucket)]["Properties"]
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


def test_bucket_policies_deny_plain_http_and_old_tls(synthesized):
    template, constructs, _ = synthesized
    for bucket in (constructs.bucket, constructs.access_logs):
        template.has_resource_properties(
            "AWS::S3::BucketPolicy",
            {
                "Bucket": {"Ref": logical_id(bucket)},
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
                            ),
                            Match.object_like(
                                {"Effect": "Deny", "Condition": {"NumericLessThan": {"s3:TlsVersion": 1.2}}}
                            ),
                        ]
                    )
                },
            },
        )


def test_data_bucket_logs_to_the_access_logs_bucket(synthesized):
    template, constructs, _ = synthesized
    properties = template.to_json()["Resources"][logical_id(constructs.bucket)]["Properties"]
    assert properties["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": logical_id(constructs.access_logs)},
        "LogFilePrefix": "DataBucket/",
    }


def test_access_logs_bucket_is_sse_s3_and_expires_logs(synthesized):
    template, constructs, config = synthesized
    properties = template.to_json()["Resources"][logical_id(constructs.access_logs)]["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
    ]
    expire = {"ExpirationInDays": config.access_log_expiry_days, "Id": "ExpireAccessLogs", "Status": "Enabled"}
    if config.versioned_buckets:
        expire["NoncurrentVersionExpiration"] = {"NoncurrentDays": NONCURRENT_VERSION_DAYS}
    assert expire in properties["LifecycleConfiguration"]["Rules"]


def test_incomplete_multipart_uploads_are_aborted(synthesized):
    template, constructs, _ = synthesized
    for bucket in (constructs.bucket, constructs.access_logs):
        rules = template.to_json()["Resources"][logical_id(bucket)]["Properties"]["LifecycleConfiguration"]["Rules"]
        assert {
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            "Id": "AbortIncompleteMultipartUploads",
            "Status": "Enabled",
        } in rules


def test_versioning_removal_and_auto_delete_follow_the_profile(synthesized):
    template, constructs, config = synthesized
    resources = template.to_json()["Resources"]
    expected_policy = "Retain" if config.retain_data else "Delete"
    for bucket in (constructs.bucket, constructs.access_logs):
        resource = resources[logical_id(bucket)]
        assert resource["DeletionPolicy"] == expected_policy
        versioning = resource["Properties"].get("VersioningConfiguration")
        assert versioning == ({"Status": "Enabled"} if config.versioned_buckets else None)
    auto_delete = template.find_resources("Custom::S3AutoDeleteObjects")
    assert len(auto_delete) == (0 if config.retain_data else 2)
    assert (constructs.stack.node.try_find_child(AUTO_DELETE_PROVIDER_ID) is None) == config.retain_data


def test_resources_carry_the_standard_tags(synthesized):
    template, constructs, config = synthesized
    tags = template.to_json()["Resources"][logical_id(constructs.bucket)]["Properties"]["Tags"]
    assert {"Key": "profile", "Value": config.profile} in tags
    assert {"Key": "project", "Value": "ml-analytics-kit"} in tags
    assert {"Key": "architecture", "Value": "shared"} in tags


def test_data_bucket_logging_to_an_imported_bucket_warns_that_its_policy_is_yours():
    """An imported access-log bucket's policy cannot be changed here: the bucket still logs there, and a warning says
    the grant is the owner's to add."""
    config = CommonSettings.for_profile("sandbox")
    stack = cdk.Stack(new_app(), "ImportedLogTarget")
    target = s3.Bucket.from_bucket_name(stack, "ExistingLogs", "existing-access-logs")
    SecureBucket(
        stack,
        "Data",
        common=config,
        access_logs_bucket=target,
        encryption_key=DataKey(stack, "Key", common=config, description="test"),
    )
    Template.from_stack(stack).has_resource_properties(
        "AWS::S3::Bucket",
        {"LoggingConfiguration": {"DestinationBucketName": "existing-access-logs", "LogFilePrefix": "Data/"}},
    )
    Annotations.from_stack(stack).has_warning(
        "/ImportedLogTarget/Data", Match.string_like_regexp("logging.s3.amazonaws.com s3:PutObject on Data/\\*")
    )


@pytest.mark.parametrize("versioned", [True, False])
def test_expiring_rules_of_a_versioned_bucket_expire_old_versions_and_delete_markers(versioned):
    """A caller's expiring rule gets a noncurrent-version expiration (its own one kept) and a delete-marker rule for
    its prefix when the bucket is versioned; an unversioned bucket gets the rules as given."""
    config = CommonSettings.for_profile("production")
    stack = cdk.Stack(new_app(), "Versioned")
    bucket = SecureBucket(
        stack,
        "Data",
        common=config,
        access_logs_bucket=s3.Bucket.from_bucket_name(stack, "Logs", "access-logs"),
        encryption_key=DataKey(stack, "Key", common=config, description="test"),
        versioned=versioned,
        unversioned_reason="An unversioned bucket for this test.",
        lifecycle_rules=[
            s3.LifecycleRule(
                id="ExpireScratch", prefix="scratch/", expiration=Duration.days(3), object_size_greater_than=1
            ),
            s3.LifecycleRule(
                id="ExpireRuns",
                prefix="runs/",
                expiration=Duration.days(90),
                noncurrent_version_expiration=Duration.days(30),
            ),
            s3.LifecycleRule(id="KeepModels", noncurrent_version_expiration=Duration.days(30)),
        ],
    )
    rules = Template.from_stack(stack).to_json()["Resources"][logical_id(bucket)]["Properties"]
    rules = rules["LifecycleConfiguration"]["Rules"]
    scratch = {
        "Id": "ExpireScratch",
        "Prefix": "scratch/",
        "ExpirationInDays": 3,
        "ObjectSizeGreaterThan": 1,
        "Status": "Enabled",
    }
    runs = {
        "Id": "ExpireRuns",
        "Prefix": "runs/",
        "ExpirationInDays": 90,
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
        "Status": "Enabled",
    }
    markers = [
        {"Id": f"{rule}DeleteMarkers", "Prefix": prefix, "ExpiredObjectDeleteMarker": True, "Status": "Enabled"}
        for rule, prefix in (("ExpireScratch", "scratch/"), ("ExpireRuns", "runs/"))
    ]
    if versioned:
        scratch["NoncurrentVersionExpiration"] = {"NoncurrentDays": NONCURRENT_VERSION_DAYS}
    assert scratch in rules and runs in rules
    assert [rule for rule in rules if "ExpiredObjectDeleteMarker" in rule] == (markers if versioned else [])
    assert len(rules) == 4 + (2 if versioned else 0)
