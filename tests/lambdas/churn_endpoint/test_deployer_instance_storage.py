"""Endpoint configs for types with local NVMe storage carry no KmsKeyId: CreateEndpointConfig would fail."""

import dataclasses

import pytest

from stacks.churn_model import instance_storage
from tests.lambdas.churn_endpoint.test_deployer import ENV, SETTINGS, deployer

TYPES = [
    "ml.m5d.large",
    "ml.c5d.xlarge",
    "ml.g4dn.xlarge",
    "ml.g5.2xlarge",
    "ml.m5.large",
    "ml.t2.medium",
    "ml.c5.xlarge",
]


@pytest.mark.parametrize("instance_type", ["ml.m5d.large", "ml.g4dn.xlarge", "ml.p4d.24xlarge"])
def test_an_endpoint_type_with_instance_storage_gets_no_volume_key(instance_type):
    request = deployer.endpoint_config(
        dataclasses.replace(SETTINGS, instance_type=instance_type), "churn-v1-00000000-1", "churn-v1", 1
    )
    assert request["ProductionVariants"][0]["InstanceType"] == instance_type
    assert "KmsKeyId" not in request
    assert request["DataCaptureConfig"]["KmsKeyId"] == ENV["CAPTURE_KEY_ARN"]


def test_an_ebs_backed_endpoint_type_keeps_the_volume_key():
    request = deployer.endpoint_config(
        dataclasses.replace(SETTINGS, instance_type="ml.m5.large"), "churn-v1-00000000-1", "churn-v1", 1
    )
    assert request["KmsKeyId"] == ENV["VOLUME_KEY_ARN"]


def test_the_lambda_copy_of_the_family_rule_matches_the_stacks_module():
    assert deployer.INSTANCE_STORE_FAMILY_PREFIXES == instance_storage.INSTANCE_STORE_FAMILY_PREFIXES
    for instance_type in TYPES:
        assert deployer.has_instance_storage(instance_type) == instance_storage.has_instance_storage(instance_type)
