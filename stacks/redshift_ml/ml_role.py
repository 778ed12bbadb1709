"""The namespace's default IAM role: what Redshift (COPY) and Redshift ML (SageMaker training) may do."""

from __future__ import annotations


from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from ..common.acknowledgments import acknowledge, acknowledge_bucket_objects
from ..common.encryption import grant_create_grant_for_aws_resources
from ..common.image_registries import registry_account


class RedshiftMlRole(iam.Role):
    """Trusts Redshift Serverless, Redshift and SageMaker. Least privilege after the Redshift ML admin guide's restrictive
    policy, narrowed further: SageMaker jobs and their logs only where the name contains "redshift",
    S3 only on the given bucket, KMS only on the given key. Never AmazonSageMakerFullAccess. With
    `enhanced_vpc_routing`, also the network-interface actions Redshift ML needs to reach S3 and SageMaker through
    the VPC. `allow_model_source` adds what bring-your-own-model needs to read another training job's model."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        enhanced_vpc_routing: bool = False,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            # A Serverless namespace's role must trust redshift-serverless and redshift
            # (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-security-other-services.html); Redshift ML
            # passes it to SageMaker for training, so SageMaker too
            # (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_MODEL.html, prerequisites).
            assumed_by=iam.CompositePrincipal(
                iam.ServicePrincipal("redshift-serverless.amazonaws.com"),
                iam.ServicePrincipal("redshift.amazonaws.com"),
                iam.ServicePrincipal("sagemaker.amazonaws.com"),
            ),
            description="Default role of the Redshift ML namespace: COPY from the ML bucket and SageMaker training",
        )
        stack = Stack.of(self)
        arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}"
        self.add_to_policy(
            iam.PolicyStatement(
                sid="SageMakerJobsNamedRedshift",
                actions=[
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:CreateCompilationJob",
                    "sagemaker:DescribeCompilationJob",
                    "sagemaker:StopCompilationJob",
                    "sagemaker:AddTags",
                ],
                resources=[
                    f"{arn}:training-job/*redshift*",
                    f"{arn}:compilation-job/*redshift*",
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
        # CREATE MODEL ... AUTO OFF MODEL_TYPE XGBOOST trains on SageMaker's built-in XGBoost image, which lives in
        # one AWS-owned registry account per region (the SageMaker SDK's image map, stacks/common/image_registries.json).
        xgboost_registry = registry_account(self, "XGBoost")
        self.add_to_policy(
            iam.PolicyStatement(
                sid="SageMakerBuiltInImages",
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=[f"arn:{stack.partition}:ecr:{stack.region}:{xgboost_registry}:repository/*"],
            )
        )
        self.add_to_policy(iam.PolicyStatement(sid="EcrLogin", actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        # SageMaker runs the training job with this same role.
        self.add_to_policy(
            iam.PolicyStatement(
                sid="PassOwnRoleToSageMaker",
                actions=["iam:PassRole"],
                resources=[self.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            )
        )
        if enhanced_vpc_routing:
            self._allow_network_interfaces()
        bucket.grant_read_write(self)
        grant_create_grant_for_aws_resources(encryption_key, self)
        encryption_key.grant_encrypt_decrypt(self)
        stack_name_free = "arn:<AWS::Partition>"
        acknowledge(
            self,
            "Scoped as far as the services allow: SageMaker jobs and log groups by the 'redshift' name the "
            "Redshift ML guide requires; the built-in XGBoost image's repositories are in the region's one AWS-owned "
            "registry account; "
            "ecr:GetAuthorizationToken has no resource and cloudwatch:PutMetricData is limited by namespace.",
            "AwsSolutions-IAM5[Resource::*]",
            # the registry account as cdk-nag renders the mapping lookup
            f"AwsSolutions-IAM5[Resource::{stack_name_free}:ecr:<AWS::Region>:"
            '{"Fn::FindInMap":["XGBoostImageRegistries",{"Ref":"AWS::Region"},"Account"]}:repository/*]',
            f"AwsSolutions-IAM5[Resource::{stack_name_free}:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/*]",
            *(
                f"AwsSolutions-IAM5[Resource::{stack_name_free}:sagemaker:<AWS::Region>:<AWS::AccountId>:{kind}/*redshift*]"
                for kind in ("training-job", "compilation-job")
            ),
        )
        ml_bucket_reason = (
            "Object-level access to the one ML bucket and use of its one KMS key, as CDK's grant methods write "
            "them; Redshift ML creates and deletes its training files under prefixes it chooses."
        )
        acknowledge_bucket_objects(self, ml_bucket_reason, bucket)
        acknowledge(
            self,
            ml_bucket_reason,
            *(
                f"AwsSolutions-IAM5[Action::{action}]"
                for action in (
                    "s3:Abort*",
                    "s3:DeleteObject*",
                    "s3:GetBucket*",
                    "s3:GetObject*",
                    "s3:List*",
                    "kms:GenerateDataKey*",
                    "kms:ReEncrypt*",
                )
            ),
        )

    def _allow_network_interfaces(self) -> None:
        """With enhanced VPC routing, Redshift creates and deletes network interfaces in the account and attaches them
        to its compilation tasks; the statement is the Redshift ML setup page's (cluster setup for Redshift ML,
        https://docs.aws.amazon.com/redshift/latest/dg/admin-setup.html#cluster-setup). EC2 Describe* actions
        support no resource-level permissions; the others are limited to this account and region."""
        stack = Stack.of(self)
        ec2_arn = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}"
        self.add_to_policy(
            iam.PolicyStatement(
                sid="EnhancedVpcRoutingDescribe",
                actions=[
                    "ec2:DescribeVpcEndpoints",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeNetworkInterfaces",
                ],
                resources=["*"],
            )
        )
        kinds = ("network-interface", "subnet", "security-group")
        self.add_to_policy(
            iam.PolicyStatement(
                sid="EnhancedVpcRoutingNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:ModifyNetworkInterfaceAttribute",
                ],
                resources=[f"{ec2_arn}:{kind}/*" for kind in kinds],
            )
        )
        acknowledge(
            self,
            "Redshift ML creates its network interfaces for enhanced VPC routing itself, with IDs unknown in advance; "
            "limited to this account and region (Describe* has no resource-level permissions).",
            *(
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:{kind}/*]"
                for kind in kinds
            ),
        )

    def allow_model_source(
        self,
        *,
        training_jobs: str,
        artifacts_bucket: s3.IBucket,
        artifacts_prefix: str,
        artifacts_key: kms.IKey | None = None,
    ) -> None:
        """Bring your own model: let `CREATE MODEL ... FROM '<training job>'` describe training jobs named
        `training_jobs` (a name pattern, e.g. "pipelines-*" for SageMaker Pipelines) and read their model artifacts
        under `artifacts_prefix` of `artifacts_bucket`, decrypting with `artifacts_key`."""
        stack = Stack.of(self)
        job_arn = f"arn:{stack.partition}:sagemaker:{stack.region}:{stack.account}:training-job/{training_jobs}"
        self.add_to_policy(iam.PolicyStatement(actions=["sagemaker:DescribeTrainingJob"], resources=[job_arn]))
        artifacts_bucket.grant_read(self, f"{artifacts_prefix}*")
        if artifacts_key is not None:
            artifacts_key.grant_decrypt(self)
        reason = (
            "Bring your own model: the source training jobs are named by their pipeline at run time, and their "
            "model artifacts are objects under one prefix of the source bucket."
        )
        acknowledge(
            self,
            reason,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/{training_jobs}]",
        )
        acknowledge_bucket_objects(self, reason, artifacts_bucket, f"{artifacts_prefix}*")
