"""The notice check of `make smoke` (issue 28): delivered, timed out, refused, and its cleanup on every path.
botocore's Stubber checks each request against the SQS, SNS, CloudWatch and CloudFormation service models."""

from __future__ import annotations

import json

from botocore.stub import ANY

from tests.tools.smoke.conftest import ACCOUNT, REGION, START, stack
from tools.smoke.core import FAIL, PASS, SKIP
from tools.smoke.notices import Settings, prove_delivery
from tools.smoke.runner import exit_code, run_smoke

STACK = "ChurnModelStack"
TOKEN = "feedc0ffee12"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:ChurnModelStack-NotificationTopic-1AB"
QUEUE = f"kit-smoke-notice-{TOKEN}"
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{QUEUE}"
SUBSCRIPTION = f"{TOPIC}:0f1e2d3c"
ALARM, OTHER = "churn-endpoint-deploy-failed", "churn-endpoint-invocation-errors"
FAST = Settings(timeout=2, receive_wait=1, interval=1, settle=0)


def _alarm(name, state="OK", actions=(TOPIC,)):
    return {
        "AlarmName": name,
        "AlarmArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{name}",
        "ActionsEnabled": True,
        "AlarmActions": list(actions),
        "StateValue": state,
    }


def _resources():
    return {
        "StackResourceSummaries": [
            {
                "LogicalResourceId": logical,
                "PhysicalResourceId": physical,
                "ResourceType": kind,
                "LastUpdatedTimestamp": START,
                "ResourceStatus": "CREATE_COMPLETE",
            }
            for logical, physical, kind in [
                ("Topic", TOPIC, "AWS::SNS::Topic"),
                ("Deploy", ALARM, "AWS::CloudWatch::Alarm"),
                ("Errors", OTHER, "AWS::CloudWatch::Alarm"),
            ]
        ]
    }


def _setup(clients, *, errors_state="ALARM", outputs=None):
    """The stack, its alarms, the queue and the subscription, as far as SetAlarmState."""
    cloudformation = clients.stub("cloudformation")
    cloudformation.add_response("describe_stacks", stack(STACK, outputs or {}), {"StackName": STACK})
    cloudformation.add_response("list_stack_resources", _resources(), {"StackName": STACK})
    clients.stub("cloudwatch").add_response(
        "describe_alarms",
        {"MetricAlarms": [_alarm(ALARM, "INSUFFICIENT_DATA"), _alarm(OTHER, errors_state)]},
        {"AlarmNames": [ALARM, OTHER], "AlarmTypes": ["MetricAlarm"]},
    )
    clients.stub("sqs").add_response(
        "create_queue",
        {"QueueUrl": QUEUE_URL},
        {"QueueName": QUEUE, "Attributes": ANY},
    )
    clients.stub("sns").add_response(
        "subscribe",
        {"SubscriptionArn": SUBSCRIPTION},
        {
            "TopicArn": TOPIC,
            "Protocol": "sqs",
            "Endpoint": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}",
            "ReturnSubscriptionArn": True,
        },
    )
    clients.stub("cloudwatch").add_response(
        "set_alarm_state", {}, {"AlarmName": ALARM, "StateValue": "ALARM", "StateReason": ANY}
    )


def _receive(clients, body=None):
    messages = {"Messages": [{"MessageId": "m", "ReceiptHandle": "r", "Body": body}]} if body else {}
    clients.stub("sqs").add_response(
        "receive_message", messages, {"QueueUrl": QUEUE_URL, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}
    )


def _history(clients, *items):
    clients.stub("cloudwatch").add_response(
        "describe_alarm_history",
        {
            "AlarmHistoryItems": [
                {"AlarmName": ALARM, "HistoryItemType": "Action", "Timestamp": START, **i} for i in items
            ]
        },
        {
            "AlarmName": ALARM,
            "HistoryItemType": "Action",
            "StartDate": ANY,
            "ScanBy": "TimestampDescending",
            "MaxRecords": 10,
        },
    )


def _cleanup(clients):
    clients.stub("sns").add_response("unsubscribe", {}, {"SubscriptionArn": SUBSCRIPTION})
    clients.stub("sqs").add_response("delete_queue", {}, {"QueueUrl": QUEUE_URL})


def _notice(reason):
    """An SNS envelope as SQS receives it (raw delivery off), carrying CloudWatch's alarm message."""
    return json.dumps(
        {
            "Type": "Notification",
            "TopicArn": TOPIC,
            "Message": json.dumps({"AlarmName": ALARM, "NewStateReason": reason}),
        }
    )


def _steps(run):
    return [(s.name, s.status) for s in run.steps]


def test_delivered_reports_the_seconds_and_removes_the_queue_and_subscription(clients, make_run, clock):
    _setup(clients)
    _receive(clients)  # the first long poll is empty
    _history(clients)
    _receive(clients, _notice(f"kit smoke {TOKEN}: proves that this alarm's notice reaches a subscriber"))
    _cleanup(clients)
    run = make_run("churn_model")

    prove_delivery(run, clients, REGION, STACK, FAST, token=TOKEN)

    assert _steps(run) == [
        ("notice: topic and alarm", PASS),
        ("notice: temporary queue", PASS),
        ("notice: subscribe the queue", PASS),
        ("notice delivered", PASS),
        ("clean up: notice subscription", PASS),
        ("clean up: notice queue", PASS),
    ]
    # The alarm not already in ALARM is chosen: an action runs only on a change of state.
    assert run.steps[0].detail.startswith(f"alarm {ALARM} (INSUFFICIENT_DATA) -> topic ")
    assert run.steps[3].detail == f"delivered in 1 s (alarm {ALARM} set to ALARM)"
    clients.assert_all_used()


def test_the_queue_lets_only_this_topic_send_and_uses_sqs_managed_encryption(clients, make_run):
    _setup(clients)
    _receive(clients, _notice(TOKEN))
    _cleanup(clients)
    sqs = clients("sqs")
    sent = {}
    sqs.meta.events.register("provide-client-params.sqs.CreateQueue", lambda params, **_: sent.update(params))

    prove_delivery(make_run("churn_model"), clients, REGION, STACK, FAST, token=TOKEN)

    assert sent["Attributes"]["SqsManagedSseEnabled"] == "true" and "KmsMasterKeyId" not in sent["Attributes"]
    [statement] = json.loads(sent["Attributes"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Resource"] == f"arn:aws:sqs:{REGION}:{ACCOUNT}:{QUEUE}"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": TOPIC}}


def test_refused_reports_the_alarm_historys_error_and_still_cleans_up(clients, make_run):
    summary = f"Failed to execute action {TOPIC}"
    error = f"CloudWatch Alarms is not authorized to perform: SNS:Publish on resource:{TOPIC}"
    _setup(clients)
    _receive(clients)
    _history(clients, {"HistorySummary": summary, "HistoryData": json.dumps({"error": error})})
    _cleanup(clients)
    run = make_run("churn_model")

    prove_delivery(run, clients, REGION, STACK, FAST, token=TOKEN)

    assert _steps(run)[3:] == [
        ("notice delivered", FAIL),
        ("clean up: notice subscription", PASS),
        ("clean up: notice queue", PASS),
    ]
    assert run.steps[3].detail == f"alarm {ALARM} could not notify: {summary} {error}"
    assert exit_code([run]) == 1
    clients.assert_all_used()


def test_timed_out_reports_what_the_alarm_history_shows(clients, make_run, clock):
    _setup(clients)
    for _ in range(3):  # at 0, 1 and 2 s of the 2-second bound
        _receive(clients, _notice("another run's notice"))
        _history(clients)
    _history(clients, {"HistorySummary": f"Successfully executed action {TOPIC}"})
    _cleanup(clients)
    run = make_run("churn_model")

    prove_delivery(run, clients, REGION, STACK, FAST, token=TOKEN)

    assert ("notice delivered", FAIL) in _steps(run)
    assert run.steps[3].detail == (
        f"the notice: not done after 2 s; alarm history: Successfully executed action {TOPIC}"
    )
    assert _steps(run)[-2:] == [("clean up: notice subscription", PASS), ("clean up: notice queue", PASS)]
    clients.assert_all_used()


def test_an_alarm_already_in_alarm_is_reset_first_and_the_topic_output_is_preferred(clients, make_run):
    cloudformation = clients.stub("cloudformation")
    cloudformation.add_response("describe_stacks", stack(STACK, {"NotificationTopicArn": TOPIC}), {"StackName": STACK})
    cloudformation.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": _resources()["StackResourceSummaries"][1:2]},
        {"StackName": STACK},
    )
    cloudwatch = clients.stub("cloudwatch")
    cloudwatch.add_response(
        "describe_alarms",
        {"MetricAlarms": [_alarm(ALARM, "ALARM")]},
        {"AlarmNames": [ALARM], "AlarmTypes": ["MetricAlarm"]},
    )
    clients.stub("sqs").add_response("create_queue", {"QueueUrl": QUEUE_URL}, {"QueueName": QUEUE, "Attributes": ANY})
    clients.stub("sns").add_response(
        "subscribe",
        {"SubscriptionArn": SUBSCRIPTION},
        {"TopicArn": TOPIC, "Protocol": "sqs", "Endpoint": ANY, "ReturnSubscriptionArn": True},
    )
    cloudwatch.add_response("set_alarm_state", {}, {"AlarmName": ALARM, "StateValue": "OK", "StateReason": ANY})
    cloudwatch.add_response("set_alarm_state", {}, {"AlarmName": ALARM, "StateValue": "ALARM", "StateReason": ANY})
    _receive(clients, _notice(TOKEN))
    _cleanup(clients)
    run = make_run("churn_model")

    prove_delivery(run, clients, REGION, STACK, FAST, token=TOKEN)

    assert ("notice delivered", PASS) in _steps(run)
    clients.assert_all_used()


def test_a_stack_without_an_alarm_on_its_topic_fails_the_check_and_creates_nothing(clients, make_run):
    cloudformation = clients.stub("cloudformation")
    cloudformation.add_response("describe_stacks", stack(STACK, {}), {"StackName": STACK})
    cloudformation.add_response("list_stack_resources", _resources(), {"StackName": STACK})
    clients.stub("cloudwatch").add_response(
        "describe_alarms",
        {"MetricAlarms": [_alarm(ALARM, actions=()), _alarm(OTHER, actions=())]},
        {"AlarmNames": [ALARM, OTHER], "AlarmTypes": ["MetricAlarm"]},
    )
    run = make_run("churn_model")

    prove_delivery(run, clients, REGION, STACK, FAST, token=TOKEN)

    assert _steps(run) == [("notice: topic and alarm", FAIL)]
    assert f"no alarm of stack {STACK} notifies {TOPIC}" in run.steps[0].detail


def test_the_runner_checks_notices_first_and_a_missing_stack_skips_the_architecture(clients, clock, prices):
    from botocore.exceptions import ClientError  # noqa: F401 - the stubbed error is a ClientError

    clients.stub("cloudformation").add_client_error(
        "describe_stacks",
        "ValidationError",
        f"Stack with id {STACK} does not exist",
        expected_params={"StackName": STACK},
    )
    ran = []

    [run] = run_smoke(
        clients,
        REGION,
        clock=clock,
        prices=prices,
        paths={"churn_model": lambda *args: ran.append(args)},
        notices=prove_delivery,
    )

    assert _steps(run) == [("notice: topic and alarm", SKIP)] and ran == []
    assert exit_code([run]) == 2
