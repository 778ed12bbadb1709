"""The batch size bounds, the throttling retry cap and backoff ceiling, and the request shapes sent (issue 22: none
of these was exercised). Request and response shapes are checked by botocore's Stubber against the service model."""

import time

import boto3
import pytest
from botocore.stub import Stubber

from sql_runner import DataApiRunner, StatementTimeout

SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:s"


def make_runner(**overrides):
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    sleeps = []
    ticks = iter(range(0, 10_000, 10))
    settings = {"secret_arn": SECRET, "poll_seconds": 1, "timeout_seconds": 25, **overrides}
    runner = DataApiRunner(
        client=client,
        workgroup_name="job-matching",
        database="dev",
        sleep=sleeps.append,
        clock=lambda: next(ticks),
        **settings,
    )
    return runner, Stubber(client), sleeps


@pytest.mark.parametrize("size", [1, 40])
def test_a_batch_of_one_or_forty_statements_is_sent_as_one_transaction(size):
    runner, stubber, _ = make_runner()
    statements = [f"SELECT {i}" for i in range(size)]
    stubber.add_response(
        "batch_execute_statement",
        {"Id": "b1"},
        {"WorkgroupName": "job-matching", "Database": "dev", "SecretArn": SECRET, "Sqls": statements},
    )
    stubber.add_response("describe_statement", {"Id": "b1", "Status": "FINISHED"}, {"Id": "b1"})
    with stubber:
        assert runner.run_batch(statements)["Status"] == "FINISHED"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize("size", [0, 41])
def test_an_empty_or_oversized_batch_is_refused_before_any_call(size):
    runner, stubber, _ = make_runner()
    with stubber, pytest.raises(ValueError, match=rf"A batch holds 1 to 40 statements, not {size}\."):
        runner.submit_batch(["SELECT 1"] * size)


def test_throttling_is_retried_five_times_then_raised():
    runner, stubber, sleeps = make_runner()
    for _ in range(6):
        stubber.add_client_error("execute_statement", service_error_code="ThrottlingException", http_status_code=400)
    with stubber, pytest.raises(Exception, match="ThrottlingException"):
        runner.submit("SELECT 1")
    stubber.assert_no_pending_responses()
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0]


@pytest.mark.parametrize("code", ["TooManyRequestsException", "RequestLimitExceeded"])
def test_backoff_doubles_up_to_twenty_seconds_for_every_throttling_code(code):
    runner, stubber, sleeps = make_runner(max_throttle_retries=7)
    for _ in range(7):
        stubber.add_client_error("describe_statement", service_error_code=code, http_status_code=400)
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED"}, {"Id": "s1"})
    with stubber:
        assert runner.status("s1")["Status"] == "FINISHED"
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 20.0]


def test_without_a_secret_the_request_names_no_secret_and_a_statement_without_rows_reads_none():
    runner, stubber, _ = make_runner(secret_arn=None)
    stubber.add_response(
        "execute_statement", {"Id": "s1"}, {"WorkgroupName": "job-matching", "Database": "dev", "Sql": "DELETE FROM t"}
    )
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED", "HasResultSet": False}, {"Id": "s1"})
    with stubber:
        assert runner.query("DELETE FROM t") == []  # no GetStatementResult: the Stubber would refuse it
    stubber.assert_no_pending_responses()


def test_polling_sleeps_the_poll_interval_between_descriptions():
    runner, stubber, sleeps = make_runner(poll_seconds=3)
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "SUBMITTED"}, {"Id": "s1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "PICKED"}, {"Id": "s1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED"}, {"Id": "s1"})
    with stubber:
        assert runner.wait("s1")["Status"] == "FINISHED"
    assert sleeps == [3, 3]


def test_defaults_poll_every_two_seconds_wait_ten_minutes_and_retry_throttling_five_times():
    runner = DataApiRunner(client=None, workgroup_name="wg", database="dev")
    assert (runner.poll_seconds, runner.timeout_seconds, runner.max_throttle_retries) == (2.0, 600.0, 5)
    assert runner.secret_arn is None and runner.deadline is None


def test_a_statement_is_cancelled_when_the_clock_reaches_the_timeout_exactly():
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ticks = iter([0, 20, 30])
    runner = DataApiRunner(
        client=client,
        workgroup_name="wg",
        database="dev",
        timeout_seconds=30,
        poll_seconds=1,
        sleep=lambda _: None,
        clock=lambda: next(ticks),
    )
    stubber = Stubber(client)
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": "s1"})
    with stubber, pytest.raises(StatementTimeout, match="still STARTED after 30 s; cancelled"):
        runner.wait("s1")
    stubber.assert_no_pending_responses()


def test_a_deadline_later_than_the_timeout_does_not_extend_it():
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    ticks = iter([0, 10])
    runner = DataApiRunner(
        client=client,
        workgroup_name="wg",
        database="dev",
        timeout_seconds=10,
        deadline=1000,
        sleep=lambda _: None,
        clock=lambda: next(ticks),
    )
    stubber = Stubber(client)
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("cancel_statement", {"Status": True}, {"Id": "s1"})
    with stubber, pytest.raises(StatementTimeout, match="after 10 s"):
        runner.wait("s1")


def test_by_default_polling_really_waits_the_poll_interval_on_the_monotonic_clock():
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    runner = DataApiRunner(client=client, workgroup_name="wg", database="dev", poll_seconds=0.05)
    stubber = Stubber(client)
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "STARTED"}, {"Id": "s1"})
    stubber.add_response("describe_statement", {"Id": "s1", "Status": "FINISHED"}, {"Id": "s1"})
    started = time.monotonic()
    with stubber:
        assert runner.wait("s1")["Status"] == "FINISHED"
    assert time.monotonic() - started >= 0.05
