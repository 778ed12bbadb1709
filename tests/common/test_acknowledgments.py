import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs

from stacks.common.acknowledgments import acknowledge, skip_checkov
from tests.conftest import new_app


@pytest.fixture()
def queue():
    return sqs.Queue(cdk.Stack(new_app(), "Stack"), "Queue")


def test_acknowledgment_is_recorded_with_its_reason(queue):
    acknowledge(queue, "A reason that explains why the finding does not apply.", "AwsSolutions-SQS3")
    entries = [m.data for m in queue.node.metadata if m.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
    assert entries and "AwsSolutions-SQS3" in next(iter(entries[0]))
    assert next(iter(entries[0].values())) == "A reason that explains why the finding does not apply."


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_acknowledgment_requires_a_real_reason(queue, reason):
    with pytest.raises(ValueError, match="needs a reason"):
        acknowledge(queue, reason, "AwsSolutions-SQS3")


@pytest.mark.parametrize("rule_id", ["SQS3", "AwsSolutions::SQS3", "aws-solutions-SQS3", "NIST-LambdaDLQ"])
def test_acknowledgment_rejects_ids_cdk_nag_does_not_report(queue, rule_id):
    with pytest.raises(ValueError, match="is not a cdk-nag rule id"):
        acknowledge(queue, "A reason that explains why the finding does not apply.", rule_id)


def test_cfn_guard_rules_are_recorded_under_the_plugin_name_aws_cdk_lib_matches(queue):
    """aws-cdk-lib suppresses another plugin's finding only by '<plugin name>::<rule>'; unprefixed, it would become
    an 'Annotation::' id and the CfnGuard finding would still fail synth."""
    acknowledge(queue, "A reason that explains why the finding does not apply.", "sqs_dlq_check")
    entries = [m.data for m in queue.node.metadata if m.type == cdk.Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
    assert "cdk-validator-cfnguard::sqs_dlq_check" in entries[0]


def test_acknowledgment_needs_a_rule_id(queue):
    with pytest.raises(ValueError, match="names no rule id"):
        acknowledge(queue, "A reason that explains why the finding does not apply.")


def test_granular_rule_ids_are_accepted(queue):
    acknowledge(queue, "A reason that explains why the finding does not apply.", "AwsSolutions-IAM5[Action::s3:Get*]")


def test_checkov_skips_merge_and_replace_by_id(queue):
    resource = queue.node.default_child
    skip_checkov(resource, "CKV_AWS_27", "First reason, long enough to be read.")
    skip_checkov(resource, "CKV_AWS_99", "Another check with its own reason.")
    skip_checkov(resource, "CKV_AWS_27", "Replaced reason, long enough to be read.")
    assert resource.get_metadata("checkov") == {
        "skip": [
            {"id": "CKV_AWS_99", "comment": "Another check with its own reason."},
            {"id": "CKV_AWS_27", "comment": "Replaced reason, long enough to be read."},
        ]
    }


def test_checkov_skip_requires_a_reason(queue):
    with pytest.raises(ValueError, match="needs a reason"):
        skip_checkov(queue.node.default_child, "CKV_AWS_27", "no")
