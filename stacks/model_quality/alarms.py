"""Alarms on the daily run, to the run's SNS topic: job failed, no summary, no predictions captured, average
precision low or dropping, label coverage low."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from constructs import Construct

from ..common.encryption import DataKey
from .orchestration import DailyQualityRun
from .settings import ModelQualitySettings

NAMESPACE = "MlKit/ModelQuality"
DAY = Duration.days(1)


class QualityAlarms(Construct):
    """One alarm per way the daily run can go wrong; thresholds come from the profile's `quality_*` settings."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: ModelQualitySettings,
        run: DailyQualityRun,
        encryption_key: DataKey,
        endpoint_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        # The topic is encrypted with the data key: CloudWatch can notify it only when the key policy lets
        # cloudwatch.amazonaws.com use the key, limited here to this account's alarms in this region
        # (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
        encryption_key.allow_service_to_send_encrypted(
            "cloudwatch.amazonaws.com",
            sid="AllowModelQualityAlarmsToNotify",
            source_arn=Stack.of(self).format_arn(
                service="cloudwatch", resource="alarm", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
            ),
        )

        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=name,
                dimensions_map={"Endpoint": endpoint_name},
                statistic=statistic,
                period=DAY,
            )

        definitions: dict[str, dict[str, Any]] = {
            "JobFailedAlarm": dict(
                metric=run.state_machine.metric_failed(period=DAY, statistic="Sum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The daily model-quality run failed (see the SNS notification for the cause).",
            ),
            "NoSummaryAlarm": dict(
                metric=metric("SummaryPublished", "Sum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
                alarm_description="No model-quality summary was published in the last day.",
            ),
            "NoPredictionsAlarm": dict(
                metric=metric("RowsCaptured", "Maximum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The day's summary counts no captured predictions: the endpoint is not deployed, "
                "not invoked, or not capturing to the monitored location.",
            ),
            "AveragePrecisionLowAlarm": dict(
                metric=metric("AveragePrecision", "Minimum"),
                threshold=settings.quality_min_average_precision,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Average precision of the day is below the configured minimum.",
            ),
            "AveragePrecisionDropAlarm": dict(
                metric=metric("AveragePrecisionDrop", "Maximum"),
                threshold=settings.quality_max_average_precision_drop,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Average precision fell more than the configured fraction below its 7-day average.",
            ),
            "LabelCoverageLowAlarm": dict(
                metric=metric("LabelCoverage", "Minimum"),
                threshold=settings.quality_min_label_coverage,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Too few of the day's predictions have a label; metrics rest on a sample.",
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for construct_id, props in definitions.items():
            alarm = cloudwatch.Alarm(self, construct_id, evaluation_periods=1, **props)
            alarm.add_alarm_action(actions.SnsAction(run.topic))
            self.alarms[construct_id] = alarm
