"""Hourly extraction: EventBridge Scheduler -> Step Functions -> EMR Serverless (.sync), one UTC hour of raw capture a
run; failures reach the daily run's topic through an alarm (one notice while they last, none on success)."""

from __future__ import annotations

from aws_cdk import Duration, Stack, TimeZone
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from ..common.acknowledgments import acknowledge
from ..common.encryption import DataKey
from ..common.logs import EncryptedLogGroup
from ..common.service_roles import scheduler_role
from ..common.tags import standard_tags
from .job import PrCurveJob
from .orchestration import (
    START_MARGIN,
    TRANSIENT_RETRY_WAIT_SECONDS,
    DailyQualityRun,
    grant_job_run,
    job_run_state,
    location_arguments,
    quoted,
)
from .settings import ARCHITECTURE, ModelQualitySettings
from .storage import QualityStorage

# Minutes after the hour at which a run extracts the hour before. Data Capture files an object under the UTC hour
# folder of its records (`{endpoint}/{variant}/yyyy/mm/dd/hh/`, SageMaker DG "Capture data from real-time
# endpoint", https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture-endpoint.html). Unconfirmed:
# the documentation does not say how long after the hour the last object of an hour can land; the kit assumes
# 15 minutes covers nearly all of them. A file that lands after the run listed the hour keeps its whole folder
# (pr_curve.delete_extracted_capture), and the daily run extracts that hour again from all of its files; one that
# lands after the delete is left unread (pr_curve.RAW_DELETED): extracting it would replace the hour's extract.
HOURLY_MINUTE = 15
# A run ends before the next one starts, so at most one hourly run holds the hourly share of the application.
HOURLY_JOB_TIMEOUT = Duration.minutes(40)


class HourlyExtractRun(Construct):
    """Extracts the last complete UTC hour of raw capture into `extract/dt=D/hour=HH` and deletes it, every hour.

    Start it by hand with `{"scheduled_time": "<ISO 8601 time>"}`: the run extracts the hour before that time's
    hour. The runs use `settings.hourly_vcpu` of the job's application, the daily run the rest.
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
        run: DailyQualityRun,
    ) -> None:
        super().__init__(scope, construct_id)
        arguments = [*location_arguments(storage, run.endpoint_name, run.variant_name), "--delete-extracted-capture"]
        step_timeout = HOURLY_JOB_TIMEOUT.plus(START_MARGIN)
        extract = job_run_state(
            self,
            "RunExtractJob",
            job=job,
            settings=settings,
            name="States.Format('pr-curve-hourly-{}', $.scheduled_time)",
            arguments=f"States.Array({quoted(arguments)}, '--extract-hour-before', $.scheduled_time)",
            spark_submit_parameters=job.spark_submit_parameters(settings.hourly_vcpu),
            job_timeout=HOURLY_JOB_TIMEOUT,
            step_timeout=step_timeout,
        )
        # No notice per failure (it could be one an hour): the failed execution is counted, and the alarm below
        # tells the topic once while failures last. The hour stays raw and the daily run extracts it.
        extract.add_catch(
            sfn.Fail(
                self,
                "ExtractFailed",
                error="HourlyExtractFailed",
                cause="The hourly extraction failed; the daily run extracts the hour. The error is in this execution's "
                "history.",
            ),
            errors=["States.ALL"],
            result_path="$.error",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(extract.next(sfn.Succeed(self, "Done"))),
            timeout=Duration.minutes(step_timeout.to_minutes() + TRANSIENT_RETRY_WAIT_SECONDS // 60 + 5),
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=EncryptedLogGroup(
                    self, "StateMachineLogGroup", common=settings.common, encryption_key=encryption_key
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        tags = standard_tags(settings.common, ARCHITECTURE)
        grant_job_run(self.state_machine, job, tags)
        stack = Stack.of(self)
        acknowledge(
            self.state_machine.role,
            "X-Ray trace writes have no resource type; job runs are created at run time under this application.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:emr-serverless:<AWS::Region>:<AWS::AccountId>:/applications/<{stack.get_logical_id(job.application)}.ApplicationId>/jobruns/*]",
        )
        run.topic.notify_on_silent_end(self.state_machine, what="model-quality hourly extraction")
        # 1 hour: one run an hour; notBreaching: an hour without a failed execution is a good hour. A notice goes
        # out when the alarm enters ALARM, not for each failed run while it stays there.
        self.failed_alarm = cloudwatch.Alarm(
            self,
            "HourlyExtractFailedAlarm",
            alarm_name=run.topic.alarm_name(f"{run.endpoint_name}-hourly-extract-failed"),
            metric=self.state_machine.metric_failed(period=Duration.hours(1), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description="An hourly model-quality extraction failed: its hour stays raw until the daily run "
            "extracts it (raw capture then costs a day of storage instead of an hour).",
        )
        run.topic.notify_on(self.failed_alarm)
        self.schedule = scheduler.Schedule(
            self,
            "HourlySchedule",
            schedule=scheduler.ScheduleExpression.cron(minute=str(HOURLY_MINUTE), time_zone=TimeZone.ETC_UTC),
            target=targets.StepFunctionsStartExecution(
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object(
                    {"scheduled_time": scheduler.ContextAttribute.scheduled_time}
                ),
                role=scheduler_role(self, "SchedulerRole"),
            ),
            enabled=settings.common.schedules_enabled,
            description="Hourly extraction of the last complete UTC hour of model-quality raw capture",
        )
