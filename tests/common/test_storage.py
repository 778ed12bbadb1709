import aws_cdk as cdk
import pytest
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Annotations, Match, Template

from stacks.common.config import CommonSettings
from stacks.common.encryption import DataKey
from stacks.common.storage import SecureBucket
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
    assert {"ExpirationInDays": config.access_log_expiry_days, "Id": "ExpireAccessLogs", "Status": "Enabled"} in (
        properties["LifecycleConfiguration"]["Rules"]
    )


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
