"""Every architecture: a notice on its topic reaches a subscriber. A temporary SQS queue subscribes to the stack's
topic, one of the stack's alarms is set to ALARM, and the path waits for the alarm's message (or reports why the
alarm could not publish, from its history). The queue and the subscription are removed whatever happened."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from tools.smoke.core import Clients, Run, StepFailed, StepTimeout, read_outputs, wait_for

SUBSCRIBER = "kit-smoke-notice-"


@dataclass(frozen=True)
class Settings:
    """Bounded waits (seconds). SNS delivers to SQS within seconds; the alarm's action runs at once."""

    timeout: float = 180
    receive_wait: int = 10  # SQS long polling, at most 20 s (ReceiveMessage WaitTimeSeconds)
    interval: float = 1
    settle: float = 5  # a new queue policy takes a moment before SNS may use it


@dataclass(frozen=True)
class Target:
    topic_arn: str
    alarm: str
    state: str  # the alarm's state before the test


def prove_delivery(
    run: Run, clients: Clients, region: str, stack: str, settings: Settings = Settings(), token: str | None = None
) -> None:
    """Record the notice steps; a failed one does not stop the architecture's path (a missing stack does)."""
    token = token or uuid.uuid4().hex[:12]
    sqs, sns = clients("sqs"), clients("sns")
    cleanups: list[tuple[str, Callable[[], Any]]] = []
    try:
        target = run.step(
            "notice: topic and alarm",
            lambda: find_target(clients("cloudformation"), clients("cloudwatch"), stack, region),
            lambda t: f"alarm {t.alarm} ({t.state}) -> topic {t.topic_arn.rsplit(':', 1)[-1]}",
        )
        queue_url = run.step(
            "notice: temporary queue",
            lambda: _create_queue(sqs, target.topic_arn, SUBSCRIBER + token),
            lambda url: url.rsplit("/", 1)[-1],
        )
        cleanups.append(("notice queue", lambda: sqs.delete_queue(QueueUrl=queue_url)))
        subscription = run.step(
            "notice: subscribe the queue",
            lambda: _subscribe(sns, target.topic_arn, _queue_arn(target.topic_arn, SUBSCRIBER + token)),
            lambda arn: arn.rsplit(":", 1)[-1],
        )
        cleanups.append(("notice subscription", lambda: sns.unsubscribe(SubscriptionArn=subscription)))
        run.clock.sleep(settings.settle)
        run.step(
            "notice delivered",
            lambda: _deliver(run, clients("cloudwatch"), sqs, queue_url, target, token, settings),
            lambda seconds: f"delivered in {seconds:.0f} s (alarm {target.alarm} set to ALARM)",
        )
    except StepFailed:
        pass  # recorded; the architecture's own path still runs
    finally:
        for name, action in reversed(cleanups):
            try:
                run.step(f"clean up: {name}", lambda action=action: _removed(action))
            except StepFailed:
                continue


def _removed(action: Callable[[], Any]) -> str:
    action()
    return "removed"


def find_target(cloudformation: Any, cloudwatch: Any, stack: str, region: str) -> Target:
    """The stack's topic (its ...NotificationTopicArn output, else its one AWS::SNS::Topic) and an alarm that
    notifies it, preferring one that is not in ALARM (an action runs only on a change of state)."""
    outputs = read_outputs(cloudformation, stack, region)
    resources = [
        resource
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
        for resource in page["StackResourceSummaries"]
    ]
    topic_arn = outputs.get("NotificationTopicArn")
    if topic_arn is None:
        topics = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::SNS::Topic"]
        if len(topics) != 1:
            raise StepFailed(f"stack {stack} has {len(topics)} topics and no NotificationTopicArn output")
        topic_arn = topics[0]  # a topic's physical ID is its ARN
    names = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::CloudWatch::Alarm"]
    alarms = []
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        answer = cloudwatch.describe_alarms(AlarmNames=names[start : start + 100], AlarmTypes=["MetricAlarm"])
        alarms += answer["MetricAlarms"]
    notifying = [a for a in alarms if a.get("ActionsEnabled", True) and topic_arn in a.get("AlarmActions", [])]
    if not notifying:
        raise StepFailed(f"no alarm of stack {stack} notifies {topic_arn}")
    chosen = min(notifying, key=lambda a: (a["StateValue"] == "ALARM", a["AlarmName"]))
    return Target(topic_arn, chosen["AlarmName"], chosen["StateValue"])


def _queue_arn(topic_arn: str, name: str) -> str:
    """The queue lives in the topic's partition, region and account."""
    _, partition, _, region, account, _ = topic_arn.split(":", 5)
    return f"arn:{partition}:sqs:{region}:{account}:{name}"


def _create_queue(sqs: Any, topic_arn: str, name: str) -> str:
    """SSE-SQS: SNS must use a queue's KMS key to send to it, and the key policy of the AWS managed key aws/sqs
    cannot be changed to let SNS in (SQS DG, key management:
    https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html;
    https://repost.aws/knowledge-center/sns-sqs-subscriptions-notifications). The queue policy lets this topic, and
    only it, send. The subscriber is given no access to the topic's key: SNS decrypts a stored message to deliver
    it (a failed delivery for that reason would show as a time-out here)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": _queue_arn(topic_arn, name),
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
    # CreateQueue attributes: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html
    answer = sqs.create_queue(
        QueueName=name,
        Attributes={"SqsManagedSseEnabled": "true", "MessageRetentionPeriod": "600", "Policy": json.dumps(policy)},
    )
    return str(answer["QueueUrl"])


def _subscribe(sns: Any, topic_arn: str, queue_arn: str) -> str:
    """ReturnSubscriptionArn gives the ARN at once; a subscription still pending confirmation is reported."""
    arn = str(
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, ReturnSubscriptionArn=True)[
            "SubscriptionArn"
        ]
    )
    if not arn.startswith("arn:"):
        raise StepFailed(f"the subscription of the queue to {topic_arn} is {arn}")
    return arn


def _deliver(
    run: Run, cloudwatch: Any, sqs: Any, queue_url: str, target: Target, token: str, settings: Settings
) -> float:
    """SetAlarmState runs the alarm's actions when the state changes; the alarm returns to its real state by itself
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html)."""
    if target.state == "ALARM":
        cloudwatch.set_alarm_state(AlarmName=target.alarm, StateValue="OK", StateReason=f"kit smoke {token}: reset")
    since = run.clock.wall()
    cloudwatch.set_alarm_state(
        AlarmName=target.alarm,
        StateValue="ALARM",
        StateReason=f"kit smoke {token}: proves that this alarm's notice reaches a subscriber",
    )
    started = run.clock.monotonic()

    def received() -> float | None:
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=settings.receive_wait
        ).get("Messages", [])
        if any(token in message["Body"] for message in messages):
            return run.clock.monotonic() - started
        failure = _failed_action(cloudwatch, target.alarm, since)
        if failure:
            raise StepFailed(f"alarm {target.alarm} could not notify: {failure}")
        return None

    try:
        seconds: float = wait_for(
            received, what="the notice", timeout=settings.timeout, interval=settings.interval, clock=run.clock
        )
    except StepTimeout as timeout:
        raise StepFailed(f"{timeout}; alarm history: {_actions(cloudwatch, target.alarm, since)}") from None
    return seconds


def _history(cloudwatch: Any, alarm: str, since: Any) -> list[dict]:
    # DescribeAlarmHistory of type Action: what the alarm did, or could not do, with its actions.
    return list(
        cloudwatch.describe_alarm_history(
            AlarmName=alarm, HistoryItemType="Action", StartDate=since, ScanBy="TimestampDescending", MaxRecords=10
        )["AlarmHistoryItems"]
    )


def _failed_action(cloudwatch: Any, alarm: str, since: Any) -> str | None:
    """The text of an action the alarm failed to run ("Failed to execute action ..."), with its error."""
    for item in _history(cloudwatch, alarm, since):
        if item.get("HistorySummary", "").startswith("Failed"):
            return " ".join(filter(None, [item["HistorySummary"], _error(item.get("HistoryData"))]))
    return None


def _error(data: str | None) -> str:
    """The error text of an action's HistoryData (JSON), when it has one."""
    try:
        parsed = json.loads(data or "{}")
    except ValueError:
        return data or ""
    return str(parsed.get("error", "")) if isinstance(parsed, dict) else ""


def _actions(cloudwatch: Any, alarm: str, since: Any) -> str:
    items = _history(cloudwatch, alarm, since)
    return "; ".join(item.get("HistorySummary", "") for item in items) or "no action recorded"
