#!/usr/bin/env python3
"""CDK app of the ML and analytics reference kit.

Loads the deployment profile once, adds one thin stack per architecture, and registers the validation
plugins (cdk-nag's AwsSolutions and NIST 800-53 rev 5 packs, and the CfnGuard validator with its bundled
Control Tower proactive controls) so synth fails on any finding that is not acknowledged with a reason.
"""

import sys

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from stacks.churn_model.stack import ChurnModelStack
from stacks.common.acknowledgments import CdkManagedHelpers
from stacks.common.config import ConfigError, KitConfig, load_config
from stacks.model_quality.stack import ModelQualityStack
from stacks.redshift_ml.stack import RedshiftMlStack


def build_app(app: cdk.App) -> KitConfig:
    """Add the kit's stacks to `app` for the profile its context selects; tests call this too."""
    config = load_config(app.node.get_all_context())
    cdk.Aspects.of(app).add(CdkManagedHelpers())
    RedshiftMlStack(app, "RedshiftMlStack", config=config)
    quality = ModelQualityStack(app, "ModelQualityStack", config=config)
    # The churn endpoint's Data Capture is what the daily model-quality job reads.
    ChurnModelStack(
        app,
        "ChurnModelStack",
        config=config,
        capture_bucket=quality.monitor.storage.capture_bucket,
        capture_prefix=quality.monitor.storage.capture_prefix,
        capture_key=quality.monitor.key,
    )
    return config


def main() -> None:
    app = cdk.App()
    try:
        build_app(app)
    except ConfigError as error:
        sys.exit(f"Invalid kit configuration: {error}")
    # CfnGuardValidator runs the cfn-guard binary shipped inside its package: no download at synth.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app), CfnGuardValidator())
    app.synth()


if __name__ == "__main__":
    main()
