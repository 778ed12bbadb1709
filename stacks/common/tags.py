"""Tags every kit resource carries, so cost reports and clean-up can find them."""

from __future__ import annotations

from aws_cdk import Tags
from constructs import IConstruct

from .config import CommonSettings

PROJECT_TAG = "ml-analytics-kit"


def apply_standard_tags(scope: IConstruct, common: CommonSettings, architecture: str) -> None:
    tags = Tags.of(scope)
    tags.add("project", PROJECT_TAG)
    tags.add("architecture", architecture)
    tags.add("profile", common.profile)
    tags.add("managed-by", "aws-cdk")
