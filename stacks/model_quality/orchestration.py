"""Daily run: EventBridge Scheduler -> Step Functions -> EMR Serverless (.sync) -> metrics Lambda; failures to SNS."""

from __future__ import annotations

from typing import cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from aws_cdk import TimeZone
from constructs import Construct

from ..common.acknowledgments import acknowledge, acknowledge_bucket_objects
from ..common.config import email_addresses
from ..common.encryption import DataKey
from ..common.functions import KitFunction, bundled_code
from ..common.logs import EncryptedLogGroup
from ..common.notifications import NotificationTopic
from ..common.service_roles import scheduler_role
from ..common.tags import standard_tags
from .job import PrCurveJob
from .settings import ARCHITECTURE, ModelQualitySettings, schedule_offsets
from .storage import QualityStorage

# The only errors of the job step that are retried: the ones the documentation names as transient. Throttling and
# a service-side failure (HTTP 500) of the EMR Serverless API are retried by every AWS SDK
# (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html: "transient errors or throttling";
# https://docs.aws.amazon.com/emr-serverless/latest/APIReference/API_StartJobRun.html: InternalServerException,
# "Request processing failed because of an error or failure with the service", HTTP 500). They cost no job run.
TRANSIENT_ERRORS = [
    "EMRServerless.ThrottlingException",
    "EMRServerless.InternalServerException",
]
TRANSIENT_RETRIES = 5
TRANSIENT_INTERVAL_SECONDS = 60
TRANSIENT_MAX_DELAY_SECONDS = 900
# The longest the job step's transient retries wait in all (exponential backoff, each wait capped): the retried calls
# are rejected API requests, so no run is started by them, but a state machine's timeout must leave room for them.
TRANSIENT_RETRY_WAIT_SECONDS = sum(
    min(TRANSIENT_MAX_DELAY_SECONDS, TRANSIENT_INTERVAL_SECONDS * 2**n) for n in range(TRANSIENT_RETRIES)
)
# Nothing else is retried. A run that ends FAILED (its code or its data) or is cancelled at its own
# ExecutionTimeoutMinutes ("the job run has timed out", Cancelling:
# https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/job-states.html) fails the .sync task with a
# States.TaskFailed-class error, and running it again costs another full run at quality_max_vcpu for the same
# outcome; the step's own States.Timeout is no transient either. Each goes straight to NotifyFailure, whose notice
# carries the error and its Cause (the job run's state details). A quota or conflict error
# (ServiceQuotaExceededException, ConflictException) is not documented as transient and also fails fast.
# Time the step allows beyond the job's own execution timeout: submission, queueing for capacity, cancellation.
START_MARGIN = Duration.minutes(15)
ROLLUP_DAYS = 7
# Minutes after the state machine's timeout at which the deadline check runs: the run has ended by then.
DEADLINE_MARGIN_MINUTES = 15
STANDARD_THRESHOLDS = (0.1, 0.3, 0.5, 0.7, 0.9)


def number_text(value: float) -> str:
    """A setting as the job and the Lambdas read it back: the shortest text that parses to the same float.

    One format for every consumer: the metrics Lambda looks up the job's entry for the decision threshold by
    value, so two renderings of one setting (`:g` keeps 6 significant digits, `str` all of them) never meet.
    """
    return repr(float(value))


def location_arguments(storage: QualityStorage, endpoint_name: str, variant_name: str | None) -> list[str]:
    """What every run of the job reads and writes, and the endpoint (and variant) it reads the capture of."""
    return [
        "--captures",
        storage.capture_uri,
        "--ground-truth",
        storage.ground_truth_bucket.s3_url_for_object(),
        "--output",
        storage.results_bucket.s3_url_for_object(),
        "--endpoint",
        endpoint_name,
        *(("--variant", variant_name) if variant_name else ()),
    ]


def quoted(arguments: list[str]) -> str:
    """Fixed job arguments as the quoted items of an ASL States.Array."""
    return ", ".join(f"'{value}'" for value in arguments)


def job_run_state(
    scope: Construct,
    construct_id: str,
    *,
    job: PrCurveJob,
    settings: ModelQualitySettings,
    name: str,
    arguments: str,
    spark_submit_parameters: str,
    job_timeout: Duration,
    step_timeout: Duration,
) -> sfn.CustomState:
    """A .sync job run of the precision-recall job (`name` and `arguments` are ASL intrinsic expressions) that
    retries only the transient errors of the EMR Serverless API."""
    return sfn.CustomState(
        scope,
        construct_id,
        state_json={
            "Type": "Task",
            "Resource": f"arn:{Stack.of(scope).partition}:states:::emr-serverless:startJobRun.sync",
            "Parameters": {
                "ApplicationId": job.application.attr_application_id,
                "ExecutionRoleArn": job.role.role_arn,
                "Name.$": name,
                "JobDriver": {
                    "SparkSubmit": {
                        "EntryPoint": job.entry_point.s3_object_url,
                        "EntryPointArguments.$": arguments,
                        "SparkSubmitParameters": spark_submit_parameters,
                    }
                },
                "ConfigurationOverrides": {
                    "MonitoringConfiguration": {"S3MonitoringConfiguration": {"LogUri": job.log_uri}}
                },
                "ExecutionTimeoutMinutes": int(job_timeout.to_minutes()),
                # Application tags do not propagate to job runs; a run is tagged by its StartJobRun request
                # (https://docs.aws.amazon.com/emr/latest/EMR-Serverless-UserGuide/tagging-resources.html).
                "Tags": standard_tags(settings.common, ARCHITECTURE),
            },
            # No ResultSelector: nothing downstream reads the job's result, and selecting a field the integration
            # does not return would turn a successful run into a runtime error
            # (https://docs.aws.amazon.com/step-functions/latest/dg/connect-emr-serverless.html).
            "ResultPath": "$.job",
            "TimeoutSeconds": int(step_timeout.to_seconds()),
            "Retry": [
                {
                    "ErrorEquals": TRANSIENT_ERRORS,
                    "IntervalSeconds": TRANSIENT_INTERVAL_SECONDS,
                    "BackoffRate": 2,
                    "MaxAttempts": TRANSIENT_RETRIES,
                    "MaxDelaySeconds": TRANSIENT_MAX_DELAY_SECONDS,
                    "JitterStrategy": "FULL",
                },
            ],
        },
    )


def grant_job_run(state_machine: sfn.StateMachine, job: PrCurveJob, tags: dict[str, str]) -> None:
    """What the .sync integration needs: start, watch and cancel runs, pass the job role, its managed rule."""
    stack = Stack.of(state_machine)
    application_arn = stack.format_arn(
        service="emr-serverless", resource="/applications", resource_name=job.application.attr_application_id
    )
    state_machine.add_to_role_policy(
        iam.PolicyStatement(actions=["emr-serverless:StartJobRun"], resources=[application_arn])
    )
    state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["emr-serverless:GetJobRun", "emr-serverless:CancelJobRun"],
            resources=[f"{application_arn}/jobruns/*"],
        )
    )
    # The run is tagged by its StartJobRun request. The reference lists emr-serverless:TagResource with a
    # tagged CreateApplication and TagResource on job runs, but could not be confirmed for a tagged StartJobRun
    # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonemrserverless.html): it is
    # allowed on this application's new runs, with the kit's tags only (aws:RequestTag, aws:TagKeys).
    state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["emr-serverless:TagResource"],
            resources=[f"{application_arn}/jobruns/*"],
            conditions={
                "StringEquals": {f"aws:RequestTag/{key}": value for key, value in tags.items()},
                "ForAllValues:StringEquals": {"aws:TagKeys": sorted(tags)},
            },
        )
    )
    state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["iam:PassRole"],
            resources=[job.role.role_arn],
            conditions={"StringLike": {"iam:PassedToService": "emr-serverless.amazonaws.com"}},
        )
    )
    state_machine.add_to_role_policy(
        iam.PolicyStatement(
            actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            resources=[
                stack.format_arn(
                    service="events", resource="rule", resource_name="StepFunctionsGetEventsForEMRServerlessJobRule"
                )
            ],
        )
    )


class DailyQualityRun(Construct):
    """The workflow that runs the job for one date and publishes its summary as metrics.

    Start it by hand with `{"date": "YYYY-MM-DD"}`; the schedule passes its scheduled time and the run scores
    today - label delay - 1. The job scores `endpoint_name` (and `variant_name` when set, else every variant),
    the same endpoint the metrics are published for.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        encryption_key: DataKey,
        storage: QualityStorage,
        job: PrCurveJob,
        endpoint_name: str,
        variant_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = endpoint_name
        self.variant_name = variant_name
        self.topic = NotificationTopic(
            self,
            "NotificationTopic",
            encryption_key=encryption_key,
            email_addresses=email_addresses(settings.quality_notification_emails),
            warn_without_subscriber=settings.common.profile == "production",
            subscriber_setting="quality_notification_emails",
        )
        utc_offset, self.offset_span = schedule_offsets(settings.quality_schedule_time_zone)
        self.run_date_function = KitFunction(
            self,
            "RunDateFunction",
            common=settings.common,
            encryption_key=encryption_key,
            code=bundled_code("quality_run_date"),
            handler="run_date.handler",
            description="Resolves the day the model-quality run scores",
            timeout=Duration.seconds(10),
            environment={
                "LABEL_DELAY_DAYS": str(settings.quality_label_delay_days),
                # The day the schedule fires on, in its own zone, without time-zone data at run time.
                "SCHEDULE_HOUR": str(settings.quality_schedule_hour),
                "SCHEDULE_UTC_OFFSET_MINUTES": str(utc_offset),
            },
        )
        self.metrics_function = KitFunction(
            self,
            "MetricsFunction",
            common=settings.common,
            encryption_key=encryption_key,
            code=bundled_code("quality_metrics"),
            handler="metrics_publisher.handler",
            description="Publishes a day's model-quality summary as CloudWatch metrics",
            timeout=Duration.seconds(60),
            environment={
                "RESULTS_BUCKET": storage.results_bucket.bucket_name,
                "RESULTS_PREFIX": "",
                "ENDPOINT_NAME": endpoint_name,
                "DECISION_THRESHOLD": number_text(settings.quality_decision_threshold),
            },
        )
        storage.results_bucket.grant_read(self.metrics_function, "summary/*")
        encryption_key.grant_decrypt(self.metrics_function)
        self.metrics_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "MlKit/ModelQuality"}},
            )
        )
        metrics_role = cast(iam.IRole, self.metrics_function.role)  # a Function given no role creates one
        metrics_reason = (
            "PutMetricData has no resource type; the policy limits it to the kit's metric namespace, and "
            "reads are limited to the summary/ prefix of the results bucket."
        )
        acknowledge(
            metrics_role,
            metrics_reason,
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Action::s3:GetObject*]",
            "AwsSolutions-IAM5[Action::s3:GetBucket*]",
            "AwsSolutions-IAM5[Action::s3:List*]",
        )
        acknowledge_bucket_objects(metrics_role, metrics_reason, storage.results_bucket, "summary/*")

        thresholds = sorted(set(STANDARD_THRESHOLDS) | {settings.quality_decision_threshold})
        # The job stops itself (executionTimeoutMinutes) before the step gives up on it, so a timed-out step never
        # leaves a billed job running.
        self.job_timeout = Duration.minutes(settings.quality_job_timeout_minutes)
        self.step_timeout = self.job_timeout.plus(START_MARGIN)
        # Long enough for the job step's one run and the waits between its transient-error retries.
        self.run_timeout = Duration.minutes(self.step_timeout.to_minutes() + TRANSIENT_RETRY_WAIT_SECONDS // 60 + 30)
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(storage, job, thresholds, settings)),
            timeout=self.run_timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=EncryptedLogGroup(
                    self, "StateMachineLogGroup", common=settings.common, encryption_key=encryption_key
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        # SnsPublish grants only sns:Publish; the topic is encrypted, so publishing also needs the key
        # (kms:GenerateDataKey*, kms:Decrypt), which grant_publish adds.
        self.topic.grant_publish(self.state_machine)
        # A run that times out or is aborted never reaches NotifyFailure: EventBridge reports it instead.
        self.topic.notify_on_silent_end(self.state_machine, what="model-quality daily run")
        self._grant_job_run(job, standard_tags(settings.common, ARCHITECTURE))
        self.schedule = scheduler.Schedule(
            self,
            "DailySchedule",
            schedule=scheduler.ScheduleExpression.cron(
                minute="0",
                hour=str(settings.quality_schedule_hour),
                time_zone=TimeZone.of(settings.quality_schedule_time_zone),
            ),
            target=targets.StepFunctionsStartExecution(
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
                ),
                role=scheduler_role(self, "SchedulerRole"),
            ),
            enabled=settings.common.schedules_enabled,
            description="Daily precision-recall run of the model-quality job",
        )
        self._deadline_check(settings, encryption_key, endpoint_name)

    def _deadline_check(self, settings: ModelQualitySettings, encryption_key: DataKey, endpoint_name: str) -> None:
        """At the run's deadline (its schedule + the state machine's timeout + a margin), publish RunMissed: 1 when
        no execution since the scheduled start has succeeded, 0 when one has, nothing when the state machine did not
        exist yet. The no-summary alarm watches it; disabled schedules (sandbox) publish nothing."""
        minutes = int(self.run_timeout.to_minutes()) + DEADLINE_MARGIN_MINUTES
        self.deadline_function = KitFunction(
            self,
            "DeadlineCheckFunction",
            common=settings.common,
            encryption_key=encryption_key,
            code=bundled_code("quality_metrics"),
            handler="deadline_check.handler",
            description="Publishes whether the day's model-quality run succeeded by its deadline",
            timeout=Duration.seconds(30),
            environment={
                "STATE_MACHINE_ARN": self.state_machine.state_machine_arn,
                "ENDPOINT_NAME": endpoint_name,
                "DEADLINE_MINUTES": str(minutes),
                # A daylight-saving change between the run and its check moves the run's start by this much.
                "OFFSET_SPAN_MINUTES": str(self.offset_span),
            },
            no_dead_letter_queue_reason="Started by its schedule, whose retry policy retries a failed invocation; "
            "a check that still fails shows in the function's Errors metric, and the next day's check runs anew.",
        )
        self.deadline_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["states:DescribeStateMachine", "states:ListExecutions"],
                resources=[self.state_machine.state_machine_arn],
            )
        )
        self.deadline_function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": "MlKit/ModelQuality"}},
            )
        )
        acknowledge(
            cast(iam.IRole, self.deadline_function.role),
            "PutMetricData has no resource type; the policy limits it to the kit's metric namespace.",
            "AwsSolutions-IAM5[Resource::*]",
        )
        at = (settings.quality_schedule_hour * 60 + minutes) % (24 * 60)
        schedule_role = scheduler_role(self, "DeadlineCheckSchedulerRole")
        self.deadline_schedule = scheduler.Schedule(
            self,
            "DeadlineCheckSchedule",
            schedule=scheduler.ScheduleExpression.cron(
                minute=str(at % 60),
                hour=str(at // 60),
                time_zone=TimeZone.of(settings.quality_schedule_time_zone),
            ),
            target=targets.LambdaInvoke(
                self.deadline_function,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
                ),
                role=schedule_role,
            ),
            enabled=settings.common.schedules_enabled,
            description="Checks that the daily model-quality run succeeded by its deadline",
        )
        acknowledge(
            schedule_role,
            "CDK's LambdaInvoke target grants invoke on the deadline check function and its versions; the role "
            "can invoke nothing else.",
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(cast(CfnElement, self.deadline_function.node.default_child))}.Arn>:*]",
        )

    def _definition(
        self, storage: QualityStorage, job: PrCurveJob, thresholds: list[float], settings: ModelQualitySettings
    ) -> sfn.IChainable:
        # Every catcher puts the error object at $.error, but its Cause is not always there ("the object usually
        # contains the field Cause", concepts-error-handling), so the message is the whole object as text.
        run_failed = sfn.Fail(
            self,
            "RunFailed",
            error="ModelQualityRunFailed",
            cause="The daily model-quality run failed; the error is in the SNS notification "
            "and in this execution's history.",
        )
        notify = tasks.SnsPublish(
            self,
            "NotifyFailure",
            topic=self.topic,
            subject="Model-quality run failed",
            message=sfn.TaskInput.from_text(sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.error"))),
            result_path=sfn.JsonPath.DISCARD,
        )
        notify.add_catch(run_failed, errors=["States.ALL"], result_path="$.notification_error")
        notify_failure = notify.next(run_failed)
        resolve_date = tasks.LambdaInvoke(
            self,
            "ResolveDate",
            lambda_function=self.run_date_function,
            payload_response_only=True,
            result_path="$.run",
            retry_on_service_exceptions=True,
        )
        resolve_date.add_catch(notify_failure, result_path="$.error")
        arguments = [
            *location_arguments(storage, self.endpoint_name, self.variant_name),
            "--label-delay-days",
            str(settings.quality_label_delay_days),
            "--thresholds",
            ",".join(number_text(t) for t in thresholds),
            "--rollup-days",
            str(ROLLUP_DAYS),
            "--decision-threshold",
            number_text(settings.quality_decision_threshold),
            "--target-half-width",
            number_text(settings.quality_target_half_width),
            "--reject-sample-size",
            str(settings.quality_reject_sample_size),
            *(("--delete-extracted-capture",) if settings.deletes_extracted_capture else ()),
        ]
        if settings.quality_hourly_extract:
            arguments.append("--hourly-extract")
        daily_vcpu = settings.quality_max_vcpu - settings.hourly_vcpu if settings.quality_hourly_extract else None
        run_job = job_run_state(
            self,
            "RunPrCurveJob",
            job=job,
            settings=settings,
            name="States.Format('pr-curve-{}', $.run.date)",
            arguments=f"States.Array({quoted(arguments)}, '--date', $.run.date)",
            spark_submit_parameters=job.spark_submit_parameters(daily_vcpu),
            job_timeout=self.job_timeout,
            step_timeout=self.step_timeout,
        )
        run_job.add_catch(notify_failure, errors=["States.ALL"], result_path="$.error")
        publish = tasks.LambdaInvoke(
            self,
            "PublishMetrics",
            lambda_function=self.metrics_function,
            payload_response_only=True,
            payload=sfn.TaskInput.from_object({"date": sfn.JsonPath.string_at("$.run.date")}),
            result_path="$.metrics",
            retry_on_service_exceptions=True,
        )
        publish.add_catch(notify_failure, result_path="$.error")
        return resolve_date.next(run_job).next(publish).next(sfn.Succeed(self, "Done"))

    def _grant_job_run(self, job: PrCurveJob, tags: dict[str, str]) -> None:
        stack = Stack.of(self)
        grant_job_run(self.state_machine, job, tags)
        functions = [self.run_date_function, self.metrics_function]
        acknowledge(
            self.state_machine.role,
            "X-Ray trace writes have no resource type; job runs are created at run time under this application; "
            "CDK grants invoke on the functions' versions; publishing to the encrypted topic needs the data key's "
            "GenerateDataKey variants (topic.grant_publish, on this key only).",
            "AwsSolutions-IAM5[Resource::*]",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:emr-serverless:<AWS::Region>:<AWS::AccountId>:/applications/<{stack.get_logical_id(job.application)}.ApplicationId>/jobruns/*]",
            *(
                f"AwsSolutions-IAM5[Resource::<{stack.get_logical_id(cast(CfnElement, f.node.default_child))}.Arn>:*]"
                for f in functions
            ),
        )
