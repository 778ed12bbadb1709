"""Log groups with the kit's defaults: KMS-encrypted, retention and removal from the profile."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from .acknowledgments import acknowledge
from .config import CommonSettings
from .encryption import DataKey


class EncryptedLogGroup(logs.LogGroup):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common: CommonSettings,
        encryption_key: DataKey,
        log_group_name: str | None = None,
    ) -> None:
        encryption_key.allow_cloudwatch_logs()
        super().__init__(
            scope,
            construct_id,
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            retention=common.log_retention,
            removal_policy=common.removal_policy,
        )
        if common.log_retention_days < 365:
            acknowledge(
                self,
                f"Profile {common.profile!r} keeps logs {common.log_retention_days} days to stay cheap and "
                "destroyable; the production profile keeps them 365 (kit:log_retention_days).",
                "cloudwatch_log_group_retention_period_check",
            )


def aws_sdk_calls_log_group(scope: Construct, *, common: CommonSettings, encryption_key: DataKey) -> logs.ILogGroup:
    """The log group of the stack's AwsCustomResource function, one per stack like the function itself: pass it as
    `log_group` to every AwsCustomResource. Without it the function's logs depend on the app's feature flags
    (`@aws-cdk/aws-lambda:useCdkManagedLogGroup`: an unencrypted group kept two years, or one kept forever)."""
    stack = Stack.of(scope)
    existing = stack.node.try_find_child("AwsSdkCallsLogGroup")
    if isinstance(existing, logs.LogGroup):
        return existing
    return EncryptedLogGroup(stack, "AwsSdkCallsLogGroup", common=common, encryption_key=encryption_key)
