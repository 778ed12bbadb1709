"""The model-quality path on recorded responses: a synthetic day through the daily run, Athena and CloudWatch, an
account without QuickSight, a failed run (the synthetic data is still deleted), and a missing stack."""

from __future__ import annotations

import json
from datetime import date

import pytest
from botocore.stub import ANY

from stacks.model_quality.query_layer import PROJECTION_START
from tests.tools.smoke.conftest import ACCOUNT, START, body, execution, stack
from tools.smoke.core import FAIL, PASS, SKIP
from tools.smoke.model_quality import OUTPUTS, SMOKE_DAY, STACK, Settings, run_model_quality
from tools.smoke.runner import exit_code, run_smoke

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:DailyRun"
OUTPUT_VALUES = {
    "CaptureUri": "s3://capture-bucket/data-capture",
    "GroundTruthBucketName": "truth-bucket",
    "ResultsBucketName": "results-bucket",
    "ResultsDatabaseName": "model_quality",
    "AthenaWorkGroupName": "ModelQualityStack-model-quality",
    "StateMachineArn": MACHINE,
    "PrCurveApplicationId": "00fabcdef1234567",
    # Not datagen's default endpoint folder: the deployed job reads only the endpoint the stack names.
    "MetricsEndpointName": "ChurnModelStack-endpoint",
}
FAST = Settings(
    rows=1, run_timeout=600, run_poll=30, query_timeout=10, query_poll=1, metrics_timeout=120, metrics_poll=30
)
CAPTURE_KEY = "data-capture/ChurnModelStack-endpoint/AllTraffic/2024/01/01/00/capture-7.jsonl"
QUERY = "a1b2c3d4-0000-4000-8000-000000000001"
JOB_RUN = "00fjobrun0000001"
SUMMARY = {"date": "2024-01-01", "rows_joined": 1, "average_precision": 0.61}


def paths(settings=FAST):
    return {"model_quality": lambda r, c, region, p: run_model_quality(r, c, region, p, settings)}


def through_run(clients, status: str = "SUCCEEDED"):
    clients.stub("cloudformation").add_response("describe_stacks", stack(STACK, OUTPUT_VALUES), {"StackName": STACK})
    s3 = clients.stub("s3")
    s3.add_response(
        "put_object",
        {},
        {"Bucket": "capture-bucket", "Key": CAPTURE_KEY, "Body": ANY, "ContentType": "application/jsonlines"},
    )
    s3.add_response(
        "put_object", {}, {"Bucket": "truth-bucket", "Key": ANY, "Body": ANY, "ContentType": "application/jsonlines"}
    )
    sfn = clients.stub("stepfunctions")
    sfn.add_response(
        "start_execution",
        {"executionArn": f"{MACHINE}:kit-smoke-1", "startDate": START},
        {"stateMachineArn": MACHINE, "name": ANY, "input": json.dumps({"date": "2024-01-01"})},
    )
    sfn.add_response("describe_execution", execution(f"{MACHINE}:kit-smoke-1", "RUNNING"))
    output = {"run": {"date": "2024-01-01"}, "job": {"JobRunId": JOB_RUN, "State": "SUCCESS"}}
    sfn.add_response(
        "describe_execution",
        execution(
            f"{MACHINE}:kit-smoke-1",
            status,
            output if status == "SUCCEEDED" else None,
            **({} if status == "SUCCEEDED" else {"error": "States.TaskFailed", "cause": "EMR job FAILED: OOM"}),
        ),
    )
    return s3


def cleanup(s3, results_keys: list[str]) -> None:
    """Newest first: the Athena result, the day's results, then the labels and captures the run wrote."""
    s3.add_response(
        "delete_objects",
        {},
        {
            "Bucket": "results-bucket",
            "Delete": {
                "Objects": [{"Key": f"athena-results/{QUERY}.csv"}, {"Key": f"athena-results/{QUERY}.csv.metadata"}],
                "Quiet": True,
            },
        },
    )
    for dataset in ("histogram", "curve", "thresholds", "summary", "rejects", "rollup"):
        prefix = f"{dataset}/dt=2024-01-01/"
        contents = [{"Key": key} for key in results_keys if key.startswith(prefix)]
        s3.add_response(
            "list_objects_v2",
            {"Contents": contents, "IsTruncated": False},
            {"Bucket": "results-bucket", "Prefix": prefix},
        )
    if results_keys:
        s3.add_response(
            "delete_objects",
            {},
            {"Bucket": "results-bucket", "Delete": {"Objects": [{"Key": k} for k in results_keys], "Quiet": True}},
        )
    s3.add_response(
        "delete_objects", {}, {"Bucket": "truth-bucket", "Delete": {"Objects": [{"Key": ANY}], "Quiet": True}}
    )
    s3.add_response(
        "delete_objects", {}, {"Bucket": "capture-bucket", "Delete": {"Objects": [{"Key": CAPTURE_KEY}], "Quiet": True}}
    )


def test_success_without_quicksight_checks_every_layer_and_deletes_the_day(clients, clock, prices):
    s3 = through_run(clients)
    clients.stub("emr-serverless").add_response(
        "get_job_run",
        {
            "jobRun": {
                "applicationId": "00fabcdef1234567",
                "jobRunId": JOB_RUN,
                "arn": f"arn:aws:emr-serverless:us-east-1:123456789012:/applications/00fabcdef1234567/jobruns/{JOB_RUN}",
                "createdBy": "arn:aws:iam::123456789012:role/sfn",
                "createdAt": START,
                "updatedAt": START,
                "executionRole": "arn:aws:iam::123456789012:role/job",
                "state": "SUCCESS",
                "stateDetails": "Job run completed",
                "releaseLabel": "emr-7.13.0",
                "jobDriver": {"sparkSubmit": {"entryPoint": "s3://assets/pr_curve.py"}},
                "billedResourceUtilization": {"vCPUHour": 0.5, "memoryGBHour": 2.0, "storageGBHour": 0.0},
            }
        },
        {"applicationId": "00fabcdef1234567", "jobRunId": JOB_RUN},
    )
    s3.add_response(
        "get_object",
        {"Body": body(json.dumps(SUMMARY))},
        {"Bucket": "results-bucket", "Key": "summary/dt=2024-01-01/summary.json"},
    )
    athena = clients.stub("athena")
    athena.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY},
        {
            "QueryString": "SELECT rows_joined, average_precision FROM model_quality.summary WHERE dt = '2024-01-01'",
            "WorkGroup": "ModelQualityStack-model-quality",
        },
    )
    query = {
        "QueryExecutionId": QUERY,
        "ResultConfiguration": {"OutputLocation": f"s3://results-bucket/athena-results/{QUERY}.csv"},
    }
    athena.add_response("get_query_execution", {"QueryExecution": {**query, "Status": {"State": "RUNNING"}}})
    athena.add_response(
        "get_query_execution",
        {"QueryExecution": {**query, "Status": {"State": "SUCCEEDED"}}},
        {"QueryExecutionId": QUERY},
    )
    athena.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": [
                    {"Data": [{"VarCharValue": "rows_joined"}, {"VarCharValue": "average_precision"}]},
                    {"Data": [{"VarCharValue": "1"}, {"VarCharValue": "0.61"}]},
                ]
            }
        },
        {"QueryExecutionId": QUERY},
    )
    cloudwatch = clients.stub("cloudwatch")
    request = {
        "MetricDataQueries": [
            {
                "Id": "ap",
                "ReturnData": True,
                "MetricStat": {
                    "Metric": {
                        "Namespace": "MlKit/ModelQuality",
                        "MetricName": "AveragePrecision",
                        "Dimensions": [{"Name": "Endpoint", "Value": "ChurnModelStack-endpoint"}],
                    },
                    "Period": 60,
                    "Stat": "Maximum",
                },
            }
        ],
        "StartTime": ANY,
        "EndTime": ANY,
    }
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": [{"Id": "ap", "Values": []}]}, request)
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": [{"Id": "ap", "Values": [0.61]}]}, request)
    clients.stub("sts").add_response("get_caller_identity", {"Account": ACCOUNT})
    clients.stub("quicksight").add_client_error(
        "describe_account_subscription",
        "ResourceNotFoundException",
        "Account 123456789012 is not signed up",
        404,
        expected_params={"AwsAccountId": ACCOUNT},
    )
    cleanup(s3, ["summary/dt=2024-01-01/summary.json"])

    [run] = run_smoke(clients, "us-east-1", clock=clock, prices=prices, paths=paths())

    clients.assert_all_used()
    assert [(s.name, s.status) for s in run.steps] == [
        ("stack outputs", PASS),
        ("write synthetic day", PASS),
        ("start daily run", PASS),
        ("daily run succeeded", PASS),
        ("summary exists", PASS),
        ("Athena returns the day", PASS),
        ("metrics in CloudWatch", PASS),
        ("QuickSight subscription", SKIP),
        ("clean up: Athena query result", PASS),
        ("clean up: results of 2024-01-01", PASS),
        ("clean up: synthetic day in truth-bucket", PASS),
        ("clean up: synthetic day in capture-bucket", PASS),
    ]
    details = {s.name: s.detail for s in run.steps}
    assert details["write synthetic day"] == "1 captures and 1 labels for 2024-01-01 (2 files)"
    assert details["summary exists"] == "1 rows joined, average precision 0.610"
    assert details["metrics in CloudWatch"] == "MlKit/ModelQuality AveragePrecision 0.610"
    assert details["QuickSight subscription"].startswith("the account has no QuickSight subscription")
    [charge] = run.charges
    assert charge.usd == pytest.approx(0.5 * 0.042094 + 2.0 * 0.004628)
    assert exit_code([run]) == 0
    assert set(OUTPUT_VALUES) == set(OUTPUTS)


def test_a_failed_run_fails_the_step_and_still_deletes_the_synthetic_day(clients, clock, prices):
    s3 = through_run(clients, status="FAILED")
    s3.add_response("list_objects_v2", {"IsTruncated": False})  # histogram/ ... rollup/: the job wrote nothing
    for _ in range(5):
        s3.add_response("list_objects_v2", {"IsTruncated": False})
    s3.add_response(
        "delete_objects", {}, {"Bucket": "truth-bucket", "Delete": {"Objects": [{"Key": ANY}], "Quiet": True}}
    )
    s3.add_response(
        "delete_objects", {}, {"Bucket": "capture-bucket", "Delete": {"Objects": [{"Key": CAPTURE_KEY}], "Quiet": True}}
    )

    [run] = run_smoke(clients, "us-east-1", clock=clock, prices=prices, paths=paths())

    clients.assert_all_used()
    failed = [(s.name, s.detail) for s in run.steps if s.status == FAIL]
    assert failed == [("daily run succeeded", "daily run FAILED: States.TaskFailed EMR job FAILED: OOM")]
    assert [s.name for s in run.steps if s.name.startswith("clean up")] == [
        "clean up: results of 2024-01-01",
        "clean up: synthetic day in truth-bucket",
        "clean up: synthetic day in capture-bucket",
    ]
    assert exit_code([run]) == 1


def test_a_missing_stack_is_said_plainly_and_nothing_else_runs(clients, clock, prices):
    clients.stub("cloudformation").add_client_error(
        "describe_stacks",
        "ValidationError",
        "Stack with id ModelQualityStack does not exist",
        expected_params={"StackName": STACK},
    )

    [run] = run_smoke(clients, "eu-west-1", clock=clock, prices=prices, paths=paths())

    clients.assert_all_used()
    assert [(s.name, s.status, s.detail) for s in run.steps] == [
        (
            "stack outputs",
            SKIP,
            "stack ModelQualityStack is not deployed in eu-west-1: deploy it "
            "(npx cdk deploy ModelQualityStack) or leave it out with --only",
        )
    ]
    assert exit_code([run]) == 2


def test_a_stack_that_rolled_back_is_not_read(clients, clock, prices):
    clients.stub("cloudformation").add_response("describe_stacks", stack(STACK, {}, status="ROLLBACK_COMPLETE"))

    [run] = run_smoke(clients, "us-east-1", clock=clock, prices=prices, paths=paths())

    assert run.steps[0].status == SKIP and "is ROLLBACK_COMPLETE" in run.steps[0].detail


def test_the_smoke_day_is_the_first_day_athena_projects():
    assert SMOKE_DAY == date.fromisoformat(PROJECTION_START)
