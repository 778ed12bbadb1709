"""handler() run through its environment and the real DataApiRunner, with the Data API stubbed by botocore's Stubber
(request shapes checked against the service model): the default clocks are UTC wall time (issue 22: a default `now`
that returns None, or check_model's default clock, passed every test that injects `now`)."""

import time
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import ANY, Stubber

import lifecycle
from tests.lambdas.redshift_sql.test_lifecycle import ENVIRONMENT, LambdaContext

TARGET = {"WorkgroupName": "job-matching", "Database": "dev"}
DEADLINE = 5400 + 7200  # MAX_RUNTIME_SECONDS + COMPILE_MARGIN_SECONDS


@pytest.fixture
def data_api(monkeypatch):
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(boto3, "client", lambda service: client if service == "redshift-data" else None)
    for name, value in {**ENVIRONMENT, "WORKGROUP_NAME": "job-matching", "DATABASE": "dev"}.items():
        monkeypatch.setenv(name, value)
    stubber = Stubber(client)
    with stubber:
        yield stubber
    stubber.assert_no_pending_responses()


def expect_query(stubber, statement_id, columns, records, parameters=None):
    request = {**TARGET, "Sql": ANY, **({"Parameters": parameters} if parameters else {})}
    stubber.add_response("execute_statement", {"Id": statement_id}, request)
    stubber.add_response(
        "describe_statement", {"Id": statement_id, "Status": "FINISHED", "HasResultSet": True}, {"Id": statement_id}
    )
    stubber.add_response(
        "get_statement_result",
        {"ColumnMetadata": [{"name": c} for c in columns], "Records": records, "TotalNumRows": len(records)},
        {"Id": statement_id},
    )


def test_start_training_through_the_handler_names_the_version_by_the_utc_time_it_records(data_api):
    expect_query(data_api, "abandoned", ["model_name"], [], parameters=ANY)
    expect_query(data_api, "guard", ["model_name"], [], parameters=ANY)
    data_api.add_response("execute_statement", {"Id": "count"}, {**TARGET, "Sql": ANY})
    data_api.add_response(
        "describe_statement", {"Id": "count", "Status": "FINISHED", "HasResultSet": True}, {"Id": "count"}
    )
    data_api.add_response(
        "get_statement_result",
        {"ColumnMetadata": [{"name": "training_rows"}], "Records": [[{"longValue": 200}]], "TotalNumRows": 1},
        {"Id": "count"},
    )
    data_api.add_response("execute_statement", {"Id": "insert"}, {**TARGET, "Sql": ANY, "Parameters": ANY})
    data_api.add_response("describe_statement", {"Id": "insert", "Status": "FINISHED"}, {"Id": "insert"})
    data_api.add_response("execute_statement", {"Id": "create"}, {**TARGET, "Sql": ANY})
    before = time.time()
    result = lifecycle.handler({"action": "start_training"}, LambdaContext())
    assert before - 1 <= result["started_at"] <= time.time()
    started = datetime.fromtimestamp(result["started_at"], timezone.utc)
    assert result["model_name"] == f"job_match_v{started:%Y%m%d%H%M%S}"
    assert result["statement_id"] == "create" and result["max_cells"] == 1800
    assert result["abandoned"] == []


@pytest.mark.parametrize(("age", "state"), [(60, "TRAINING"), (DEADLINE + 120, "FAILED")])
def test_check_model_through_the_handler_measures_the_age_on_the_wall_clock(data_api, age, state):
    parameters = [{"name": "schema_name", "value": "jobmatch"}, {"name": "model_name", "value": "job_match_v1"}]
    expect_query(data_api, "state", ["model_state"], [[{"stringValue": "TRAINING"}]], parameters)
    event = {"action": "check_model", "model_name": "job_match_v1", "started_at": time.time() - age}
    assert lifecycle.handler(event, LambdaContext()) == {"state": state, "model_state": "TRAINING"}


def test_check_statement_describes_the_statement_the_event_names(data_api):
    data_api.add_response("describe_statement", {"Id": "create-7", "Status": "STARTED"}, {"Id": "create-7"})
    event = {"action": "check_statement", "statement_id": "create-7", "model_name": "job_match_v1"}
    assert lifecycle.handler(event, LambdaContext()) == {"status": "STARTED"}


def test_a_model_show_model_knows_nothing_about_fails_with_a_reason_and_is_still_dropped(data_api):
    expect_query(data_api, "show", ["key", "value"], [])
    mark = [{"name": "status", "value": "failed"}, {"name": "model_name", "value": "job_match_v1"}]
    data_api.add_response("execute_statement", {"Id": "mark"}, {**TARGET, "Sql": ANY, "Parameters": mark})
    data_api.add_response("describe_statement", {"Id": "mark", "Status": "FINISHED"}, {"Id": "mark"})
    data_api.add_response("execute_statement", {"Id": "drop"}, {**TARGET, "Sql": ANY})
    data_api.add_response("describe_statement", {"Id": "drop", "Status": "FINISHED"}, {"Id": "drop"})
    result = lifecycle.handler({"action": "describe_failure", "model_name": "job_match_v1"}, LambdaContext())
    assert result == {"model_name": "job_match_v1", "reason": "SHOW MODEL returned nothing"}
