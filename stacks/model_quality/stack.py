"""A thin stack around the construct, for `cdk deploy`."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from ..common.logs import give_cdk_providers_log_groups
from ..common.tags import apply_standard_tags
from .monitor import DEFAULT_ENDPOINT_NAME, ModelQualityMonitor
from .settings import ARCHITECTURE, ModelQualitySettings


class ModelQualityStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        endpoint_name: str = DEFAULT_ENDPOINT_NAME,
    ) -> None:
        super().__init__(
            scope, construct_id, description="Daily model-quality (precision-recall) dashboard (ML and analytics kit)"
        )
        apply_standard_tags(self, settings.common, architecture=ARCHITECTURE)
        self.monitor = ModelQualityMonitor(self, "Monitor", settings=settings, endpoint_name=endpoint_name)
        give_cdk_providers_log_groups(self, common=settings.common, encryption_key=self.monitor.key)
        # What `make smoke` reads (tools/smoke): where labels and results go, how to query them, what to look up.
        monitor = self.monitor
        CfnOutput(self, "GroundTruthBucketName", value=monitor.storage.ground_truth_bucket.bucket_name)
        CfnOutput(self, "ResultsBucketName", value=monitor.storage.results_bucket.bucket_name)
        CfnOutput(self, "ResultsDatabaseName", value=monitor.catalog.database_name)
        CfnOutput(self, "AthenaWorkGroupName", value=monitor.catalog.workgroup_name)
        CfnOutput(self, "PrCurveApplicationId", value=monitor.job.application.attr_application_id)
        CfnOutput(
            self,
            "MetricsEndpointName",
            value=endpoint_name,
            description="The Endpoint dimension of the MlKit/ModelQuality metrics",
        )
