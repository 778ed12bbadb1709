"""The churn architecture as one construct: images, artifacts bucket, training pipeline, monitored endpoint."""

from __future__ import annotations

from aws_cdk import CfnOutput
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..common.acknowledgments import acknowledge
from ..common.encryption import DataKey, existing_key
from ..common.names import physical_name
from ..common.redeploy import redeploy_settings_output
from ..common.storage import AccessLogsBucket, SecureBucket, existing_bucket
from .endpoint import ENDPOINT_NAME_MAX_LENGTH, ChurnEndpoint
from .images import SageMakerImages
from .notebook import SageMakerSparkNotebook
from .pipeline import ChurnTrainingPipeline
from .settings import ChurnModelSettings


class ChurnModel(Construct):
    """Spark preprocessing and XGBoost training in a SageMaker pipeline, served on a monitored endpoint.

    Props (defaults): `settings` (`ChurnModelSettings`: `churn_*` and the common ones); `capture_bucket`, `capture_prefix` and `capture_key`: where Data Capture writes
    (the model-quality monitor's capture location; None: a capture folder in this construct's artifacts bucket);
    `input_bucket` (None: the bundled sample only); `endpoint_name`, `pipeline_name` and
    `model_package_group_name` (None: derived from the stack and the path, `stacks.common.names`).
    Exposes `key`, `artifacts_bucket`, `images`, `training` (the pipeline), `endpoint`, `notebook` (None unless
    `churn_notebook`).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ChurnModelSettings,
        capture_bucket: s3.IBucket | None = None,
        capture_prefix: str = "data-capture",
        capture_key: kms.IKey | None = None,
        input_bucket: s3.IBucket | None = None,
        endpoint_name: str | None = None,
        pipeline_name: str | None = None,
        model_package_group_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint_name = endpoint_name or physical_name(self, "Endpoint", max_length=ENDPOINT_NAME_MAX_LENGTH)
        if len(endpoint_name) > ENDPOINT_NAME_MAX_LENGTH:
            raise ValueError(
                f"endpoint_name {endpoint_name!r} is longer than {ENDPOINT_NAME_MAX_LENGTH} characters (the "
                "deployer's model and endpoint-config names add -v<version> within SageMaker's 63)."
            )
        if (capture_bucket is None) != (capture_key is None):
            raise ValueError("Pass capture_bucket and capture_key together (the key that encrypts that bucket).")
        self.key = DataKey(
            self, "DataKey", common=settings.common, description="Churn features, models, captures and logs"
        )
        # A production destroy keeps the artifacts bucket and its key; churn_existing_* re-attach them (the kept
        # bucket still logs to the access-log bucket its stack gave it).
        kept_key = existing_key(self, "KeptDataKey", settings.churn_existing_key_arn)
        self.artifacts_key: kms.IKey = kept_key or self.key
        self.artifacts_bucket = existing_bucket(
            self, "KeptArtifactsBucket", settings.churn_existing_artifacts_bucket, kept_key
        ) or SecureBucket(
            self,
            "ArtifactsBucket",
            common=settings.common,
            encryption_key=self.key,
            access_logs_bucket=AccessLogsBucket(self, "AccessLogsBucket", common=settings.common),
        )
        model_package_group_name = settings.churn_existing_model_package_group or model_package_group_name
        self.images = SageMakerImages(self, "Images")
        self.training = ChurnTrainingPipeline(
            self,
            "TrainingPipeline",
            settings=settings,
            encryption_key=self.key,
            images=self.images,
            artifacts_bucket=self.artifacts_bucket,
            input_bucket=input_bucket,
            pipeline_name=pipeline_name,
            model_package_group_name=model_package_group_name,
            existing_model_package_group=bool(settings.churn_existing_model_package_group),
        )
        self.endpoint = ChurnEndpoint(
            self,
            "Endpoint",
            settings=settings,
            encryption_key=self.key,
            model_package_group_name=self.training.model_package_group_name,
            artifacts_bucket=self.artifacts_bucket,
            capture_bucket=capture_bucket or self.artifacts_bucket,
            capture_prefix=capture_prefix,
            capture_key=capture_key or self.artifacts_key,
            endpoint_name=endpoint_name,
            pipeline_name=self.training.pipeline_name,
        )
        if self.training.model_package_group is not None:
            self.endpoint.node.add_dependency(self.training.model_package_group)
        # Deleted after the endpoint's teardown, which stops its running executions first (DeletePipeline refuses a
        # pipeline with running executions: https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeletePipeline.html).
        self.training.pipeline.node.add_dependency(self.endpoint.teardown)
        self.notebook = None
        if settings.churn_notebook:
            self.notebook = SageMakerSparkNotebook(
                self, "Notebook", settings=settings, encryption_key=self.key, artifacts_bucket=self.artifacts_bucket
            )
        acknowledge(
            self,
            "The kit's roles hold least-privilege statements that CDK grants write as each role's own default "
            "policy; an inline policy belongs to exactly one role, which is what this rule protects.",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )
        CfnOutput(
            self,
            "PipelineName",
            value=self.training.pipeline_name,
            description="aws sagemaker start-pipeline-execution --pipeline-name <this>",
        )
        CfnOutput(
            self,
            "ModelPackageGroupName",
            value=self.training.model_package_group_name,
            description="Approve a package here to deploy it",
        )
        CfnOutput(self, "EndpointName", value=endpoint_name, description="Created on the first approval")
        CfnOutput(self, "CaptureUri", value=self.endpoint.capture_uri, description="Where Data Capture writes")
        CfnOutput(self, "ArtifactsBucketName", value=self.artifacts_bucket.bucket_name)
        CfnOutput(
            self,
            "NotificationTopicArn",
            value=self.endpoint.topic.topic_arn,
            description="Subscribe to receive deployment failures and endpoint alarms",
        )
        redeploy_settings_output(
            self,
            settings.common,
            {
                "churn_existing_key_arn": self.artifacts_key.key_arn,
                "churn_existing_artifacts_bucket": self.artifacts_bucket.bucket_name,
                "churn_existing_model_package_group": self.training.model_package_group_name,
            },
        )
        CfnOutput(
            self,
            "XGBoostImageUri",
            value=self.images.xgboost,
            description="Built-in XGBoost 1.7-1 image of this region (for the sagemaker_pyspark example)",
        )
