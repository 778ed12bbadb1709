"""The model-quality architecture as one construct: storage, the job, its daily run, alarms, Athena, QuickSight."""

from __future__ import annotations

from aws_cdk import Annotations, CfnOutput, Stack
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..common.acknowledgments import acknowledge
from ..common.encryption import DataKey
from ..common.redeploy import redeploy_settings_output
from .alarms import QualityAlarms
from .dashboard import QualityDashboard
from .hourly import HourlyExtractRun
from .job import PrCurveJob
from .orchestration import DailyQualityRun
from .query_layer import ResultsCatalog
from .settings import ModelQualitySettings
from .storage import CAPTURE_PREFIX, QualityStorage

DEFAULT_ENDPOINT_NAME = "churn-endpoint"


class ModelQualityMonitor(Construct):
    """Daily precision-recall of an endpoint's captured predictions, from S3 to a QuickSight dashboard.

    Props (defaults): `settings` (`ModelQualitySettings`: `quality_*`, `quicksight_*` and the common ones); `endpoint_name`
    ("churn-endpoint": the metrics dimension, and the capture folder the job reads); `capture_bucket`
    (None: a new bucket) and `capture_prefix` ("data-capture") for an existing endpoint's capture location;
    `variant_name` (None: every variant of the endpoint); `encryption_key` (None: a new DataKey).
    Exposes `key`, `storage`, `job`, `run`, `hourly` (None without quality_hourly_extract), `alarms`, `catalog`,
    `dashboard` (None without a QuickSight owner),
    and `capture_uri` for an endpoint's DataCaptureConfig.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        endpoint_name: str = DEFAULT_ENDPOINT_NAME,
        capture_bucket: s3.IBucket | None = None,
        capture_prefix: str = CAPTURE_PREFIX,
        variant_name: str | None = None,
        encryption_key: DataKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.key = encryption_key or DataKey(
            self, "DataKey", common=settings.common, description="Model-quality captures, labels, results and logs"
        )
        self.storage = QualityStorage(
            self,
            "Storage",
            settings=settings,
            encryption_key=self.key,
            capture_bucket=capture_bucket,
            capture_prefix=capture_prefix,
        )
        self.job = PrCurveJob(self, "PrCurveJob", settings=settings, encryption_key=self.key, storage=self.storage)
        self.run = DailyQualityRun(
            self,
            "DailyRun",
            settings=settings,
            encryption_key=self.key,
            storage=self.storage,
            job=self.job,
            endpoint_name=endpoint_name,
            variant_name=variant_name,
        )
        # Hourly extraction (quality_hourly_extract): None when off.
        self.hourly = (
            HourlyExtractRun(
                self,
                "HourlyRun",
                settings=settings,
                encryption_key=self.key,
                storage=self.storage,
                job=self.job,
                run=self.run,
            )
            if settings.quality_hourly_extract
            else None
        )
        self.alarms = QualityAlarms(self, "Alarms", settings=settings, run=self.run, endpoint_name=endpoint_name)
        self.catalog = ResultsCatalog(
            self,
            "ResultsCatalog",
            encryption_key=self.key,
            storage=self.storage,
            database_name=settings.quality_existing_database or None,
            existing_database=bool(settings.quality_existing_database),
            database_removal_policy=settings.common.removal_policy,
        )
        self.dashboard = None
        if settings.quicksight_owner_arn:
            self.dashboard = QualityDashboard(
                self,
                "Dashboard",
                settings=settings,
                encryption_key=self.key,
                storage=self.storage,
                catalog=self.catalog,
            )
            # The dashboard is a resource of the stack's region; the console opens it at that region's address,
            # whatever the identity region of its users (https://docs.aws.amazon.com/quicksight/latest/user/regions.html).
            CfnOutput(
                self,
                "DashboardUrl",
                description="Open the dashboard in the QuickSight console of its region",
                value=f"https://{Stack.of(self).region}.quicksight.aws.amazon.com/sn/dashboards/"
                f"{self.dashboard.dashboard.dashboard_id}",
            )
        elif settings.quicksight_warn_unconfigured:
            # An app that builds the monitor itself may also acknowledge it on the construct:
            # Annotations.of(monitor).acknowledge_warning("kit:quicksight-not-configured", "<reason>").
            Annotations.of(self).add_warning_v2(
                "kit:quicksight-not-configured",
                "No QuickSight dashboard: set -c kit:quicksight_owner_arn=arn:aws:quicksight:<identity-region>:"
                "<account>:user/default/<name> (and -c kit:quicksight_viewer_group_arn=... for read-only viewers, "
                "-c kit:quicksight_identity_region=<region>) once the account has a QuickSight subscription, or "
                "-c kit:quicksight_warn_unconfigured=false if you do not want one.",
            )
        acknowledge(
            self,
            "The kit's roles hold least-privilege statements that CDK grants write as each role's own default "
            "policy; an inline policy belongs to exactly one role, which is what this rule protects.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        storage = self.storage
        kept_key = storage.kept_key or self.key
        redeploy_settings_output(
            self,
            settings.common,
            {
                "quality_existing_key_arn": kept_key.key_arn,
                # With a capture_bucket of the caller's, the setting is not read; printed so the settings stay whole.
                "quality_existing_capture_bucket": storage.capture_bucket.bucket_name,
                "quality_existing_ground_truth_bucket": storage.ground_truth_bucket.bucket_name,
                "quality_existing_results_bucket": storage.results_bucket.bucket_name,
                "quality_existing_database": self.catalog.database_name,
            },
        )
        CfnOutput(
            self,
            "CaptureUri",
            value=self.capture_uri,
            description="DataCaptureConfig.DestinationS3Uri for the monitored endpoint",
        )
        CfnOutput(
            self,
            "NotificationTopicArn",
            value=self.run.topic.topic_arn,
            description="Subscribe to receive run failures and alarms",
        )
        CfnOutput(
            self,
            "StateMachineArn",
            value=self.run.state_machine.state_machine_arn,
            description='Start with {"date": "YYYY-MM-DD"} to score a day by hand',
        )

    @property
    def capture_uri(self) -> str:
        return self.storage.capture_uri
