"""A thin stack around the construct, for `cdk deploy`."""

from __future__ import annotations

from aws_cdk import CfnOutput, CrossStackReferences, ReferenceStrength, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..common.logs import give_cdk_providers_log_groups
from ..common.tags import apply_standard_tags
from .churn import ChurnModel
from .settings import ARCHITECTURE, ChurnModelSettings


def churn_endpoint_name(stack_name: str) -> str:
    """The endpoint's name for the app that wires the stack to the model-quality monitor: `<stack name>-endpoint`.

    Both stacks need it before the endpoint exists (the deployer creates it). A stack name of at most 41 characters
    (the kit's are, with an environment of at most 20) keeps it within ENDPOINT_NAME_MAX_LENGTH."""
    return f"{stack_name}-endpoint"


class ChurnModelStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ChurnModelSettings,
        capture_bucket: s3.IBucket | None = None,
        capture_prefix: str = "data-capture",
        capture_key: kms.IKey | None = None,
        endpoint_name: str | None = None,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="SageMaker Spark churn model: pipeline, registry, monitored endpoint (ML and analytics kit)",
        )
        apply_standard_tags(self, settings.common, architecture=ARCHITECTURE)
        # What this stack reads from another one (the model-quality capture bucket and its key) is a strong reference,
        # whatever the app's default: an export that CloudFormation will not let the producing stack delete while this
        # stack imports it, so the capture bucket cannot be destroyed while the endpoint still writes to it. A weak
        # one (Fn::GetStackOutput) blocks nothing (aws-cdk-lib README, "Reference strength").
        CrossStackReferences.of(self).consume(ReferenceStrength.STRONG)
        # cfn-lint's W6001 warns that an output imports another stack's output (the CaptureUri output names the
        # capture bucket of the model-quality stack); that import is the strong reference wanted here.
        self.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W6001"]}})
        self.churn = ChurnModel(
            self,
            "Churn",
            settings=settings,
            capture_bucket=capture_bucket,
            capture_prefix=capture_prefix,
            capture_key=capture_key,
            endpoint_name=endpoint_name,
        )
        give_cdk_providers_log_groups(self, common=settings.common, encryption_key=self.churn.key)
        # What `make smoke` reads (tools/smoke): the function whose teardown removes the endpoint it created.
        CfnOutput(self, "DeployerFunctionName", value=self.churn.endpoint.deployer.function_name)
