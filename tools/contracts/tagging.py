"""Resources the kit creates at run time carry its standard tags, like the stack's own resources.

Stack tags reach only what CloudFormation creates; a job, job run, model or endpoint that a pipeline, a state machine
or a Lambda function creates is tagged only by its own request. Which requests can carry tags is read from the
botocore service model: a creating operation (Create*, Start*, Run*) whose input shape has a `Tags`/`tags` member.
The docs' cost check and `make smoke`'s leftover report find resources by these tags (stacks/common/tags.py).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Mapping, cast

from stacks.common.config import CommonSettings
from stacks.common.tags import ENVIRONMENT_TAG, PROJECT_TAG, standard_tags

from .api_shapes import operation_model

CREATING_PREFIXES = ("Create", "Start", "Run")
TAG_MEMBERS = ("Tags", "tags")
# The keys of the kit's tags, whatever the profile and architecture; a named environment adds ENVIRONMENT_TAG.
KIT_TAG_KEYS = tuple(standard_tags(cast(CommonSettings, SimpleNamespace(profile="any", environment="")), "any"))
# Requests that accept tags but must not carry them, with the page that says so.
EXEMPT = {
    # "If you supply ModelPackageGroupName, your model package belongs to the model group you specify and uses the tags
    # associated with the model group. In this case, you cannot supply a tag argument."
    # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html)
    ("sagemaker", "CreateModelPackage"),
}


def tag_member(service: str, operation: str) -> str | None:
    """The member of a creating request that takes tags; None when the operation creates nothing or takes none."""
    if not operation.startswith(CREATING_PREFIXES) or "Tag" in operation or (service, operation) in EXEMPT:
        return None
    shape = operation_model(service, operation).input_shape
    if shape is None:
        return None
    return next((name for name in TAG_MEMBERS if name in shape.members), None)


def tags_of(value: Any) -> dict[str, Any]:
    """A Tags member as a dict: a list of {Key, Value} (SageMaker) or a map (EMR Serverless)."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list):
        return {tag.get("Key"): tag.get("Value") for tag in value if isinstance(tag, Mapping)}
    return {}


def missing_kit_tags(
    service: str, operation: str, params: Mapping[str, Any], expected: Mapping[str, str] | None = None
) -> list[str]:
    """The kit's tag keys the request lacks (or carries with another value than `expected`, or, without
    `expected`, a project tag other than the kit's), ENVIRONMENT_TAG among them where `expected` has it; [] for a
    request that takes no tags."""
    member = tag_member(service, operation)
    if member is None:
        return []
    # Step Functions spells every member in PascalCase; `Tags.$` would be a run-time value, which the kit does not use.
    tags = tags_of(params.get(member, params.get(member[:1].upper() + member[1:])))
    wanted: Mapping[str, Any] = expected if expected is not None else {"project": PROJECT_TAG}
    return [
        key
        for key in (*KIT_TAG_KEYS, *([ENVIRONMENT_TAG] if ENVIRONMENT_TAG in wanted else []))
        if key not in tags or (key in wanted and tags[key] != wanted[key]) or not isinstance(tags[key], str)
    ]
