"""What a stack that keeps its data on destroy prints, so the next deploy can re-attach it."""

from __future__ import annotations

from typing import Mapping

from aws_cdk import CfnOutput
from constructs import Construct

from .config import OVERRIDE_PREFIX, CommonSettings


def redeploy_settings_output(scope: Construct, common: CommonSettings, kept: Mapping[str, str]) -> CfnOutput | None:
    """The `-c kit:<setting>=<value>` flags that re-attach what a destroy keeps (`kept`: setting name to the kept
    resource's name or ARN), as the output `RedeploySettings`; None in a profile that destroys its data."""
    if not common.retain_data:
        return None
    return CfnOutput(
        scope,
        "RedeploySettings",
        value=" ".join(f"-c {OVERRIDE_PREFIX}{name}={value}" for name, value in kept.items()),
        description="Kept on destroy: pass these to the deploy that follows a destroy to re-attach them",
    )
