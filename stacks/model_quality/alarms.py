"""Alarms on the daily run, to the run's SNS topic: job failed, run missed (no summary by the deadline), no
predictions captured, average precision low or dropping, label coverage low."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

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
        endpoint_name: str,
    ) -> None:
        super().__init__(scope, construct_id)

        def metric(name: str, statistic: str, period: Duration = DAY) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=NAMESPACE,
                metric_name=name,
                dimensions_map={"Endpoint": endpoint_name},
                statistic=statistic,
                period=period,
            )

        # Each alarm's period and missing-data treatment, with why. No alarm treats missing data as breaching: an
        # idle sandbox (schedules off) publishes nothing, and "breaching" would put it in ALARM from deploy
        # (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html).
        definitions: dict[str, dict[str, Any]] = {
            # 1 day: one run a day; notBreaching: a day without a failed execution is a good day.
            "JobFailedAlarm": dict(
                name="run-failed",
                metric=run.state_machine.metric_failed(period=DAY, statistic="Sum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The daily model-quality run failed (see the SNS notification for the cause).",
            ),
            # 1 hour: the deadline check publishes one point at the run's deadline, so the alarm fires within the
            # hour and clears itself (the notice is the action); notBreaching: no point means no run was due
            # (schedules off, or before the first scheduled run of a new deployment).
            "NoSummaryAlarm": dict(
                name="run-missed",
                metric=metric("RunMissed", "Maximum", Duration.hours(1)),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The day's model-quality run had not succeeded by its deadline: no summary was "
                "published (the run failed, timed out or never started).",
            ),
            # 1 day: one summary a day; notBreaching: no summary is the run-missed alarm's notice, not this one's.
            "NoPredictionsAlarm": dict(
                name="no-predictions",
                metric=metric("RowsCaptured", "Maximum"),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="The day's summary counts no captured predictions: the endpoint is not deployed, "
                "not invoked, or not capturing to the monitored location.",
            ),
            # 1 day: one summary a day; notBreaching: a day without labelled positives publishes no precision.
            "AveragePrecisionLowAlarm": dict(
                name="average-precision-low",
                metric=metric("AveragePrecision", "Minimum"),
                threshold=settings.quality_min_average_precision,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Average precision of the day is below the configured minimum.",
            ),
            # 1 day: one summary a day; notBreaching: no history or no precision, no drop to compare.
            "AveragePrecisionDropAlarm": dict(
                name="average-precision-drop",
                metric=metric("AveragePrecisionDrop", "Maximum"),
                threshold=settings.quality_max_average_precision_drop,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Average precision fell more than the configured fraction below its 7-day average.",
            ),
            # 1 day: one summary a day; notBreaching: no summary is the run-missed alarm's notice, not this one's.
            "LabelCoverageLowAlarm": dict(
                name="label-coverage-low",
                metric=metric("LabelCoverage", "Minimum"),
                threshold=settings.quality_min_label_coverage,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description="Too few of the day's predictions have a label; metrics rest on a sample.",
            ),
        }
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for construct_id, props in definitions.items():
            name = props.pop("name")
            alarm = cloudwatch.Alarm(
                self,
                construct_id,
                alarm_name=run.topic.alarm_name(f"{endpoint_name}-{name}"),
                evaluation_periods=1,
                **props,
            )
            run.topic.notify_on(alarm)
            self.alarms[construct_id] = alarm
