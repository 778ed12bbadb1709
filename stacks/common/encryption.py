"""Customer-managed KMS key used for every piece of data at rest in an architecture."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .config import KitConfig


class DataKey(kms.Key):
    """A symmetric KMS key with yearly rotation; removal and deletion window follow the profile."""

    def __init__(self, scope: Construct, construct_id: str, *, config: KitConfig, description: str) -> None:
        super().__init__(
            scope,
            construct_id,
            description=description,
            enable_key_rotation=True,
            removal_policy=config.removal_policy,
            pending_window=Duration.days(config.key_deletion_window_days),
        )

    def allow_cloudwatch_logs(self) -> None:
        """Let CloudWatch Logs encrypt this stack's log groups with the key (logs uses the key policy, not IAM)."""
        stack = Stack.of(self)
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                        )
                    }
                },
            )
        )
