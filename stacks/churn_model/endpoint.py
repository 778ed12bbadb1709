"""The monitored real-time endpoint: approval rule -> deployer Lambda -> endpoint with Data Capture."""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import Aws, CfnElement, CfnResource, CustomResource, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from ..common.acknowledgments import GRANT_ACTION_FINDINGS, acknowledge, acknowledge_bucket_objects, skip_checkov
from ..common.config import email_addresses
from ..common.encryption import DataKey, grant_create_grant_for_aws_resources
from ..common.functions import KitFunction, bundled_code
from ..common.logs import SERVICE_NAMED, EncryptedLogGroup
from ..common.names import physical_name
from ..common.notifications import NotificationTopic
from ..common.tags import standard_tags
from .settings import ARCHITECTURE, ChurnModelSettings

VARIANT_NAME = "AllTraffic"
# Endpoint, model and endpoint-config names allow 63 characters
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html, API_CreateModel.html).
# The deployer names a config `<endpoint>-v<version>-<8 hex settings digest>-<instance count>`: with versions up to
# 999 and up to 100 instances (churn_endpoint_max_instances' bound) the suffix takes 18 of them.
CONFIG_NAME_SUFFIX_MAX = len("-v999-") + 8 + len("-100")
ENDPOINT_NAME_MAX_LENGTH = 63 - CONFIG_NAME_SUFFIX_MAX
# The teardown's polling (one deployer call per poll) and its bound, inside CloudFormation's one hour.
TEARDOWN_POLL = Duration.seconds(30)
TEARDOWN_TIMEOUT = Duration.minutes(55)
# Endpoint states that end an update without serving it (the event's spelling of the API's Failed and
# UpdateRollbackFailed).
FAILED_ENDPOINT_STATES = ("FAILED", "UPDATE_ROLLBACK_FAILED")


class ChurnEndpoint(Construct):
    """Deploys each approved model package of the group to `endpoint_name`, capturing requests and responses.

    Props: `model_package_group_name`; `artifacts_bucket` (model artifacts); `capture_bucket` and
    `capture_prefix` (where Data Capture writes: the model-quality job's input) with `capture_key` (the key that
    bucket uses); `endpoint_name` (None: derived from the stack and the path, at most ENDPOINT_NAME_MAX_LENGTH);
    `pipeline_name` (None: the training pipeline whose running executions the stack's deletion stops first; the
    pipeline must depend on `teardown` so it is deleted after it). Sizes come from the profile's `churn_endpoint_*`
    settings; `churn_idle_hours` > 0 adds the idle guard. Exposes `model_role`, `deployer`, `approval_rule`, `error_alarm`,
    `deploy_failed_alarm`,
    `topic`, `dead_letters`, `idle_guard` (None when off), `capture_uri`, `teardown` (the custom resource that
    applies changed endpoint settings to the running endpoint and deletes it with the stack).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ChurnModelSettings,
        encryption_key: DataKey,
        model_package_group_name: str,
        artifacts_bucket: s3.IBucket,
        capture_bucket: s3.IBucket,
        capture_prefix: str,
        capture_key: kms.IKey,
        endpoint_name: str | None = None,
        pipeline_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        endpoint_name = endpoint_name or physical_name(self, "Endpoint", max_length=ENDPOINT_NAME_MAX_LENGTH)
        arn = f"arn:{Aws.PARTITION}:sagemaker:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        # Rules have literal names; alarms are named by the topic (the names its policies allow).
        # Rule names: at most 64 characters (AWS::Events::Rule Name); the longest suffix is model-package-changed.
        rule_prefix = f"{physical_name(self, max_length=42)}-"
        self.capture_uri = capture_bucket.s3_url_for_object(capture_prefix.strip("/"))
        self.topic = NotificationTopic(
            self,
            "NotificationTopic",
            encryption_key=encryption_key,
            email_addresses=email_addresses(settings.churn_notification_emails),
            warn_without_subscriber=settings.common.profile == "production",
            subscriber_setting="churn_notification_emails",
        )

        # The model's role: read its artifact, write captures (SageMaker writes them with this role).
        self.model_role = iam.Role(
            self,
            "ModelRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"Serves the churn model on {endpoint_name}",
        )
        artifacts_bucket.grant_read(self.model_role, "runs/*")
        encryption_key.grant_decrypt(self.model_role)
        capture_bucket.grant_put(self.model_role, f"{capture_prefix.strip('/')}/*")
        capture_key.grant_encrypt(self.model_role)
        self.model_role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws/sagemaker/"
                    f"Endpoints/{endpoint_name}:*"
                ],
            )
        )
        reason = (
            "The model reads its artifact under runs/ and writes capture files under the capture prefix (one "
            "object per batch, names chosen by SageMaker); the log group is the endpoint's own; action "
            "wildcards come from CDK grants on these buckets and keys."
        )
        acknowledge(
            self.model_role,
            reason,
            *GRANT_ACTION_FINDINGS,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:"
            f"/aws/sagemaker/Endpoints/{endpoint_name}:*]",
        )
        acknowledge_bucket_objects(self.model_role, reason, artifacts_bucket, "runs/*")
        acknowledge_bucket_objects(self.model_role, reason, capture_bucket, f"{capture_prefix.strip('/')}/*")

        # Blue/green updates roll back when the new fleet answers with server errors.
        self.error_alarm = cloudwatch.Alarm(
            self,
            "ErrorAlarm",
            alarm_name=self.topic.alarm_name(f"{endpoint_name}-invocation-errors"),
            metric=cloudwatch.Metric(
                namespace="AWS/SageMaker",
                metric_name="Invocation5XXErrors",
                dimensions_map={"EndpointName": endpoint_name, "VariantName": VARIANT_NAME},
                statistic="Sum",
                period=Duration.minutes(1),
            ),
            threshold=1,
            # 2 of 2 one-minute periods: a deployment rolls back on sustained server errors, not on a single one.
            evaluation_periods=2,
            datapoints_to_alarm=2,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # notBreaching: SageMaker publishes no point for a minute without invocations (or without endpoint).
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="The churn endpoint returns server errors; a blue/green update in progress rolls back.",
        )
        self.topic.notify_on(self.error_alarm)
        # SageMaker reads the rollback alarm as the endpoint's execution role during a blue/green deployment: "Ensure
        # that your IAM execution role has permission to perform the cloudwatch:DescribeAlarms action on the
        # auto-rollback alarms you specify" (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
        self.model_role.add_to_policy(
            iam.PolicyStatement(
                sid="ReadRollbackAlarm", actions=["cloudwatch:DescribeAlarms"], resources=[self.error_alarm.alarm_arn]
            )
        )

        self.dead_letters = dead_letters = sqs.Queue(
            self,
            "DeployerDeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        # EventBridge sends undeliverable events to the queue, and the endpoint-failed notice to the topic, with the
        # key (key policy only). Its KMS requests carry no aws:SourceAccount/aws:SourceArn ("not supported for
        # EventBridge-to-encrypted topics", https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html; the
        # SQS guide's statement for event sources has none either), so a statement conditioned on them would drop
        # every dead letter and notice. Who may send is limited by the queue policy CDK adds and the topic policy
        # statement of the failed-endpoint rule, each with the rule's aws:SourceArn
        # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rule-dlq.html).
        encryption_key.allow_service_to_send_encrypted(
            "events.amazonaws.com", sid="EventBridgeDeadLettersOfChurnRules", source_account=False
        )
        acknowledge(
            dead_letters,
            "This queue is itself the deployer's dead-letter queue; a queue behind it would "
            "only move the same failed events once more.",
            "sqs_dlq_check",
        )
        # What the endpoint's configs are made of: the deployer's environment and the properties of the endpoint's
        # custom resource, so a changed value sends it an Update that rolls the value out to the running endpoint.
        endpoint_settings = {
            "INSTANCE_TYPE": settings.churn_endpoint_instance_type,
            "INSTANCE_COUNT": str(settings.churn_endpoint_instance_count),
            "MAX_INSTANCES": str(settings.churn_endpoint_max_instances),
            "INVOCATIONS_PER_INSTANCE": str(settings.churn_invocations_per_instance),
            "CAPTURE_URI": self.capture_uri,
            "CAPTURE_PERCENT": str(settings.churn_capture_percent),
            "CAPTURE_KEY_ARN": capture_key.key_arn,
            "VOLUME_KEY_ARN": encryption_key.key_arn,
        }
        self.deployer = KitFunction(
            self,
            "DeployerFunction",
            common=settings.common,
            encryption_key=encryption_key,
            code=bundled_code("churn_endpoint"),
            handler="deployer.handler",
            description="Deploys approved churn models to the endpoint with Data Capture; scales and tears down",
            timeout=Duration.seconds(60),
            dead_letter_queue=dead_letters,
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "VARIANT_NAME": VARIANT_NAME,
                "MODEL_PACKAGE_GROUP": model_package_group_name,
                "MODEL_ROLE_ARN": self.model_role.role_arn,
                **endpoint_settings,
                "ROLLBACK_ALARM": self.error_alarm.alarm_name,
                "DELETE_MODEL_PACKAGES": "false" if settings.common.retain_data else "true",
                "TOPIC_ARN": self.topic.topic_arn,
                # The deployer creates no endpoint while this stack is being deleted.
                "STACK_ID": Stack.of(self).stack_id,
                **({"PIPELINE_NAME": pipeline_name} if pipeline_name else {}),
                # Stack tags miss what the deployer creates at run time (models, endpoint configs, the endpoint).
                "KIT_TAGS": json.dumps(standard_tags(settings.common, ARCHITECTURE), sort_keys=True),
            },
        )
        # Notices of a rolled-back update and of a queued package that was rejected (its role: Publish and the key).
        self.topic.grant_publish(self.deployer)
        # Lambda sends failed asynchronous events to the queue with the function's role: SendMessage and the key.
        dead_letters.grant_send_messages(self.deployer)
        self._grant_deployer(
            settings, arn, endpoint_name, model_package_group_name, encryption_key, capture_key, pipeline_name
        )
        self.deploy_failed_alarm = cloudwatch.Alarm(
            self,
            "DeployFailedAlarm",
            alarm_name=self.topic.alarm_name(f"{endpoint_name}-deploy-failed"),
            # 5 minutes: SQS publishes queue metrics every 5 minutes; a dead letter is worth a notice at once.
            metric=dead_letters.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # notBreaching: no point is no queue activity, i.e. no dead letter.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="A model approval could not be deployed (or the idle guard failed); the event is in "
            "the dead-letter queue and the endpoint keeps its previous model.",
        )
        self.topic.notify_on(self.deploy_failed_alarm)

        # Every status change of the group's packages: the deployer deploys a package whose approval changed to
        # Approved and is Completed, and forgets a package that left Approved (so approving it again redeploys).
        self.approval_rule = events.Rule(
            self,
            "ModelApprovedRule",
            rule_name=f"{rule_prefix}model-package-changed",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": [model_package_group_name]},
            ),
            description="Deploy churn model packages whose approval changed to Approved",
        )
        self.approval_rule.add_target(
            targets.LambdaFunction(self.deployer, retry_attempts=2, dead_letter_queue=dead_letters)
        )
        # Back in service: deploy an approval that arrived during an update (it can outlast Lambda's ~3 minutes of
        # asynchronous retries), then register auto scaling when configured.
        events.Rule(
            self,
            "EndpointInServiceRule",
            rule_name=f"{rule_prefix}in-service",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Endpoint State Change"],
                detail={"EndpointName": [endpoint_name], "EndpointStatus": ["IN_SERVICE"]},
            ),
            description="Deploy a waiting churn approval and register auto scaling once the endpoint is in service",
        ).add_target(targets.LambdaFunction(self.deployer, retry_attempts=2, dead_letter_queue=dead_letters))

        self._failure_notices(endpoint_name, rule_prefix)

        # Deleting the stack deletes the endpoint the function created (an endpoint bills by the hour). Through
        # the Provider framework a raised error fails the delete with its message
        # (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html). The deployer is
        # also the isComplete handler: the delete completes only once the endpoint is gone, so the model role and
        # the key it uses stay until then; a Creating or Updating endpoint is waited out first. CloudFormation waits
        # for a custom resource at most an hour (ServiceTimeout, 3600 s:
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudformation-customresource.html),
        # so the framework gives up a little earlier with its own "Operation timed out".
        provider = cr.Provider(
            self,
            "EndpointTeardownProvider",
            on_event_handler=self.deployer,
            is_complete_handler=self.deployer,
            query_interval=TEARDOWN_POLL,
            total_timeout=TEARDOWN_TIMEOUT,
            log_group=EncryptedLogGroup(
                self, "EndpointTeardownProviderLogGroup", common=settings.common, encryption_key=encryption_key
            ),
            disable_waiter_state_machine_logging=False,
            waiter_state_machine_log_options=cr.LogOptions(
                destination=EncryptedLogGroup(
                    self, "EndpointTeardownWaiterLogGroup", common=settings.common, encryption_key=encryption_key
                ),
                level=sfn.LogLevel.ALL,
            ),
            provider_function_env_encryption=encryption_key,
        )
        framework_ids = {
            name: Stack.of(self).get_logical_id(cast(CfnElement, provider.node.find_child(name).node.default_child))
            for name in ("framework-onEvent", "framework-isComplete", "framework-onTimeout")
        }
        acknowledge(
            provider,
            "CDK-managed Provider framework: CloudFormation invokes its functions for the teardown custom resource; "
            "they call the deployer function (onEvent, then isComplete every 30 s from the waiter state machine), "
            "relay its answer to CloudFormation (a failure or the timeout fails the stack event, so nothing is "
            "lost without a dead-letter queue) and may invoke just those functions (and their versions). The "
            "waiter logs to its own encrypted log group; Step Functions log delivery actions have no resource type "
            "(https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html), and the waiter's only task is "
            "a retried Lambda invocation, which its log records without X-Ray.",
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(cast(CfnElement, self.deployer.node.default_child))}.Arn>:*]",
            f"AwsSolutions-IAM5[Resource::<{framework_ids['framework-isComplete']}.Arn>:*]",
            f"AwsSolutions-IAM5[Resource::<{framework_ids['framework-onTimeout']}.Arn>:*]",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-SF2",
            "step_functions_state_machine_tracing_enabled_check",
            "AwsSolutions-L1",
            "NIST.800.53.R5-LambdaConcurrency",
            "NIST.800.53.R5-LambdaDLQ",
            "NIST.800.53.R5-LambdaInsideVPC",
            "NIST.800.53.R5-IAMNoInlinePolicy",
            "lambda_inside_vpc_check",
        )
        waiter_role = provider.node.find_child("waiter-state-machine").node.find_child("Role")
        # The framework's waiter role trusts states.amazonaws.com without conditions; pin it to this account's state
        # machines as CDK's StateMachine does (a Ref to the waiter would be a cycle)
        # (https://docs.aws.amazon.com/step-functions/latest/dg/cross-service-confused-deputy-prevention.html).
        cast(CfnResource, waiter_role.node.default_child).add_property_override(
            "AssumeRolePolicyDocument.Statement.0.Condition",
            {
                "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                "ArnLike": {
                    "aws:SourceArn": f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:*"
                },
            },
        )
        waiter_policy = waiter_role.node.find_child("DefaultPolicy")
        skip_checkov(
            cast(CfnResource, waiter_policy.node.default_child),
            "CKV_AWS_111",
            "CDK-managed waiter role: Step Functions log delivery actions (logs:CreateLogDelivery and the like) have "
            "no resource type (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html); the rest is "
            "scoped to the framework's functions.",
        )
        for name in framework_ids:
            framework = cast(CfnResource, provider.node.find_child(name).node.default_child)
            for check_id in ("CKV_AWS_115", "CKV_AWS_116", "CKV_AWS_117"):
                skip_checkov(
                    framework,
                    check_id,
                    "CDK-managed Provider framework function: it relays the deployer's "
                    "teardown answer to CloudFormation, which records any failure on the stack.",
                )
        # Its properties are the endpoint settings: a changed one sends an Update, which the deployer applies to the
        # running endpoint (a new config, then UpdateEndpoint). The logical id stays: a new one would replace the
        # resource, and the old one's Delete would tear the endpoint down.
        self.teardown = teardown = CustomResource(
            self,
            "EndpointTeardown",
            service_token=provider.service_token,
            resource_type="Custom::ChurnEndpointTeardown",
            properties={"EndpointSettings": endpoint_settings},
        )
        teardown.node.add_dependency(self.deployer)
        # The endpoint's log group, which SageMaker would create on first start with no expiry and no key, and
        # which would outlive the stack (https://docs.aws.amazon.com/sagemaker/latest/dg/logging-cloudwatch.html).
        # The teardown depends on it, so it is deleted only after the endpoint is gone (reverse dependency order)
        # and the endpoint cannot recreate it.
        self.endpoint_log_group = EncryptedLogGroup(
            self,
            "EndpointLogGroup",
            common=settings.common,
            encryption_key=encryption_key,
            log_group_name=f"/aws/sagemaker/Endpoints/{endpoint_name}",
            removal_policy=SERVICE_NAMED,
        )
        teardown.node.add_dependency(self.endpoint_log_group)

        self.idle_guard = None
        if settings.churn_idle_hours:
            self.idle_guard = self._idle_guard(settings, encryption_key, endpoint_name, rule_prefix, arn)

    def _failure_notices(self, endpoint_name: str, rule_prefix: str) -> None:
        """An update SageMaker fails after the deployer's call returned: a notice from the endpoint's own event.

        The endpoint state change event carries the status in upper case with underscores (IN_SERVICE in the
        documented sample: https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html);
        FAILED and UPDATE_ROLLBACK_FAILED are the API's Failed and UpdateRollbackFailed written that way. A rollback
        that succeeds ends IN_SERVICE on the previous config: the deployer reports that one (it knows what it asked
        for)."""
        rule = events.Rule(
            self,
            "EndpointFailedRule",
            rule_name=f"{rule_prefix}failed",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Endpoint State Change"],
                detail={"EndpointName": [endpoint_name], "EndpointStatus": list(FAILED_ENDPOINT_STATES)},
            ),
            description=f"Notify when {endpoint_name} fails or cannot roll an update back",
        )
        field = events.EventField.from_path
        # The topic's own policy allows this rule alone, and the key lets EventBridge encrypt
        # (NotificationTopic.rule_target; https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions).
        rule.add_target(
            self.topic.rule_target(
                message=events.RuleTargetInput.from_text(
                    f"Churn endpoint {field('$.detail.EndpointName')} is {field('$.detail.EndpointStatus')} "
                    f"(endpoint config {field('$.detail.EndpointConfigName')}, {field('$.time')}): SageMaker could "
                    "not finish the update. First: aws sagemaker describe-endpoint --endpoint-name "
                    f"{endpoint_name} --query FailureReason (docs/deploy.md, Notices)."
                ),
            )
        )

    def _idle_guard(
        self, settings: ChurnModelSettings, encryption_key: DataKey, endpoint_name: str, rule_prefix: str, arn: str
    ) -> KitFunction:
        """Hourly: delete the endpoint after `churn_idle_hours` without invocations, with a notice on the topic."""
        guard = KitFunction(
            self,
            "IdleGuardFunction",
            common=settings.common,
            encryption_key=encryption_key,
            code=bundled_code("churn_endpoint"),
            handler="idle_guard.handler",
            description=f"Deletes {endpoint_name} after {settings.churn_idle_hours} h without invocations",
            timeout=Duration.seconds(30),
            dead_letter_queue=self.dead_letters,
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "VARIANT_NAME": VARIANT_NAME,
                "IDLE_HOURS": str(settings.churn_idle_hours),
                "TOPIC_ARN": self.topic.topic_arn,
            },
        )
        self.dead_letters.grant_send_messages(guard)
        self.topic.grant_publish(guard)
        guard.add_to_role_policy(
            iam.PolicyStatement(
                sid="DeleteIdleEndpoint",
                actions=["sagemaker:DescribeEndpoint", "sagemaker:DeleteEndpoint"],
                resources=[f"{arn}:endpoint/{endpoint_name}"],
            )
        )
        guard.add_to_role_policy(
            iam.PolicyStatement(sid="ReadInvocations", actions=["cloudwatch:GetMetricStatistics"], resources=["*"])
        )
        acknowledge(
            cast(iam.IRole, guard.role),  # a Function given no role creates one
            "GetMetricStatistics has no resource type (it reads the endpoint's Invocations "
            "metric only); action wildcards come from CDK grants on the dead-letter queue and the topic key.",
            "AwsSolutions-IAM5[Resource::*]",
            *GRANT_ACTION_FINDINGS,
        )
        events.Rule(
            self,
            "IdleGuardSchedule",
            rule_name=f"{rule_prefix}idle-guard",
            schedule=events.Schedule.rate(Duration.hours(1)),
            description=f"Delete {endpoint_name} when it has been idle for {settings.churn_idle_hours} h",
        ).add_target(targets.LambdaFunction(guard, retry_attempts=2, dead_letter_queue=self.dead_letters))
        return guard

    def _grant_deployer(
        self,
        settings: ChurnModelSettings,
        arn: str,
        endpoint_name: str,
        group_name: str,
        encryption_key: DataKey,
        capture_key: kms.IKey,
        pipeline_name: str | None,
    ) -> None:
        role = cast(iam.IRole, self.deployer.role)  # a Function given no role creates one
        statements = [
            iam.PolicyStatement(
                sid="ReadApprovedPackages",
                actions=["sagemaker:DescribeModelPackage"],
                resources=[f"{arn}:model-package/{group_name}/*"],
            ),
            # The deployed mark is a CustomerMetadataProperties key the deployer writes with UpdateModelPackage
            # (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html). It may not
            # change an approval: sagemaker:ModelApprovalStatus is a condition key of UpdateModelPackage (Service
            # Authorization Reference, list_amazonsagemaker.html), and Null keeps requests that set it out.
            iam.PolicyStatement(
                sid="MarkDeployedPackages",
                actions=["sagemaker:UpdateModelPackage"],
                resources=[f"{arn}:model-package/{group_name}/*"],
                conditions={"Null": {"sagemaker:ModelApprovalStatus": "true"}},
            ),
            # DescribeStacks takes the stack ARN (Service Authorization Reference, list_awscloudformation.html).
            iam.PolicyStatement(
                sid="ReadOwnStack", actions=["cloudformation:DescribeStacks"], resources=[Stack.of(self).stack_id]
            ),
            iam.PolicyStatement(
                sid="ManageEndpoint",
                actions=[
                    "sagemaker:CreateModel",
                    "sagemaker:DescribeModel",
                    "sagemaker:DeleteModel",
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DeleteEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:UpdateEndpoint",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:AddTags",
                    "sagemaker:ListTags",
                    "sagemaker:DeleteTags",
                ],
                resources=[
                    f"{arn}:model/{endpoint_name}-v*",
                    f"{arn}:endpoint-config/{endpoint_name}-v*",
                    f"{arn}:endpoint/{endpoint_name}",
                ],
            ),
            iam.PolicyStatement(
                sid="FindOwnResources",
                actions=["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"],
                resources=["*"],
            ),
            # UpdateEndpoint with AutoRollbackConfiguration reads the rollback alarm with the caller's role
            # (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-configuration.html).
            iam.PolicyStatement(
                sid="ReadRollbackAlarm", actions=["cloudwatch:DescribeAlarms"], resources=[self.error_alarm.alarm_arn]
            ),
            iam.PolicyStatement(
                sid="PassModelRole",
                actions=["iam:PassRole"],
                resources=[self.model_role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
            ),
        ]
        if pipeline_name:
            # Teardown stops the pipeline's running executions (DeletePipeline refuses it otherwise); resource types
            # pipeline and pipeline-execution (Service Authorization Reference, list_amazonsagemaker.html).
            statements.append(
                iam.PolicyStatement(
                    sid="StopTrainingRuns",
                    actions=["sagemaker:ListPipelineExecutions", "sagemaker:StopPipelineExecution"],
                    resources=[f"{arn}:pipeline/{pipeline_name}", f"{arn}:pipeline/{pipeline_name}/execution/*"],
                )
            )
        if not settings.common.retain_data:
            # List* calls have no resource type (service authorization reference, SageMaker): "*" or denied.
            statements += [
                iam.PolicyStatement(
                    sid="ListSandboxModelPackages", actions=["sagemaker:ListModelPackages"], resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="DeleteSandboxModelPackages",
                    actions=["sagemaker:DeleteModelPackage"],
                    resources=[f"{arn}:model-package/{group_name}/*"],
                ),
            ]
        # Teardown deregisters whatever targets the endpoint's variants have, including one registered under earlier
        # settings, so these two do not depend on today's scaling settings. Describe* calls carry no condition keys:
        # a conditioned statement would deny them
        # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_applicationautoscaling.html).
        statements += [
            iam.PolicyStatement(
                sid="DescribeScaling",
                actions=[
                    "application-autoscaling:DescribeScalableTargets",
                    "application-autoscaling:DescribeScalingPolicies",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="DeregisterScaling",
                actions=["application-autoscaling:DeregisterScalableTarget"],
                resources=["*"],
                conditions={"StringEquals": {"application-autoscaling:service-namespace": "sagemaker"}},
            ),
        ]
        if settings.churn_endpoint_max_instances > settings.churn_endpoint_instance_count:
            alarms = f"arn:{Aws.PARTITION}:cloudwatch:{Aws.REGION}:{Aws.ACCOUNT_ID}:alarm:TargetTracking-endpoint/{endpoint_name}/*"
            statements += [
                iam.PolicyStatement(
                    sid="ScaleEndpoint",
                    actions=[
                        "application-autoscaling:RegisterScalableTarget",
                        "application-autoscaling:PutScalingPolicy",
                    ],
                    resources=["*"],
                    conditions={"StringEquals": {"application-autoscaling:service-namespace": "sagemaker"}},
                ),
                # Registering a variant as a scalable target (Application Auto Scaling identity-based policy
                # examples: https://docs.aws.amazon.com/autoscaling/application/userguide/security_iam_id-based-policy-examples.html).
                iam.PolicyStatement(
                    sid="ScaleVariant",
                    actions=["sagemaker:UpdateEndpointWeightsAndCapacities"],
                    resources=[f"{arn}:endpoint/{endpoint_name}"],
                ),
                # Target tracking creates its alarms with the caller's PutMetricAlarm; their only action is the
                # scaling policy (PutScalingPolicy's response in the botocore examples of Application Auto Scaling:
                # arn:aws:autoscaling:<region>:<account>:scalingPolicy:<id>:resource/<resource id>:policyName/<name>).
                # cloudwatch:AlarmActions keeps the role from creating alarms that act on anything else
                # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-alarm-actions.html).
                iam.PolicyStatement(
                    sid="ScalingAlarms",
                    actions=["cloudwatch:PutMetricAlarm"],
                    resources=[alarms],
                    conditions={
                        "ForAllValues:StringLike": {
                            "cloudwatch:AlarmActions": f"arn:{Aws.PARTITION}:autoscaling:{Aws.REGION}:"
                            f"{Aws.ACCOUNT_ID}:scalingPolicy:*:resource/sagemaker/endpoint/{endpoint_name}/"
                            f"variant/{VARIANT_NAME}:policyName/*"
                        }
                    },
                ),
                iam.PolicyStatement(
                    sid="ReadAndDeleteScalingAlarms",
                    actions=["cloudwatch:DescribeAlarms", "cloudwatch:DeleteAlarms"],
                    resources=[alarms],
                ),
                iam.PolicyStatement(
                    sid="ScalingServiceLinkedRole",
                    actions=["iam:CreateServiceLinkedRole"],
                    resources=[
                        f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
                        "sagemaker.application-autoscaling.amazonaws.com/*"
                    ],
                    conditions={
                        "StringLike": {"iam:AWSServiceName": "sagemaker.application-autoscaling.amazonaws.com"}
                    },
                ),
            ]
        scaling_findings = (
            [
                f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:TargetTracking-endpoint/{endpoint_name}/*]",
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/*]",
            ]
            if settings.churn_endpoint_max_instances > settings.churn_endpoint_instance_count
            else []
        )
        for statement in statements:
            role.add_to_principal_policy(statement)
        # Endpoint configs with KmsKeyId: SageMaker uses grants the caller creates on both keys.
        for key in (encryption_key, capture_key):
            grant_create_grant_for_aws_resources(key, role)
        acknowledge(
            role,
            "Names scope every SageMaker resource to this endpoint (<endpoint>-v<N> models and configs), this "
            "model group (metadata only, never an approval) and the training pipeline's executions; List* and Application Auto Scaling calls have no resource type (scaling is limited to "
            "the sagemaker namespace); target-tracking alarms are limited to this endpoint's; KMS action wildcards "
            "come from the CDK grant to send to the encrypted dead-letter queue.",
            "AwsSolutions-IAM5[Resource::*]",
            *GRANT_ACTION_FINDINGS,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model-package/{group_name}/*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:model/{endpoint_name}-v*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint-config/{endpoint_name}-v*]",
            *scaling_findings,
            *(
                [
                    "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:"
                    f"pipeline/{pipeline_name}/execution/*]"
                ]
                if pipeline_name
                else []
            ),
        )
