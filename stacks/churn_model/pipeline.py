"""The churn training pipeline: an `AWS::SageMaker::Pipeline`, its role, code, sample data and model registry."""

from __future__ import annotations

from aws_cdk import Aws, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

import datagen.churn
from ..common.acknowledgments import (
    GRANT_ACTION_FINDINGS,
    acknowledge,
    acknowledge_bucket_objects,
    skip_cfn_lint,
)
from ..common.assets import grant_asset_read
from ..common.encryption import DataKey, grant_create_grant_for_aws_resources
from ..common.generated import generated_directory
from ..common.tags import standard_tags
from ..common.functions import PROJECT_ROOT
from ..common.names import physical_name
from .images import SageMakerImages
from .pipeline_definition import PipelineInputs, build_definition
from .settings import ARCHITECTURE, ChurnModelSettings

SAMPLE_ROWS = 20_000


class ChurnTrainingPipeline(Construct):
    """Spark preprocessing, XGBoost training, evaluation and conditional registration, with no cluster to manage.

    Props (defaults): `pipeline_name` and `model_package_group_name` (None: derived from the stack and the path,
    `stacks.common.names`, so copies of the construct never share one);
    `artifacts_bucket` (features, models and evaluations of every run); `input_bucket` (None: only the bundled
    sample CSV, the `InputDataUri` default, is readable; pass the bucket that holds your data).
    `existing_model_package_group` (False): register into a group of that name that exists (one a production
    destroy kept) instead of creating it.
    Exposes `role` (the pipeline's and its jobs' execution role), `pipeline`, `model_package_group` (None with an
    existing group), `sample_data`, `pipeline_name`, `model_package_group_name`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ChurnModelSettings,
        encryption_key: DataKey,
        images: SageMakerImages,
        artifacts_bucket: s3.IBucket,
        input_bucket: s3.IBucket | None = None,
        pipeline_name: str | None = None,
        model_package_group_name: str | None = None,
        existing_model_package_group: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # Names: a letter or digit, then letters, digits and hyphens, at most 63 characters for the group
        # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackageGroup.html); the pipeline
        # allows 256 (API_CreatePipeline.html), kept at 63 too. The group carries no description: it is create-only,
        # and a group keeps its name across upgrades (it holds the registered models).
        self.pipeline_name = pipeline_name or physical_name(self, "Pipeline", max_length=63)
        self.model_package_group_name = model_package_group_name or physical_name(
            self, "ModelPackageGroup", max_length=63
        )
        pipeline_name, model_package_group_name = self.pipeline_name, self.model_package_group_name
        # A production destroy keeps the group (its fixed name would fail the next deploy's create): with
        # `existing_model_package_group` the pipeline registers into the kept one instead of creating it.
        self.model_package_group: sagemaker.CfnModelPackageGroup | None = None
        if not existing_model_package_group:
            self.model_package_group = sagemaker.CfnModelPackageGroup(
                self, "ModelPackageGroup", model_package_group_name=model_package_group_name
            )
            self.model_package_group.apply_removal_policy(settings.common.removal_policy)
        self.role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Runs the churn pipeline and its processing and training jobs",
        )
        directory = generated_directory(
            self,
            "churn",
            generator=datagen.churn,
            params={"rows": SAMPLE_ROWS},
            write=lambda folder: datagen.churn.generate(folder / "churn.csv", rows=SAMPLE_ROWS),
        )
        self.sample_data = s3_assets.Asset(self, "SampleData", path=str(directory / "churn.csv"))
        preprocess = s3_assets.Asset(self, "PreprocessCode", path=str(PROJECT_ROOT / "spark_jobs/churn/preprocess.py"))
        evaluate = s3_assets.Asset(self, "EvaluateCode", path=str(PROJECT_ROOT / "processing_jobs/churn/evaluate.py"))
        # The code goes in as S3Prefix processing inputs, and Spark reads the sample data through its S3 file system.
        for asset in (self.sample_data, preprocess, evaluate):
            grant_asset_read(asset, self.role, listed=True)
        artifacts_bucket.grant_read_write(self.role)
        if input_bucket is not None:
            input_bucket.grant_read(self.role)
        encryption_key.grant_encrypt_decrypt(self.role)
        # SageMaker encrypts job volumes with the key through grants it creates for the role.
        grant_create_grant_for_aws_resources(encryption_key, self.role)
        self._grant_sagemaker(pipeline_name, model_package_group_name)
        reason = (
            "Spark and the jobs list, read, write and overwrite whole run folders of the artifacts bucket (and "
            "read the input bucket, if given); CDK grants on one bucket and one key produce these wildcards; "
            "of the CDK assets bucket it reads only the objects of its code and sample data."
        )
        acknowledge(self.role, reason, *GRANT_ACTION_FINDINGS)
        for bucket in filter(None, (artifacts_bucket, input_bucket)):
            acknowledge_bucket_objects(self.role, reason, bucket)
        if self.model_package_group is not None:
            skip_cfn_lint(
                self.model_package_group,
                "E3006",
                "cfn-lint checks every region; SageMaker model registries "
                "exist wherever the pipeline's images do, and the template's SupportedRegion rule stops a "
                "deployment anywhere else.",
            )

        inputs = PipelineInputs(
            role_arn=self.role.role_arn,
            spark_image=images.spark_processing,
            xgboost_image=images.xgboost,
            artifacts_bucket=artifacts_bucket.bucket_name,
            kms_key_arn=encryption_key.key_arn,
            preprocess_code_uri=preprocess.s3_object_url,
            preprocess_file=_file_name(preprocess),
            evaluate_code_uri=evaluate.s3_object_url,
            evaluate_file=_file_name(evaluate),
            model_package_group=model_package_group_name,
            default_input_uri=self.sample_data.s3_object_url,
            processing_instance_type=settings.churn_processing_instance_type,
            processing_instance_count=settings.churn_processing_instance_count,
            training_instance_type=settings.churn_training_instance_type,
            endpoint_instance_type=settings.churn_endpoint_instance_type,
            min_auc=settings.churn_min_auc,
            approval_status="Approved" if settings.churn_auto_approve else "PendingManualApproval",
            tags=tuple(standard_tags(settings.common, ARCHITECTURE).items()),
        )
        self.definition = build_definition(inputs)
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            role_arn=self.role.role_arn,
            pipeline_display_name=pipeline_name,
            pipeline_description="Churn: Spark features, XGBoost, AUC gate, registry",
            pipeline_definition={"PipelineDefinitionBody": stack.to_json_string(self.definition)},
        )
        self.pipeline.node.add_dependency(self.role)
        if self.model_package_group is not None:
            self.pipeline.node.add_dependency(self.model_package_group)

    def _grant_sagemaker(self, pipeline_name: str, group_name: str) -> None:
        arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RunPipelineJobs",
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                # Pipelines name their jobs pipelines-<execution id>-<step>-<suffix>.
                resources=[f"{arn}:processing-job/pipelines-*", f"{arn}:training-job/pipelines-*"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="RegisterModels",
                actions=["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
                resources=[f"{arn}:model-package/{group_name}/*", f"{arn}:model-package-group/{group_name}"],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="TrackRunsInExperiments",
                actions=[
                    "sagemaker:CreateExperiment",
                    "sagemaker:CreateTrial",
                    "sagemaker:DescribeExperiment",
                    "sagemaker:DescribeTrial",
                    "sagemaker:AssociateTrialComponent",
                    "sagemaker:AddTags",
                ],
                resources=[
                    f"{arn}:experiment/{pipeline_name}*",
                    f"{arn}:experiment-trial/*",
                    f"{arn}:experiment-trial-component/*",
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="PassOwnRoleToJobs",
                actions=["iam:PassRole"],
                resources=[self.role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="JobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/{kind}Jobs:*"
                    for kind in ("Processing", "Training")
                ],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="JobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        acknowledge(
            self.role,
            "Scoped by name: jobs to the pipelines-* names SageMaker Pipelines gives them, packages to this group, "
            "experiments to this pipeline, logs to SageMaker's job log groups; PutMetricData has no resource type "
            "and is limited to SageMaker's namespaces; S3 and KMS wildcards come from CDK grants on one bucket and key.",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:processing-job/pipelines-*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/pipelines-*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/{group_name}/*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:experiment/{pipeline_name}*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:experiment-trial/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:experiment-trial-component/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/ProcessingJobs:*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*]",
        )


def _file_name(asset: s3_assets.Asset) -> str:
    """The file name a processing input gives the asset: the last part of its object key."""
    key = asset.s3_object_key
    if Token.is_unresolved(key):
        raise ValueError(
            "The churn pipeline needs a stack synthesizer with literal asset object keys "
            "(the default synthesizer has them)."
        )
    return key.rsplit("/", 1)[-1]
