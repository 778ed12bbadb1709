"""The kit's standard tags (stacks/common/tags.py): every taggable resource carries them, and a named environment's
resources say which environment they belong to."""

import aws_cdk as cdk
import pytest

from stacks.common.config import CommonSettings
from stacks.common.encryption import DataKey
from stacks.common.logs import EncryptedLogGroup
from stacks.common.storage import AccessLogsBucket, SecureBucket
from stacks.common.tags import ENVIRONMENT_TAG, apply_standard_tags, standard_tags
from tests.construct_app import new_app


def tagged_resources(common: CommonSettings) -> dict[str, dict[str, str]]:
    """Logical id -> tags of every resource with a Tags property, in a stack of the shared constructs."""
    stack = cdk.Stack(new_app(), "Tagged")
    apply_standard_tags(stack, common, architecture="shared")
    key = DataKey(stack, "DataKey", common=common, description="Test data key")
    SecureBucket(
        stack,
        "Data",
        common=common,
        encryption_key=key,
        access_logs_bucket=AccessLogsBucket(stack, "Logs", common=common),
    )
    EncryptedLogGroup(stack, "LogGroup", common=common, encryption_key=key)
    resources = cdk.assertions.Template.from_stack(stack).to_json()["Resources"]
    return {
        logical_id: {tag["Key"]: tag["Value"] for tag in body["Properties"]["Tags"]}
        for logical_id, body in resources.items()
        if "Tags" in body.get("Properties", {})
    }


@pytest.mark.parametrize("environment", ["", "team-a"])
def test_every_taggable_resource_carries_the_standard_tags_and_its_named_environment(environment):
    common = CommonSettings.for_profile("production", environment=environment)
    found = tagged_resources(common)
    assert len(found) >= 4  # key, two buckets, log group
    wanted = standard_tags(common, "shared")
    assert (ENVIRONMENT_TAG in wanted) == bool(environment)
    assert {logical_id: tags for logical_id, tags in found.items() if wanted.items() - tags.items()} == {}
    if not environment:  # the unnamed environment is the one without the tag
        assert not [logical_id for logical_id, tags in found.items() if ENVIRONMENT_TAG in tags]
