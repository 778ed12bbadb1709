"""Log groups with the kit's defaults: KMS-encrypted, retention and removal from the profile."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnResource, CustomResourceProviderBase, RemovalPolicy, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from .acknowledgments import acknowledge
from .config import CommonSettings
from .encryption import DataKey


# For log groups whose name an AWS service dictates (SageMaker's /aws/sagemaker/Endpoints/<endpoint>): the kit
# creates them so they expire and are encrypted, and destroys them with the stack so a redeploy can create them again.
SERVICE_NAMED = RemovalPolicy.DESTROY


class EncryptedLogGroup(logs.LogGroup):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common: CommonSettings,
        encryption_key: DataKey,
        log_group_name: str | None = None,
        removal_policy: RemovalPolicy | None = None,
    ) -> None:
        """`removal_policy` defaults to the profile's; a group whose name a service fixes is destroyed with the
        stack in every profile instead (`SERVICE_NAMED`), since a retained one makes the next deploy fail with
        "already exists"."""
        encryption_key.allow_cloudwatch_logs()
        super().__init__(
            scope,
            construct_id,
            log_group_name=log_group_name,
            encryption_key=encryption_key,
            retention=common.log_retention,
            removal_policy=removal_policy or common.removal_policy,
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


def give_cdk_providers_log_groups(scope: Construct, *, common: CommonSettings, encryption_key: DataKey) -> None:
    """Point the stack's CDK singleton custom-resource providers (S3 auto-delete objects, the default security group's
    restriction) at one kit log group. Without it they log to /aws/lambda/<function>, which Lambda creates on the
    first run: kept forever, not encrypted with the kit's key, and left behind by destroy. Their role's
    AWSLambdaBasicExecutionRole may write to any group; Lambda's LoggingConfig.LogGroup names the group
    (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-loggroups.html). Call it after the
    constructs that create them (a bucket with auto_delete_objects, a VPC that restricts its default group)."""
    stack = Stack.of(scope)
    providers = [child for child in stack.node.find_all() if isinstance(child, CustomResourceProviderBase)]
    if not providers:
        return
    log_group = stack.node.try_find_child("CdkProvidersLogGroup")
    if not isinstance(log_group, logs.LogGroup):
        log_group = EncryptedLogGroup(stack, "CdkProvidersLogGroup", common=common, encryption_key=encryption_key)
    for provider in providers:
        handler = cast(CfnResource, provider.node.find_child("Handler"))
        handler.add_property_override("LoggingConfig.LogGroup", log_group.log_group_name)
