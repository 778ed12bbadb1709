"""Stops the EMR Serverless application before CloudFormation updates or deletes it (both need it stopped)."""

from __future__ import annotations

import hashlib
import json
from typing import cast

from aws_cdk import CfnElement, CfnResource, CustomResource, Duration, Stack
from aws_cdk import aws_emrserverless as emrserverless
from aws_cdk import aws_iam as iam
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..common.acknowledgments import acknowledge, skip_checkov
from ..common.config import CommonSettings
from ..common.encryption import DataKey
from ..common.functions import KitFunction, bundled_code
from ..common.logs import EncryptedLogGroup

# The Provider framework's onEvent function waits for the handler up to Lambda's 15 minutes; the handler stops
# waiting a minute before its own timeout so its failure reaches CloudFormation.
HANDLER_TIMEOUT = Duration.minutes(14)


class ApplicationStop(Construct):
    """Two custom resources around `application`, served by one handler (lambdas/emr_application):

    - `before_update`: the application depends on it, so CloudFormation updates it first; its `Fingerprint`
      changes with the application's properties (as given when this construct is created: create it after the
      application is configured), so it stops the application (after running job runs finish) exactly when
      CloudFormation is about to update it.
    - `on_delete`: it refers to the application, so CloudFormation deletes it before the application (reverse
      dependency order); it cancels active job runs and stops the application.

    UpdateApplication and DeleteApplication require CREATED or STOPPED
    (https://docs.aws.amazon.com/emr-serverless/latest/APIReference/API_UpdateApplication.html,
    https://docs.aws.amazon.com/emr-serverless/latest/APIReference/API_DeleteApplication.html).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        application: emrserverless.CfnApplication,
        common: CommonSettings,
        encryption_key: DataKey,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        function = KitFunction(
            self,
            "Function",
            common=common,
            encryption_key=encryption_key,
            code=bundled_code("emr_application"),
            handler="application_stop.handler",
            description="Stops the EMR Serverless application before CloudFormation updates or deletes it",
            timeout=HANDLER_TIMEOUT,
        )
        application_arn = stack.format_arn(
            service="emr-serverless", resource="/applications", resource_name=application.attr_application_id
        )
        # A policy of its own, not the role's default policy: the function depends on its default policy, and a
        # Ref to the application there would make `before_update` (which the application depends on) depend on
        # the application. Resource types: Service Authorization Reference, list_amazonemrserverless.html
        # (GetApplication, ListJobRuns, StopApplication: application; CancelJobRun: jobRun).
        policy = iam.Policy(
            self,
            "StopPolicy",
            roles=[cast(iam.IRole, function.role)],
            statements=[
                iam.PolicyStatement(
                    sid="StopApplication",
                    actions=[
                        "emr-serverless:GetApplication",
                        "emr-serverless:ListJobRuns",
                        "emr-serverless:StopApplication",
                    ],
                    resources=[application_arn],
                ),
                iam.PolicyStatement(
                    sid="CancelJobRuns",
                    actions=["emr-serverless:CancelJobRun"],
                    resources=[f"{application_arn}/jobruns/*"],
                ),
                iam.PolicyStatement(
                    sid="FindApplication",
                    # DescribeStacks too: whether an Update is a failed update's rollback (application_stop.py).
                    actions=["cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"],
                    resources=[
                        stack.format_arn(
                            service="cloudformation", resource="stack", resource_name=f"{stack.stack_name}/*"
                        )
                    ],
                ),
            ],
        )
        acknowledge(
            policy,
            "Job runs are cancelled by id, which only exists at run time (jobruns/* under this one application); "
            "the stack's id ends in a generated suffix.",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:emr-serverless:<AWS::Region>:<AWS::AccountId>:"
            f"/applications/<{stack.get_logical_id(application)}.ApplicationId>/jobruns/*]",
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:<AWS::AccountId>:"
            f"stack/{stack.stack_name}/*]",
        )
        provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=function,
            log_group=EncryptedLogGroup(self, "ProviderLogGroup", common=common, encryption_key=encryption_key),
            provider_function_env_encryption=encryption_key,
        )
        on_event = cast(CfnResource, provider.node.find_child("framework-onEvent").node.default_child)
        acknowledge(
            provider,
            "CDK-managed Provider framework function: CloudFormation invokes it for the application's stop custom "
            "resources; it calls the stop function, relays its answer to CloudFormation (a failure fails the stack "
            "event, so nothing is lost without a dead-letter queue) and may invoke just that function.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(cast(CfnElement, function.node.default_child))}.Arn>:*]",
            "AwsSolutions-L1",
            "NIST.800.53.R5-LambdaConcurrency",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaInsideVPC",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "lambda_inside_vpc_check",
        )
        for check_id in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
            skip_checkov(
                on_event,
                check_id,
                "CDK-managed Provider framework function: it relays the stop function's answer to "
                "CloudFormation, which records any failure on the stack.",
            )
        self.before_update = CustomResource(
            self,
            "BeforeUpdate",
            service_token=provider.service_token,
            resource_type="Custom::EmrServerlessStopBeforeUpdate",
            properties={
                "Phase": "BeforeUpdate",
                "ApplicationLogicalId": stack.get_logical_id(application),
                "Fingerprint": fingerprint(stack.resolve(application._cfn_properties)),
            },
        )
        application.node.add_dependency(self.before_update)
        self.on_delete = CustomResource(
            self,
            "OnDelete",
            service_token=provider.service_token,
            resource_type="Custom::EmrServerlessStopOnDelete",
            properties={"Phase": "OnDelete", "ApplicationId": application.attr_application_id},
        )
        # Deleted before its permissions (reverse dependency order).
        self.on_delete.node.add_dependency(policy)


def fingerprint(properties: dict[str, object]) -> str:
    """A digest of the application's properties except its tags (tagging does not need a stopped application)."""
    relevant = {key: value for key, value in properties.items() if key != "tags"}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]
