"""Tags every kit resource carries, so cost reports and clean-up can find them."""

from __future__ import annotations

from aws_cdk import Tags
from constructs import IConstruct

from .config import CommonSettings

PROJECT_TAG = "ml-analytics-kit"
# The `environment` setting, on every resource of a named environment only: no name leaves the tag off, so its absence
# marks the unnamed environment, which no value could (every value is a valid environment name), resources created
# before the tag existed are found like the unnamed ones, and a deployment without environment sees no change. Named
# after the setting, so it never collides with an `environment` tag of your own.
ENVIRONMENT_TAG = "kit:environment"


def standard_tags(common: CommonSettings, architecture: str) -> dict[str, str]:
    """The kit's tags; also for what its workflows create at run time (jobs, job runs), which stack tags miss."""
    tags = {"project": PROJECT_TAG, "architecture": architecture, "profile": common.profile, "managed-by": "aws-cdk"}
    if common.environment:
        tags[ENVIRONMENT_TAG] = common.environment
    return tags


def apply_standard_tags(scope: IConstruct, common: CommonSettings, architecture: str) -> None:
    tags = Tags.of(scope)
    for key, value in standard_tags(common, architecture).items():
        tags.add(key, value)
