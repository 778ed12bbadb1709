"""Every request the kit's pipelines and state machines write that creates a taggable resource carries the kit's tags
(issue 29: runtime resources lacked the tags the docs' cost check searches for). The Lambda functions' requests are
checked as their tests make them (tests/lambdas/conftest.py)."""

from __future__ import annotations

import copy
import json

import pytest

from stacks.common.tags import ENVIRONMENT_TAG
from tools.contracts.api_shapes import api_calls
from tools.contracts.tagging import KIT_TAG_KEYS, missing_kit_tags, tag_member, tags_of
from tools.synthesis import synthesize, templates

# The taggable requests the kit writes today, so that the check cannot pass by finding none.
TAGGED = {
    ("sagemaker", "CreateProcessingJob"),
    ("sagemaker", "CreateTrainingJob"),
    ("emr-serverless", "StartJobRun"),
}


def stack_tags(template: dict, logical_id: str) -> dict[str, str]:
    """The kit's tags of the resource that holds the request, or of the first resource with them (a custom
    resource has no Tags property): its stack's tags."""
    resources = template["Resources"]
    for resource in (resources[logical_id], *resources.values()):
        tags = tags_of(resource.get("Properties", {}).get("Tags"))
        if set(KIT_TAG_KEYS) <= set(tags):
            return {key: tags[key] for key in (*KIT_TAG_KEYS, ENVIRONMENT_TAG) if key in tags}
    raise AssertionError(f"No resource of the template carries the kit's tags {KIT_TAG_KEYS}.")


def untagged(stack_templates: dict[str, dict]) -> dict[str, list[str]]:
    found = {}
    for call in api_calls(stack_templates):
        stack, logical_id = call.where.split(" ")[0].split("/")
        expected = stack_tags(stack_templates[stack], logical_id) if tag_member(call.service, call.operation) else {}
        if missing := missing_kit_tags(call.service, call.operation, call.params, expected):
            found[call.where] = missing
    return found


def test_every_request_that_creates_a_taggable_resource_carries_the_stacks_tags(kit_app):
    stack_templates = templates(kit_app.assembly)
    taggable = {
        (call.service, call.operation)
        for call in api_calls(stack_templates)
        if tag_member(call.service, call.operation)
    }
    assert TAGGED <= taggable
    assert untagged(stack_templates) == {}


def test_in_a_named_environment_every_taggable_request_carries_its_environment_tag():
    """Two environments of one profile in one account: what each creates at run time says which it belongs to, as
    its stacks' resources do, so the leftover report of one never lists the other's."""
    stack_templates = templates(synthesize("sandbox", {"kit:environment": "team-a"}))
    expected = {
        where: stack_tags(stack_templates[where.split(" ")[0].split("/")[0]], where.split(" ")[0].split("/")[1])
        for call in api_calls(stack_templates)
        if tag_member(call.service, call.operation)
        for where in [call.where]
    }
    assert len(expected) >= len(TAGGED)
    assert all(tags.get(ENVIRONMENT_TAG) == "team-a" for tags in expected.values()), expected
    assert untagged(stack_templates) == {}
    # A request that lacks it, where the stack has it, is found.
    kit = {"project": "ml-analytics-kit", "architecture": "churn-model", "profile": "sandbox", "managed-by": "aws-cdk"}
    assert missing_kit_tags("emr-serverless", "StartJobRun", {"tags": kit}, {**kit, ENVIRONMENT_TAG: "team-a"}) == [
        ENVIRONMENT_TAG
    ]


def test_a_job_run_without_tags_fails(kit_app):
    """Today's defect: the model-quality state machine started its job runs untagged."""
    stack_templates = copy.deepcopy(templates(kit_app.assembly))
    template = stack_templates["ModelQualityStack"]
    [(logical_id, machine)] = [
        (lid, r)
        for lid, r in template["Resources"].items()
        if r["Type"] == "AWS::StepFunctions::StateMachine" and "startJobRun" in json.dumps(r) and "DailyRun" in lid
    ]
    text = json.dumps(machine)
    assert '\\"Tags\\":{' in text
    start = text.index('\\"Tags\\":{')
    machine = json.loads(text[:start] + '\\"Unrelated\\":{' + text[start + len('\\"Tags\\":{') :])
    template["Resources"][logical_id] = machine
    assert list(untagged(stack_templates)) == [f"ModelQualityStack/{logical_id} state RunPrCurveJob"]


@pytest.mark.parametrize(
    "service, operation, member",
    [
        ("sagemaker", "CreateEndpoint", "Tags"),
        ("sagemaker", "CreateModel", "Tags"),
        ("emr-serverless", "StartJobRun", "tags"),
        ("sagemaker", "AddTags", None),  # tags an existing resource
        ("sagemaker", "CreateModelPackage", None),  # a versioned package uses its group's tags
        ("sagemaker", "UpdateEndpoint", None),  # creates nothing
        ("sns", "Publish", None),
    ],
)
def test_which_requests_take_tags_comes_from_the_service_model(service, operation, member):
    assert tag_member(service, operation) == member


def test_a_request_with_other_tags_or_another_projects_tags_fails():
    kit = {"project": "ml-analytics-kit", "architecture": "churn-model", "profile": "sandbox", "managed-by": "aws-cdk"}
    as_list = [{"Key": k, "Value": v} for k, v in kit.items()]
    assert missing_kit_tags("sagemaker", "CreateEndpoint", {"Tags": as_list}) == []
    assert missing_kit_tags("sagemaker", "CreateEndpoint", {"Tags": [{"Key": "kit:endpoint", "Value": "e"}]}) == list(
        KIT_TAG_KEYS
    )
    assert missing_kit_tags("sagemaker", "CreateEndpoint", {"Tags": [*as_list[1:], {"Key": "project", "Value": "x"}]})
    assert missing_kit_tags("emr-serverless", "StartJobRun", {"tags": kit}) == []
    assert missing_kit_tags("emr-serverless", "StartJobRun", {"Tags": kit}, {**kit, "profile": "production"}) == [
        "profile"
    ]
    assert missing_kit_tags("sagemaker", "UpdateEndpoint", {}) == []
