"""Customer-managed KMS key used for every piece of data at rest in an architecture."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .config import CommonSettings


class DataKey(kms.Key):
    """A symmetric KMS key with yearly rotation; removal and deletion window follow the profile."""

    def __init__(self, scope: Construct, construct_id: str, *, common: CommonSettings, description: str) -> None:
        super().__init__(
            scope,
            construct_id,
            description=description,
            enable_key_rotation=True,
            removal_policy=common.removal_policy,
            pending_window=Duration.days(common.key_deletion_window_days),
        )

        # Only AWS services may create grants on the key (Control Tower CT.KMS.PR.3, the CfnGuard plugin's
        # kms_create_grant_aws_service_check, whose fix this statement is:
        # https://docs.aws.amazon.com/controltower/latest/controlreference/kms-rules.html): a principal allowed
        # kms:CreateGrant cannot grant another principal use of the key directly, only through a service that
        # integrates with KMS (SageMaker, Redshift and Lambda create their grants with GrantIsForAWSResource true:
        # https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyGrantsExceptForAwsResources",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["kms:CreateGrant"],
                resources=["*"],
                conditions={
                    "BoolIfExists": {"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}
                },
            )
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

    def allow_service_to_send_encrypted(
        self, service: str, *, sid: str, source_arn: str | None = None, source_account: bool = True
    ) -> None:
        """Let an AWS service publish to a topic or send to a queue that this key encrypts.

        A service principal (CloudWatch alarms, EventBridge rules and dead-letter queues) gets no access to a
        customer-managed key from IAM: only the key policy can give it `kms:GenerateDataKey*` and `kms:Decrypt`
        (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html, "Enable compatibility between event
        sources from AWS services and encrypted topics";
        https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
        `aws:SourceAccount` and `aws:SourceArn` (an ARN pattern) limit it to this account's resources
        (confused-deputy protection); pass `source_account=False` only where the service's page says it does not
        send those keys on its KMS requests.
        """
        stack = Stack.of(self)
        conditions: dict[str, dict[str, str]] = {}
        if source_account:
            conditions["StringEquals"] = {"aws:SourceAccount": stack.account}
        if source_arn is not None:
            conditions["ArnLike"] = {"aws:SourceArn": source_arn}
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=conditions or None,
            )
        )


def grant_create_grant_for_aws_resources(key: kms.IKey, grantee: iam.IGrantable) -> None:
    """Let `grantee` create grants on `key` only for an AWS service acting on its behalf (SageMaker encrypting a
    job's volume or an endpoint's storage), never for an arbitrary principal: the `kms:GrantIsForAWSResource`
    condition (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource)."""
    key.grant(grantee, "kms:DescribeKey")
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )


def existing_key(scope: Construct, construct_id: str, key_arn: str) -> kms.IKey | None:
    """The key a destroyed stack kept (`key_arn`), for reading and writing the buckets it kept; None when not set.

    Grants on it go to the grantees' identity policies, which the kept key's default policy lets act (it trusts the
    account); the stack cannot change its key policy, so what the stack adds to a key policy goes to its new key.
    """
    return kms.Key.from_key_arn(scope, construct_id, key_arn) if key_arn else None
