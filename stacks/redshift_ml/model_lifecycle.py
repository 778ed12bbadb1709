"""The model refresh loop Redshift ML lacks: train a new version, wait for it, evaluate it on the holdout,
promote it only if it is at least as good as the serving one, and drop old versions."""

from __future__ import annotations

from typing import Sequence, TypedDict, cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..common.acknowledgments import acknowledge
from ..common.config import CommonSettings
from ..common.encryption import DataKey
from ..common.logs import EncryptedLogGroup
from ..common.functions import KitFunction
from ..common.notifications import NotificationTopic
from ..common.service_roles import scheduler_role
from .data_api_access import grant_data_api
from .database_bootstrap import redshift_sql_code
from .warehouse import ServerlessWarehouse


class _ModelFields(TypedDict):
    """JSON paths of the model a step acts on (typed, so `**model` cannot be taken for a step's other arguments)."""

    model_name: str
    function_name: str


WEEKLY = scheduler.ScheduleExpression.cron(minute="0", hour="3", week_day="SUN")
EXPORT_POLL = Duration.minutes(1)
PROMOTION_POLL = Duration.minutes(1)
TRAINING_POLL = Duration.minutes(5)
COMPILE_MARGIN = Duration.hours(2)


class ModelLifecycle(Construct):
    """Step Functions Standard workflow over the lifecycle Lambda, an SNS topic for failures and
    rejections (e-mailed to each of `notification_emails`; `warn_without_subscriber` warns at synth when there are none), and an EventBridge Scheduler schedule (created
    disabled unless the profile enables schedules)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        common: CommonSettings,
        encryption_key: DataKey,
        warehouse: ServerlessWarehouse,
        model_bucket_name: str,
        schema: str,
        ml_role: str,
        analyst_role: str,
        model_prefix: str,
        top_k: int,
        versions_kept: int,
        max_runtime: Duration,
        refresh_schedule: scheduler.ScheduleExpression = WEEKLY,
        notification_emails: Sequence[str] = (),
        warn_without_subscriber: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        # Each address gets a confirmation e-mail first; nothing is delivered to it until it is confirmed.
        self.topic = NotificationTopic(
            self,
            "NotificationTopic",
            encryption_key=encryption_key,
            email_addresses=notification_emails,
            warn_without_subscriber=warn_without_subscriber,
            subscriber_setting="redshift_notification_emails",
        )
        timeout = max_runtime.plus(COMPILE_MARGIN).plus(Duration.hours(2))
        self.function = KitFunction(
            self,
            "LifecycleFunction",
            common=common,
            encryption_key=encryption_key,
            code=redshift_sql_code(),
            handler="lifecycle.handler",
            description="Steps of the Redshift ML model lifecycle (train, check, evaluate, promote, clean up)",
            timeout=Duration.minutes(14),
            environment={
                "WORKGROUP_NAME": warehouse.workgroup_name,
                "DATABASE": warehouse.database_name,
                "SCHEMA": schema,
                "MODEL_PREFIX": model_prefix,
                "ANALYST_ROLE": analyst_role,
                "ML_ROLE": ml_role,
                "MODEL_BUCKET": model_bucket_name,
                "KMS_KEY_ARN": encryption_key.key_arn,
                "MAX_RUNTIME_SECONDS": str(int(max_runtime.to_seconds())),
                "COMPILE_MARGIN_SECONDS": str(int(COMPILE_MARGIN.to_seconds())),
                "TOP_K": str(top_k),
                "VERSIONS_KEPT": str(versions_kept),
                # A version left 'training' by an execution older than this was abandoned: it blocks no refresh.
                "REFRESH_WINDOW_SECONDS": str(int(timeout.to_seconds())),
            },
        )
        # Not the namespace admin: the function's own IAM identity, with the database role that may train, evaluate
        # and promote models (sql/redshift_ml/03_grants.sql). The admin secret stays with the deploy-time bootstrap.
        grant_data_api(self.function, warehouse, database_roles=[ml_role])
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition()),
            timeout=timeout,
            tracing_enabled=True,
            logs=sfn.LogOptions(
                destination=EncryptedLogGroup(
                    self, "StateMachineLogGroup", common=common, encryption_key=encryption_key
                ),
                level=sfn.LogLevel.ALL,
                include_execution_data=True,
            ),
        )
        # SnsPublish grants only sns:Publish; publishing to a topic encrypted with a customer-managed key also needs
        # kms:GenerateDataKey* and kms:Decrypt on the key, which grant_publish adds
        # (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html).
        self.topic.grant_publish(self.state_machine.role)
        # A refresh that times out or is aborted never reaches its notify states: EventBridge reports it instead.
        self.topic.notify_on_silent_end(self.state_machine, what="Redshift ML model refresh")
        acknowledge(
            self.state_machine.role,
            "X-Ray trace writes have no resource type, and CDK grants invoke on the lifecycle function's versions.",
            "AwsSolutions-IAM5[Resource::*]",
            f"AwsSolutions-IAM5[Resource::<{Stack.of(self).get_logical_id(cast(CfnElement, self.function.node.default_child))}.Arn>:*]",
        )
        acknowledge(
            self.state_machine.role,
            "Publishing to the SSE-KMS topic needs kms:GenerateDataKey* on its one key (SNS key management), as "
            "topic.grant_publish writes it.",
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
        )
        self.schedule = scheduler.Schedule(
            self,
            "RefreshSchedule",
            schedule=refresh_schedule,
            target=targets.StepFunctionsStartExecution(
                self.state_machine,
                input=scheduler.ScheduleTargetInput.from_object({"trigger": "schedule"}),
                role=scheduler_role(self, "SchedulerRole"),
            ),
            enabled=common.schedules_enabled,
            description="Weekly Redshift ML model refresh",
        )

    def _step(self, name: str, action: str, result_path: str, **fields: str) -> tasks.LambdaInvoke:
        payload: dict[str, str | float] = {
            "action": action,
            **{key: sfn.JsonPath.string_at(path) for key, path in fields.items()},
        }
        if "started_at" in fields:
            payload["started_at"] = sfn.JsonPath.number_at(fields["started_at"])
        return tasks.LambdaInvoke(
            self,
            name,
            lambda_function=self.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only=True,
            result_path=result_path,
            retry_on_service_exceptions=True,
        )

    def _notify(self, name: str, subject: str, message: sfn.TaskInput) -> tasks.SnsPublish:
        """Publish to the topic; if that fails, the execution ends Failed, so no failure goes unseen."""
        task = tasks.SnsPublish(
            self, name, topic=self.topic, subject=subject, message=message, result_path=sfn.JsonPath.DISCARD
        )
        task.add_catch(self._notification_failed, result_path="$.notificationError")
        return task

    def _definition(self) -> sfn.IChainable:
        self._notification_failed = sfn.Fail(
            self,
            "NotificationFailed",
            error="NotificationFailed",
            cause="Publishing to the notification topic failed; the execution's events show why and what it reported.",
        )
        # Until Promote commits, the serving model and its recommendations are untouched (Promote is one transaction).
        notify_failure = self._notify(
            "NotifyFailure",
            "Redshift ML model refresh failed",
            sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "A model refresh step failed; the serving model and its recommendations are unchanged. Error: {}",
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.error")),
                )
            ),
        ).next(sfn.Fail(self, "RefreshFailed", cause="A lifecycle step failed; the serving model is unchanged."))
        # The caught error "usually contains the field Cause" (Step Functions concepts-error-handling): the notices
        # send the whole error object, so a notice never fails on a missing Cause.
        notify_cleanup_failed = self._notify(
            "NotifyCleanupFailed",
            "Redshift ML model promoted; cleanup failed",
            sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "Model {} was promoted and now serves recommendations, but dropping old versions failed: {}",
                    sfn.JsonPath.string_at("$.model.model_name"),
                    sfn.JsonPath.json_to_string(sfn.JsonPath.object_at("$.error")),
                )
            ),
        ).next(sfn.Fail(self, "CleanupFailed", cause="The new model serves; dropping old versions failed."))

        def step(
            name: str, action: str, result_path: str, on_error: sfn.IChainable = notify_failure, **fields: str
        ) -> tasks.LambdaInvoke:
            task = self._step(name, action, result_path, **fields)
            task.add_catch(on_error, result_path="$.error")
            return task

        model: _ModelFields = {"model_name": "$.model.model_name", "function_name": "$.model.function_name"}
        start = step("StartTraining", "start_training", "$.model")
        wait_export = sfn.Wait(self, "WaitForExport", time=sfn.WaitTime.duration(EXPORT_POLL))
        check_export = step(
            "CheckExport",
            "check_statement",
            "$.export",
            statement_id="$.model.statement_id",
            model_name="$.model.model_name",
        )
        wait_training = sfn.Wait(self, "WaitForTraining", time=sfn.WaitTime.duration(TRAINING_POLL))
        check_training = step(
            "CheckTraining",
            "check_model",
            "$.training",
            model_name="$.model.model_name",
            started_at="$.model.started_at",
        )
        describe_failure = step("DescribeFailure", "describe_failure", "$.failure", model_name="$.model.model_name")
        notify_training_failed = self._notify(
            "NotifyTrainingFailed",
            "Redshift ML training failed",
            sfn.TaskInput.from_text(
                sfn.JsonPath.format(
                    "Model {} failed: {}",
                    sfn.JsonPath.string_at("$.failure.model_name"),
                    sfn.JsonPath.string_at("$.failure.reason"),
                )
            ),
        )
        evaluate = step("Evaluate", "evaluate", "$.evaluation", **model)
        # Promote submits one transaction (serving view, registry, recommendations) and returns; its statement is
        # polled like the export, so scoring a large catalogue is bounded by the Data API, not by the Lambda.
        promote = step("Promote", "promote", "$.promotion", **model)
        wait_promotion = sfn.Wait(self, "WaitForPromotion", time=sfn.WaitTime.duration(PROMOTION_POLL))
        check_promotion = step(
            "CheckPromotion",
            "check_statement",
            "$.promotionStatus",
            statement_id="$.promotion.statement_id",
            model_name="$.model.model_name",
        )
        reject = step("Reject", "reject", "$.rejection", model_name="$.model.model_name")
        notify_rejected = self._notify(
            "NotifyRejected", "Redshift ML candidate not promoted", sfn.TaskInput.from_json_path_at("$.evaluation")
        )
        # Cleanup runs after Promote and after Reject: the notice says which model serves.
        cleanup_failed = (
            sfn.Choice(self, "CleanupFailedAfter")
            .when(sfn.Condition.is_present("$.promotion"), notify_cleanup_failed)
            .otherwise(notify_failure)
        )
        cleanup = step("Cleanup", "cleanup", "$.cleanup", on_error=cleanup_failed)
        cleanup.next(sfn.Succeed(self, "Done"))

        describe_failure.next(notify_training_failed).next(
            sfn.Fail(self, "TrainingFailed", cause="Training failed; the serving model is unchanged.")
        )
        promotion_state = (
            sfn.Choice(self, "PromotionFinished")
            .when(sfn.Condition.string_equals("$.promotionStatus.status", "FINISHED"), cleanup)
            .otherwise(wait_promotion)
        )
        promote.next(wait_promotion).next(check_promotion).next(promotion_state)
        reject.next(notify_rejected).next(cleanup)
        promotion_rule = (
            sfn.Choice(self, "AtLeastAsGood")
            .when(sfn.Condition.is_not_present("$.evaluation.serving"), promote)
            .when(
                sfn.Condition.number_greater_than_equals_json_path(
                    "$.evaluation.candidate.precision_at_k", "$.evaluation.serving.precision_at_k"
                ),
                promote,
            )
            .otherwise(reject)
        )
        training_state = (
            sfn.Choice(self, "TrainingState")
            .when(sfn.Condition.string_equals("$.training.state", "READY"), evaluate.next(promotion_rule))
            .when(sfn.Condition.string_equals("$.training.state", "FAILED"), describe_failure)
            .otherwise(wait_training)
        )
        export_state = (
            sfn.Choice(self, "ExportFinished")
            .when(sfn.Condition.string_equals("$.export.status", "FINISHED"), wait_training)
            .otherwise(wait_export)
        )
        wait_training.next(check_training).next(training_state)
        return start.next(wait_export).next(check_export).next(export_state)
