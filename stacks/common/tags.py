"""Tags every kit resource carries, so cost reports and clean-up can find them."""

from __future__ import annotations

from aws_cdk import Tags
from constructs import IConstruct

from .config import CommonSettings

PROJECT_TAG = "ml-analytics-kit"


def standard_tags(common: CommonSettings, architecture: str) -> dict[str, str]:
    """The kit's tags; also for what its workflows create at run time (jobs, job runs), which stack tags miss."""
    return {"project": PROJECT_TAG, "architecture": architecture, "profile": common.profile, "managed-by": "aws-cdk"}


def apply_standard_tags(scope: IConstruct, common: CommonSettings, architecture: str) -> None:
    tags = Tags.of(scope)
    for key, value in standard_tags(common, architecture).items():
        tags.add(key, value)
