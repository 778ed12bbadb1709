"""The Redshift ML path on recorded responses: success, a failed training, no Redshift ML access, a timeout."""

from __future__ import annotations

import json

import pytest

from tests.tools.smoke.conftest import START, execution, stack
from tools.smoke.core import FAIL, PASS, StepFailed
from tools.smoke.redshift_ml import OUTPUTS, STACK, Settings, run_redshift_ml

MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Lifecycle"
SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift!job-matching-admin-AbCdEf"
OUTPUT_VALUES = {
    "LifecycleStateMachineArn": MACHINE,
    "WorkgroupName": "job-matching",
    "DatabaseName": "dev",
    "AdminSecretArn": SECRET,
    "RecommendationsTable": "jobmatch.recommendations",
    "ModelBucketName": "model-bucket",
}
FAST = Settings(lifecycle_timeout=180, lifecycle_poll=60, query_timeout=10, query_poll=1)
STATEMENT = "d9b6c0c9-0747-4bf4-b142-e8883122f766"
RESULT = {
    "model": {"model_name": "job_match_v20261129120000", "max_cells": 900_000},
    "evaluation": {"k": 10, "candidate": {"precision_at_k": 0.31, "recall_at_k": 0.52, "seekers": 812}},
    "promotion": {"serving": "job_match_v20261129120000"},
    "cleanup": {"dropped": []},
}


def started(clients, polls: int = 1):
    clients.stub("cloudformation").add_response("describe_stacks", stack(STACK, OUTPUT_VALUES), {"StackName": STACK})
    sfn = clients.stub("stepfunctions")
    sfn.add_response("start_execution", {"executionArn": f"{MACHINE}:kit-smoke-1", "startDate": START})
    for _ in range(polls):
        sfn.add_response(
            "describe_execution",
            execution(f"{MACHINE}:kit-smoke-1", "RUNNING"),
            {"executionArn": f"{MACHINE}:kit-smoke-1"},
        )
    return sfn


def test_success_reports_the_model_the_rows_and_precision_at_k(clients, make_run, prices, clock):
    sfn = started(clients, polls=2)
    sfn.add_response("describe_execution", execution(f"{MACHINE}:kit-smoke-1", "SUCCEEDED", RESULT))
    clients.stub("redshift-serverless").add_response(
        "get_workgroup",
        {"workgroup": {"workgroupName": "job-matching", "baseCapacity": 8}},
        {"workgroupName": "job-matching"},
    )
    data = clients.stub("redshift-data")
    data.add_response(
        "execute_statement",
        {"Id": STATEMENT},
        {
            "WorkgroupName": "job-matching",
            "Database": "dev",
            "SecretArn": SECRET,
            "Sql": "SELECT COUNT(*) FROM jobmatch.recommendations",
        },
    )
    data.add_response("describe_statement", {"Id": STATEMENT, "Status": "STARTED"}, {"Id": STATEMENT})
    data.add_response("describe_statement", {"Id": STATEMENT, "Status": "FINISHED"}, {"Id": STATEMENT})
    data.add_response(
        "get_statement_result", {"Records": [[{"longValue": 8120}]], "TotalNumRows": 1}, {"Id": STATEMENT}
    )

    run = make_run("redshift_ml")
    run_redshift_ml(run, clients, "us-east-1", prices, FAST)

    clients.assert_all_used()
    assert [(s.name, s.status) for s in run.steps] == [
        ("stack outputs", PASS),
        ("start lifecycle", PASS),
        ("model ready", PASS),
        ("recommendations have rows", PASS),
        ("precision@K reported", PASS),
    ]
    details = {s.name: s.detail for s in run.steps}
    assert details["model ready"] == "job_match_v20261129120000 promoted"
    assert details["recommendations have rows"] == "8120 rows in jobmatch.recommendations"
    assert details["precision@K reported"].startswith("precision@10 0.310, recall@10 0.520 over 812 seekers")
    assert clock.sleeps == [60, 60, 1]  # two lifecycle polls, one Data API poll: no real waiting
    # 8 RPU for the 120 s the lifecycle took, and 0.9 million training cells at the first tier's $20.
    charges = {c.item: c.usd for c in run.charges}
    assert charges["Redshift Serverless, at most 0.3 RPU-hours"] == pytest.approx(8 * 120 / 3600 * 0.375)
    assert charges["Redshift ML training, 0.90 million cells"] == pytest.approx(18.0)
    assert set(OUTPUT_VALUES) - {"ModelBucketName"} == set(OUTPUTS)


def test_a_failed_training_stops_the_path_with_the_reason_show_model_gave(clients, make_run, prices):
    sfn = started(clients)
    arn = f"{MACHINE}:kit-smoke-1"
    sfn.add_response("describe_execution", execution(arn, "FAILED", error="States.TaskFailed", cause="Training failed"))
    failure = {"failure": {"model_name": "job_match_v1", "reason": "Not enough rows: 120 < 500"}}
    sfn.add_response(
        "get_execution_history",
        {
            "events": [
                {
                    "timestamp": START,
                    "type": "ExecutionFailed",
                    "id": 9,
                    "executionFailedEventDetails": {"error": "States.TaskFailed", "cause": "Training failed"},
                },
                {
                    "timestamp": START,
                    "type": "TaskStateEntered",
                    "id": 8,
                    "stateEnteredEventDetails": {"name": "NotifyTrainingFailed", "input": json.dumps(failure)},
                },
            ]
        },
        {"executionArn": arn, "reverseOrder": True, "maxResults": 100},
    )

    run = make_run("redshift_ml")
    with pytest.raises(StepFailed):
        run_redshift_ml(run, clients, "us-east-1", prices, FAST)

    clients.assert_all_used()
    last = run.steps[-1]
    assert (last.name, last.status) == ("model ready", FAIL)
    assert last.detail == "lifecycle execution FAILED: model job_match_v1 failed: Not enough rows: 120 < 500"


def _failed_with(clients, cause: str) -> None:
    sfn = started(clients)
    arn = f"{MACHINE}:kit-smoke-1"
    sfn.add_response("describe_execution", execution(arn, "FAILED"))
    event = {"error": "StatementError", "cause": cause}
    sfn.add_response(
        "get_execution_history",
        {
            "events": [
                {"timestamp": START, "type": "LambdaFunctionFailed", "id": 5, "lambdaFunctionFailedEventDetails": event}
            ]
        },
    )


def test_a_denied_action_is_reported_as_the_kits_permission_not_the_accounts(clients, make_run, prices):
    """The kit's roles are the kit's: a denied call is a policy it lacks (or an SCP), never 'this account'."""
    _failed_with(clients, "CREATE MODEL failed: User is not authorized to perform sagemaker:CreateTrainingJob")

    run = make_run("redshift_ml")
    with pytest.raises(StepFailed):
        run_redshift_ml(run, clients, "us-east-1", prices, FAST)

    detail = run.steps[-1].detail
    assert detail.startswith(
        "a role was denied an action: StatementError: CREATE MODEL failed: User is not authorized to perform "
        "sagemaker:CreateTrainingJob. The kit's policies should allow every call the lifecycle makes: this is a "
        "defect of the kit to report, unless an SCP or permissions boundary"
    )
    assert "this account or region" not in detail


def test_redshift_ml_unavailable_in_the_region_is_said_plainly(clients, make_run, prices):
    _failed_with(clients, "CREATE MODEL failed: Redshift ML is not supported in this region")

    run = make_run("redshift_ml")
    with pytest.raises(StepFailed):
        run_redshift_ml(run, clients, "us-east-1", prices, FAST)

    assert run.steps[-1].detail.startswith(
        "Redshift ML could not train in this account or region: StatementError: CREATE MODEL failed: Redshift ML is "
        "not supported"
    )


def test_a_lifecycle_that_never_finishes_times_out_without_waiting(clients, make_run, prices, clock):
    started(clients, polls=4)  # polls at 0, 60, 120 and 180 s; the timeout is 180 s

    run = make_run("redshift_ml")
    with pytest.raises(StepFailed):
        run_redshift_ml(run, clients, "us-east-1", prices, FAST)

    clients.assert_all_used()
    last = run.steps[-1]
    assert (last.name, last.status, last.detail) == ("model ready", FAIL, "lifecycle execution: not done after 180 s")
    assert sum(clock.sleeps) == 180 and last.seconds == 180
