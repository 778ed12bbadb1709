"""The namespace's default IAM role: what Redshift (COPY) and Redshift ML (SageMaker training) may do."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..common.acknowledgments import acknowledge


class RedshiftMlRole(iam.Role):
    """Trusts Redshift and SageMaker. Least privilege after the Redshift ML admin guide's restrictive
    policy, narrowed further: SageMaker jobs and their logs only where the name contains "redshift",
    S3 only on the given bucket, KMS only on the given key. Never AmazonSageMakerFullAccess."""

    def __init__(self, scope: Construct, construct_id: str, *, bucket: s3.IBucket, encryption_key: kms.IKey) -> None:
        super().__init__(
            scope,
            construct_id,
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift.amazonaws.com"), iam.ServicePrincipal("sagemaker.amazonaws.com")
            ),
            description="Default role of the Redshift ML namespace: COPY from the ML bucket and SageMaker training",
        )
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        self.add_to_policy(
            iam.PolicyStatement(
                sid="SageMakerJobsNamedRedshift",
                actions=[
                    "sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob",
                    "sagemaker:CreateAutoMLJob", "sagemaker:DescribeAutoMLJob", "sagemaker:StopAutoMLJob",
                    "sagemaker:ListCandidatesForAutoMLJob",
                    "sagemaker:CreateCompilationJob", "sagemaker:DescribeCompilationJob", "sagemaker:StopCompilationJob",
                    "sagemaker:CreateHyperParameterTuningJob", "sagemaker:DescribeHyperParameterTuningJob",
                    "sagemaker:StopHyperParameterTuningJob",
                    "sagemaker:AddTags",
                ],
                resources=[
                    f"{arn}:training-job/*redshift*",
                    f"{arn}:automl-job/*redshift*",
                    f"{arn}:compilation-job/*redshift*",
                    f"{arn}:hyper-parameter-tuning-job/*redshift*",
                ],
            )
        )
        self.add_to_policy(
            iam.PolicyStatement(
                sid="SageMakerJobLogs",
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                resources=[f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:/aws/sagemaker/*"],
            )
        )
        self.add_to_policy(
            iam.PolicyStatement(
                sid="SageMakerJobMetrics",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        self.add_to_policy(
            iam.PolicyStatement(
                sid="SageMakerBuiltInImages",
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[f"arn:{stack.partition}:ecr:{stack.region}:*:repository/*"],
            )
        )
        self.add_to_policy(iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        # SageMaker runs the training job with this same role.
        self.add_to_policy(iam.PolicyStatement(sid="PassOwnRoleToSageMaker", actions=["iam:PassRole"], resources=[self.role_arn]))
        bucket.grant_read_write(self)
        encryption_key.grant(self, "kms:CreateGrant", "kms:DescribeKey")
        encryption_key.grant_encrypt_decrypt(self)
        stack_name_free = "arn:<AWS::Partition>"
        acknowledge(
            self,
            "Scoped as far as the services allow: SageMaker jobs and log groups by the 'redshift' name the "
            "Redshift ML guide requires; built-in algorithm images live in AWS-owned accounts per region; "
            "ecr:GetAuthorizationToken has no resource and cloudwatch:PutMetricData is limited by namespace.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::{stack_name_free}:ecr:<AWS::Region>:*:repository/*]",
            f"AwsSolutions-IAM5[Resource::{stack_name_free}:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*]",
            *(
                f"AwsSolutions-IAM5[Resource::{stack_name_free}:sagemaker:<AWS::Region>:<AWS::AccountId>:{kind}/*redshift*]"
                for kind in ("training-job", "automl-job", "compilation-job", "hyper-parameter-tuning-job")
            ),
        )
        acknowledge(
            self,
            "Object-level access to the one ML bucket and use of its one KMS key, as CDK's grant methods write "
            "them; Redshift ML creates and deletes its training files under prefixes it chooses.",
            f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(bucket.node.default_child)}.Arn>/*]",
            *(f"AwsSolutions-IAM5[Action::{action}]" for action in (
                "s3:Abort*", "s3:DeleteObject*", "s3:GetBucket*", "s3:GetObject*", "s3:List*",
                "kms:GenerateDataKey*", "kms:ReEncrypt*",
            )),
        )

    def acknowledge_asset_reads(self) -> None:
        """CDK file assets (the sample CSVs) are objects in the bootstrap assets bucket; grant_read names them."""
        acknowledge(
            self,
            "Read access to the CDK bootstrap assets bucket's objects for the sample-data COPY, as CDK's "
            "Asset.grant_read writes it.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>/*]",
        )
