import boto3
import pytest
from botocore.stub import Stubber

from sql_runner import DataApiRunner, StatementAborted, StatementFailed, StatementTimeout


@pytest.fixture()
def stubbed():
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(client)
    sleeps = []
    ticks = iter(range(0, 10_000, 10))
    runner = DataApiRunner(
        client=client,
        workgroup_name="job-matching",
        database="dev",
        secret_arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
        poll_seconds=1,
        timeout_seconds=25,
        sleep=sleeps.append,
        clock=lambda: next(ticks),
    )
    with stubber:
        yield runner, stubber, sleeps
        stubber.assert_no_pending_responses()


EXECUTE = {
    "WorkgroupName": "job-matching",
    "Database": "dev",
    "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
}


def test_finished_statement_passes_values_as_parameters(stubbed):
    runner, stubber, _ = stubbed
    stubber.add_response(
        "execute_statement",
        {"Id": "s1"},
        {**EXECUTE, "Sql": "SELECT :a", "Parameters": [{"name": "a", "value": "7"}]},
    )
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED"}, {"Id": "s1"})
    assert runner.run("SELECT :a", {"a": 7})["Status"] == "FINISHED"


def test_failed_statement_raises_with_redshift_error_text(stubbed):
    runner, stubber, _ = stubbed
    stubber.add_response("execute_statement", {"Id": "s1"}, {**EXECUTE, "Sql": "SELECT 1"})
    stubber.add_response(
        "describe_statement",
        {"Id": "s1", "Status": "FAILED", "Error": 'ERROR: relation "jobs" does not exist'},
        {"Id": "s1"},
    )
    with pytest.raises(StatementFailed, match='relation "jobs" does not exist'):
        runner.run("SELECT 1")


def test_aborted_statement_raises(stubbed):
    runner, stubber, _ = stubbed
    stubber.add_response("execute_statement", {"Id": "s1"}, {**EXECUTE, "Sql": "SELECT 1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "ABORTED"}, {"Id": "s1"})
    with pytest.raises(StatementAborted, match="s1 was aborted"):
        runner.run("SELECT 1")


def test_throttling_is_retried_with_backoff(stubbed):
    runner, stubber, sleeps = stubbed
    stubber.add_client_error("execute_statement", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_client_error("execute_statement", service_error_code="ThrottlingException", http_status_code=400)
    stubber.add_response("execute_statement", {"Id": "s1"}, {**EXECUTE, "Sql": "SELECT 1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED"}, {"Id": "s1"})
    runner.run("SELECT 1")
    assert sleeps == [0.5, 1.0]


def test_other_client_errors_are_not_retried(stubbed):
    runner, stubber, _ = stubbed
    stubber.add_client_error("execute_statement", service_error_code="ValidationException", http_status_code=400)
    with pytest.raises(Exception, match="ValidationException"):
        runner.run("SELECT 1")


def test_timeout_cancels_the_statement(stubbed):
    runner, stubber, _ = stubbed
    stubber.add_response("execute_statement", {"Id": "s1"}, {**EXECUTE, "Sql": "SELECT 1"})
    for _ in range(3):  # the clock reads 0 (deadline 25), then 10, 20 and 30 after each description
        stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": "s1"})
    with pytest.raises(StatementTimeout, match="still STARTED after 30 s; cancelled"):
        runner.run("SELECT 1")


def test_the_overall_deadline_stops_waiting_before_the_statement_timeout(stubbed):
    runner, stubber, _ = stubbed
    runner.deadline = 5  # the clock reads 0, then 10: past the deadline long before the 25 s timeout
    stubber.add_response("execute_statement", {"Id": "s1"}, {**EXECUTE, "Sql": "SELECT 1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": "s1"})
    with pytest.raises(StatementTimeout, match="still STARTED after 10 s; cancelled"):
        runner.run("SELECT 1")


def test_query_reads_every_page_and_decodes_fields(stubbed):
    runner, stubber, _ = stubbed
    stubber.add_response("execute_statement", {"Id": "s1"}, {**EXECUTE, "Sql": "SELECT x"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED", "HasResultSet": True}, {"Id": "s1"})
    columns = [{"name": "model_name"}, {"name": "precision_at_k"}]
    stubber.add_response(
        "get_statement_result",
        {"Records": [[{"stringValue": "m1"}, {"doubleValue": 0.5}]], "ColumnMetadata": columns, "NextToken": "t"},
        {"Id": "s1"},
    )
    stubber.add_response(
        "get_statement_result",
        {"Records": [[{"stringValue": "m2"}, {"isNull": True}]], "ColumnMetadata": columns},
        {"Id": "s1", "NextToken": "t"},
    )
    assert runner.query("SELECT x") == [
        {"model_name": "m1", "precision_at_k": 0.5},
        {"model_name": "m2", "precision_at_k": None},
    ]


def test_batches_hold_one_to_forty_statements(stubbed):
    runner, _, _ = stubbed
    with pytest.raises(ValueError, match="1 to 40 statements, not 41"):
        runner.submit_batch(["SELECT 1"] * 41)
