#!/usr/bin/env python3
"""CDK app of the ML and analytics reference kit.

Loads each architecture's settings for the deployment profile once, adds one thin stack per architecture, and registers the validation
plugins (cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs, and the CfnGuard validator with its bundled
Control Tower proactive controls) so synth fails on any finding that is not acknowledged with a reason.
"""

import sys
from dataclasses import dataclass
from typing import Any, Mapping

import aws_cdk as cdk

from stacks.churn_model.stack import ChurnModelStack, churn_endpoint_name
from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.churn_model.settings import ChurnModelSettings
from stacks.common.config import CommonSettings, ConfigError, load_settings
from stacks.common.validation import validation_plugins
from stacks.model_quality.settings import ModelQualitySettings
from stacks.model_quality.stack import ModelQualityStack
from stacks.redshift_ml.settings import RedshiftMlSettings
from stacks.redshift_ml.stack import RedshiftMlStack

# Every settings class of the app: a `kit:` key none of them reads fails synth.
SETTINGS = (RedshiftMlSettings, ModelQualitySettings, ChurnModelSettings)


@dataclass(frozen=True)
class KitSettings:
    """Each architecture's settings, loaded once from the app's context (all carry the same common settings)."""

    redshift_ml: RedshiftMlSettings
    model_quality: ModelQualitySettings
    churn_model: ChurnModelSettings

    @property
    def common(self) -> CommonSettings:
        return self.redshift_ml.common


def load_kit_settings(context: Mapping[str, Any]) -> KitSettings:
    """The profile's defaults and the `kit:` overrides of every architecture; a key none of them reads fails."""
    return KitSettings(
        redshift_ml=load_settings(context, RedshiftMlSettings, known=SETTINGS),
        model_quality=load_settings(context, ModelQualitySettings, known=SETTINGS),
        churn_model=load_settings(context, ChurnModelSettings, known=SETTINGS),
    )


def build_app(app: cdk.App) -> KitSettings:
    """Add the kit's stacks to `app` for the profile its context selects; tests call this too."""
    settings = load_kit_settings(app.node.get_all_context())
    cdk.Aspects.of(app).add(CdkManagedHelpers())
    add_kit_stacks(app, settings)
    return settings


def add_kit_stacks(app: cdk.App, settings: KitSettings) -> None:
    """One stack per architecture, each named `<environment>-<Architecture>Stack` (no prefix without environment)."""
    name = settings.common.stack_name
    RedshiftMlStack(app, name("RedshiftMlStack"), settings=settings.redshift_ml)
    # The churn endpoint's Data Capture is what the daily model-quality job reads: both need the endpoint's name.
    churn_stack = name("ChurnModelStack")
    endpoint_name = churn_endpoint_name(churn_stack)
    quality = ModelQualityStack(
        app, name("ModelQualityStack"), settings=settings.model_quality, endpoint_name=endpoint_name
    )
    ChurnModelStack(
        app,
        churn_stack,
        settings=settings.churn_model,
        capture_bucket=quality.monitor.storage.capture_bucket,
        capture_prefix=quality.monitor.storage.capture_prefix,
        capture_key=quality.monitor.storage.capture_key,
        endpoint_name=endpoint_name,
    )


def main() -> None:
    app = cdk.App()
    try:
        build_app(app)
    except ConfigError as error:
        sys.exit(f"Invalid kit configuration: {error}")
    # The CfnGuard plugin runs the cfn-guard binary shipped inside its package: no download at synth.
    cdk.Validations.of(app).add_plugins(*validation_plugins(app))
    app.synth()


if __name__ == "__main__":
    main()
