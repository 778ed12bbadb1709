"""Model quality: one synthetic day of capture and labels -> the daily run for that day -> summary exists ->
Athena returns the day through the workgroup -> the metrics are in CloudWatch. QuickSight is checked when the
account has a subscription."""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from datagen.data_capture import write_scored_day
from tools.cost.estimate import PriceTable
from tools.smoke.core import (
    Clients,
    Prerequisite,
    Run,
    StepFailed,
    delete_keys,
    list_keys,
    read_outputs,
    split_s3_uri,
    wait_for,
)

STACK = "ModelQualityStack"
# The stack outputs this path reads; a test checks that the synthesized stack has each.
OUTPUTS = (
    "CaptureUri",
    "GroundTruthBucketName",
    "ResultsBucketName",
    "ResultsDatabaseName",
    "AthenaWorkGroupName",
    "StateMachineArn",
    "PrCurveApplicationId",
    "MetricsEndpointName",
)
# The first day the Glue tables' partition projection covers (query_layer.PROJECTION_START): old enough that no
# real endpoint's captures or results are there, and Athena still finds it.
SMOKE_DAY = date(2024, 1, 1)
RESULT_DATASETS = ("histogram", "curve", "thresholds", "summary", "rejects", "rollup")
METRICS_NAMESPACE = "MlKit/ModelQuality"


@dataclass(frozen=True)
class Settings:
    """Rows of the synthetic day, and bounded waits (seconds)."""

    rows: int = 2_000
    positive_rate: float = 0.2
    label_delay_days: int = 1
    run_timeout: float = 90 * 60
    run_poll: float = 30
    query_timeout: float = 300
    query_poll: float = 2
    metrics_timeout: float = 10 * 60
    metrics_poll: float = 30


def run_model_quality(
    run: Run, clients: Clients, region: str, prices: PriceTable, settings: Settings = Settings(), *, stack: str = STACK
) -> None:
    outputs = run.step(
        "stack outputs",
        lambda: read_outputs(clients("cloudformation"), stack, region),
        lambda o: f"{len(o.outputs)} outputs of {stack}",
    )
    s3 = clients("s3")
    day = SMOKE_DAY
    run.step("write synthetic day", lambda: _write_day(run, s3, outputs, day, settings), lambda text: text)

    sfn = clients("stepfunctions")
    run_started = run.clock.wall()
    execution_arn = run.step(
        "start daily run",
        lambda: sfn.start_execution(
            stateMachineArn=outputs["StateMachineArn"],
            name=f"kit-smoke-{uuid.uuid4().hex[:12]}",
            input=json.dumps({"date": day.isoformat()}),
        )["executionArn"],
        lambda arn: arn.rsplit(":", 1)[-1],
    )
    results_bucket = outputs["ResultsBucketName"]
    run.on_cleanup(f"results of {day}", lambda: _delete_results(s3, results_bucket, day))

    def finished() -> dict | None:
        execution = sfn.describe_execution(executionArn=execution_arn)
        return None if execution["status"] == "RUNNING" else execution

    execution = run.step(
        "daily run succeeded",
        lambda: _succeeded(
            wait_for(
                finished, what="daily run", timeout=settings.run_timeout, interval=settings.run_poll, clock=run.clock
            )
        ),
        lambda e: f"job run {json.loads(e['output'])['job']['JobRunId']}",
    )
    run.estimate(lambda: _charge(run, clients, outputs, prices, json.loads(execution["output"])))

    run.step(
        "summary exists",
        lambda: _summary(s3, results_bucket, day),
        lambda s: f"{s['rows_joined']} rows joined, average precision {s['average_precision']:.3f}",
    )
    athena = clients("athena")
    run.step(
        "Athena returns the day",
        lambda: _athena_day(run, athena, s3, outputs, day, settings),
        lambda n: f"{n} summary row(s) for {day} through workgroup {outputs['AthenaWorkGroupName']}",
    )
    cloudwatch = clients("cloudwatch")
    run.step(
        "metrics in CloudWatch",
        lambda: _metrics(run, cloudwatch, outputs, run_started, settings),
        lambda value: f"{METRICS_NAMESPACE} AveragePrecision {value:.3f}",
    )
    _quicksight(run, clients, outputs)


def _write_day(run: Run, s3: Any, outputs: Any, day: date, settings: Settings) -> str:
    """datagen writes the day locally in the Data Capture and ground-truth layouts; each file goes to its S3 key."""
    capture_bucket, capture_prefix = split_s3_uri(outputs["CaptureUri"])
    truth_bucket = outputs["GroundTruthBucketName"]
    with tempfile.TemporaryDirectory() as work:
        captures, labels = Path(work, "captures"), Path(work, "labels")
        # Under the endpoint the deployed job reads (its --endpoint, the stack's MetricsEndpointName), not datagen's.
        written = write_scored_day(
            captures,
            labels,
            day,
            settings.rows,
            settings.positive_rate,
            label_delay_days=settings.label_delay_days,
            endpoint=outputs["MetricsEndpointName"],
        )
        uploads = [
            (capture_bucket, f"{capture_prefix}/{p.relative_to(captures).as_posix()}".lstrip("/"), p)
            for p in sorted(captures.rglob("*.jsonl"))
        ]
        uploads += [(truth_bucket, p.relative_to(labels).as_posix(), p) for p in sorted(labels.rglob("*.jsonl"))]
        by_bucket: dict[str, list[str]] = {}
        for bucket, key, path in uploads:
            by_bucket.setdefault(bucket, []).append(key)
            if len(by_bucket[bucket]) == 1:
                run.on_cleanup(
                    f"synthetic day in {bucket}", lambda b=bucket: f"{delete_keys(s3, b, by_bucket[b])} objects deleted"
                )
            # The buckets encrypt with their default KMS key; no SSE header is needed.
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="application/jsonlines")
    return f"{settings.rows} captures and {len(written.labels)} labels for {day} ({len(uploads)} files)"


def _succeeded(execution: dict) -> dict:
    if execution["status"] != "SUCCEEDED":
        raise StepFailed(
            f"daily run {execution['status']}: {execution.get('error', '')} {execution.get('cause', '')}".strip()
        )
    return execution


def _summary(s3: Any, bucket: str, day: date) -> dict:
    key = f"summary/dt={day.isoformat()}/summary.json"
    try:
        summary = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except s3.exceptions.NoSuchKey:
        raise StepFailed(f"no s3://{bucket}/{key} after the run succeeded") from None
    if not summary.get("rows_joined"):
        raise StepFailed(f"s3://{bucket}/{key} joined no rows: {summary.get('rejected')}")
    return summary


def _athena_day(run: Run, athena: Any, s3: Any, outputs: Any, day: date, settings: Settings) -> int:
    """StartQueryExecution in the workgroup (which enforces its encrypted result location), wait, read the rows.
    https://docs.aws.amazon.com/athena/latest/APIReference/API_StartQueryExecution.html"""
    database = outputs["ResultsDatabaseName"]
    query_id = athena.start_query_execution(
        QueryString=f"SELECT rows_joined, average_precision FROM {database}.summary WHERE dt = '{day.isoformat()}'",
        WorkGroup=outputs["AthenaWorkGroupName"],
    )["QueryExecutionId"]

    def done() -> dict | None:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        return execution if execution["Status"]["State"] in ("SUCCEEDED", "FAILED", "CANCELLED") else None

    execution = wait_for(
        done, what="Athena query", timeout=settings.query_timeout, interval=settings.query_poll, clock=run.clock
    )
    output = execution.get("ResultConfiguration", {}).get("OutputLocation")
    if output:
        bucket, key = split_s3_uri(output)
        run.on_cleanup(
            "Athena query result", lambda: f"{delete_keys(s3, bucket, [key, key + '.metadata'])} objects deleted"
        )
    if execution["Status"]["State"] != "SUCCEEDED":
        raise StepFailed(
            f"Athena query {execution['Status']['State']}: {execution['Status'].get('StateChangeReason', '')}"
        )
    rows = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]["Rows"][1:]  # the first row is the header
    if not rows:
        raise StepFailed(f"Athena found no summary row for dt={day}")
    return len(rows)


def _metrics(run: Run, cloudwatch: Any, outputs: Any, since: Any, settings: Settings) -> float:
    """GetMetricData for the metric the run published; a datapoint can take a few minutes to be readable."""
    dimensions = [{"Name": "Endpoint", "Value": outputs["MetricsEndpointName"]}]

    def published() -> float | None:
        response = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "ap",
                    "ReturnData": True,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": METRICS_NAMESPACE,
                            "MetricName": "AveragePrecision",
                            "Dimensions": dimensions,
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=since - timedelta(minutes=5),
            EndTime=run.clock.wall() + timedelta(minutes=1),
        )
        values = response["MetricDataResults"][0]["Values"]
        return values[0] if values else None

    return wait_for(
        published,
        what="AveragePrecision metric",
        timeout=settings.metrics_timeout,
        interval=settings.metrics_poll,
        clock=run.clock,
    )


def _quicksight(run: Run, clients: Clients, outputs: Any) -> None:
    """DescribeAccountSubscription answers ResourceNotFoundException when the account has no QuickSight.
    https://docs.aws.amazon.com/quicksight/latest/APIReference/API_DescribeAccountSubscription.html"""
    account = clients("sts").get_caller_identity()["Account"]
    quicksight = clients("quicksight")

    def subscription() -> str:
        try:
            info = quicksight.describe_account_subscription(AwsAccountId=account)["AccountInfo"]
        except quicksight.exceptions.ResourceNotFoundException:
            raise Prerequisite(
                "the account has no QuickSight subscription: the dashboard is not deployed; "
                "subscribe (Enterprise edition) and set kit:quicksight_owner_arn to add it"
            ) from None
        return f"{info.get('Edition')} {info.get('AccountSubscriptionStatus')}"

    try:
        run.step("QuickSight subscription", subscription)
    except Prerequisite:
        return
    url = outputs.get("DashboardUrl")
    if url is None:
        run.skip("QuickSight dashboard", "not deployed: set kit:quicksight_owner_arn and redeploy")
        return
    dashboard_id = url.rstrip("/").rsplit("/", 1)[-1]

    def dashboard() -> str:
        version = quicksight.describe_dashboard(AwsAccountId=account, DashboardId=dashboard_id)["Dashboard"]["Version"]
        if version["Status"] != "CREATION_SUCCESSFUL":
            raise StepFailed(f"dashboard {dashboard_id} is {version['Status']}: {version.get('Errors')}")
        return f"{dashboard_id} version {version['VersionNumber']}"

    run.step("QuickSight dashboard", dashboard)


def _delete_results(s3: Any, bucket: str, day: date) -> str:
    keys = [key for dataset in RESULT_DATASETS for key in list_keys(s3, bucket, f"{dataset}/dt={day.isoformat()}/")]
    return f"{delete_keys(s3, bucket, keys)} objects deleted"


def _charge(run: Run, clients: Clients, outputs: Any, prices: PriceTable, result: dict) -> None:
    """The job run's billed vCPU-hours and GB-hours (EMR Serverless GetJobRun), at the ARM64 prices."""
    job_run = clients("emr-serverless").get_job_run(
        applicationId=outputs["PrCurveApplicationId"], jobRunId=result["job"]["JobRunId"]
    )["jobRun"]
    billed = job_run.get("billedResourceUtilization", {})
    vcpu_hours, gb_hours = billed.get("vCPUHour", 0.0), billed.get("memoryGBHour", 0.0)
    run.charge(
        f"EMR Serverless, {vcpu_hours:.2f} vCPU-hours and {gb_hours:.2f} GB-hours",
        vcpu_hours * prices("emr_serverless_vcpu_hour_arm64") + gb_hours * prices("emr_serverless_gb_hour_arm64"),
    )
