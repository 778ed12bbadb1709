"""NotificationTopic: every publisher wired through it is allowed by the topic's own policy and by the key, with
source conditions; e-mail subscriptions keep their logical ids; a topic nobody reads warns at synth."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template

from stacks.common.config import CommonSettings
from stacks.common.encryption import DataKey
from stacks.common.notifications import NO_SUBSCRIBER_WARNING, NotificationTopic
from tools.contracts import destinations
from tools.smoke.core import StackOutputs
from tools.contracts.resolve import Resolver


def _stack(name: str = "NoticeStack") -> tuple[cdk.App, cdk.Stack, DataKey]:
    app = cdk.App()
    stack = cdk.Stack(app, name)
    key = DataKey(stack, "Key", common=CommonSettings.for_profile("sandbox"), description="test")
    return app, stack, key


def _alarm(stack: cdk.Stack, construct_id: str, name: str | None) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        stack,
        construct_id,
        alarm_name=name,
        metric=cloudwatch.Metric(namespace="Kit", metric_name="Errors"),
        threshold=1,
        evaluation_periods=1,
    )


def _problems(stack: cdk.Stack) -> list[str]:
    return destinations.check(Resolver({stack.stack_name: Template.from_stack(stack).to_json()}))


def _rule(stack: cdk.Stack, construct_id: str = "Rule") -> events.Rule:
    return events.Rule(stack, construct_id, event_pattern=events.EventPattern(source=["aws.sagemaker"]))


def test_alarms_and_rules_wired_through_the_topic_pass_the_destinations_contract():
    _, stack, key = _stack()
    topic = NotificationTopic(stack, "Topic", encryption_key=key)
    topic.notify_on(_alarm(stack, "First", topic.alarm_name("first")))
    topic.notify_on(_alarm(stack, "Second", topic.alarm_name("second")))
    dead_letters = sqs.Queue(stack, "DeadLetters", encryption=sqs.QueueEncryption.KMS, encryption_master_key=key)
    _rule(stack).add_target(topic.rule_target(dead_letter_queue=dead_letters, retry_attempts=2))
    assert _problems(stack) == []
    statements = Template.from_stack(stack).find_resources("AWS::SNS::TopicPolicy")
    (policy,) = statements.values()
    sids = [s["Sid"] for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    assert sids[0] == "AllowPublishThroughSSLOnly" and "AllowAlarmsOfThisStack" in sids  # one alarm statement
    assert sum(sid.startswith("AllowRule") for sid in sids) == 1


def test_without_the_topic_the_same_wiring_fails_the_contract():
    """The defect class: CDK's own SnsAction writes no topic-policy Allow for CloudWatch, and CDK's SnsTopic
    target allows events.amazonaws.com with no source condition."""
    _, stack, key = _stack()
    topic = sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    _alarm(stack, "Alarm", "NoticeStack-alarm").add_alarm_action(actions.SnsAction(topic))
    _rule(stack).add_target(targets.SnsTopic(topic))
    problems = _problems(stack)
    assert any("alarm NoticeStack/Alarm" in p and "cannot sns:Publish" in p for p in problems)
    assert any("rule NoticeStack/Rule" in p and "no aws:SourceAccount/aws:SourceArn condition" in p for p in problems)


def test_an_alarm_the_policies_would_not_allow_is_refused_at_synth():
    _, stack, key = _stack()
    topic = NotificationTopic(stack, "Topic", encryption_key=key)
    for construct_id, name in (("Unnamed", None), ("Elsewhere", "OtherStack-errors")):
        with pytest.raises(ValueError, match="must be named with"):
            topic.notify_on(_alarm(stack, construct_id, name))


def test_two_topics_of_one_stack_allow_only_their_own_alarms():
    """The default prefix carries the stack's name and the topic's path (and ends with its digest): neither topic's
    alarm pattern matches the other's alarms."""
    _, stack, key = _stack("ScopedStack")
    first = NotificationTopic(stack, "Topic", encryption_key=key)
    second = NotificationTopic(stack, "TopicB", encryption_key=key)
    assert first.alarm_name_prefix.startswith("ScopedStack-Topic-")
    assert not second.alarm_name_prefix.startswith(first.alarm_name_prefix)
    assert not first.alarm_name_prefix.startswith(second.alarm_name_prefix)


def test_the_alarm_pattern_is_this_topics_names_in_both_policies():
    _, stack, key = _stack("ScopedStack")
    topic = NotificationTopic(stack, "Topic", encryption_key=key)
    topic.notify_on(_alarm(stack, "Alarm", topic.alarm_name("errors")))
    template = Template.from_stack(stack).to_json()
    resolver = Resolver({"ScopedStack": template})
    wanted = f"arn:aws:cloudwatch:us-east-1:111122223333:alarm:{topic.alarm_name_prefix}*"
    policies = [r for r in template["Resources"].values() if r["Type"] in ("AWS::SNS::TopicPolicy", "AWS::KMS::Key")]
    patterns = []
    for policy in policies:
        document = policy["Properties"].get("PolicyDocument") or policy["Properties"]["KeyPolicy"]
        for statement in resolver.resolve("ScopedStack", document)["Statement"]:
            if statement.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}:
                patterns.append(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert patterns == [wanted, wanted]


def _subscription_ids(stack: cdk.Stack) -> dict[str, str]:
    found = Template.from_stack(stack).find_resources("AWS::SNS::Subscription")
    return {resource["Properties"]["Endpoint"]: logical_id for logical_id, resource in found.items()}


def test_each_address_keeps_its_subscription_when_others_change():
    """CloudFormation replaces a subscription whose Endpoint changes; one subscription per address, with a logical
    id from the address alone, leaves the confirmed ones in place while a new address awaits confirmation."""
    before_ids = {}
    for addresses in (("a@example.com",), ("b@example.com", "a@example.com"), ("a@example.com", "c@example.com")):
        _, stack, key = _stack()
        NotificationTopic(stack, "Topic", encryption_key=key, email_addresses=addresses)
        ids = _subscription_ids(stack)
        assert sorted(ids) == sorted(addresses)
        assert ids["a@example.com"] == before_ids.get("a@example.com", ids["a@example.com"])
        before_ids = ids


@pytest.mark.parametrize(("addresses", "warned"), [((), True), (("ops@example.com",), False)])
def test_a_topic_nobody_reads_warns_when_asked(addresses, warned):
    _, stack, key = _stack()
    topic = NotificationTopic(
        stack,
        "Topic",
        encryption_key=key,
        email_addresses=addresses,
        warn_without_subscriber=True,
        subscriber_setting="quality_notification_emails",
    )
    texts = [str(entry.data) for entry in topic.node.metadata if entry.type == "aws:cdk:warning"]
    assert any("kit:quality_notification_emails" in text and NO_SUBSCRIBER_WARNING in text for text in texts) is warned


def test_production_warns_for_each_unsubscribed_topic_and_sandbox_does_not(kit_app):
    warnings = [
        message.entry.data
        for stack in kit_app.assembly.stacks
        for message in stack.messages
        if "Nobody is subscribed" in str(message.entry.data)
    ]
    expected = 3 if kit_app.settings.common.profile == "production" else 0
    assert len(warnings) == expected


def test_every_topic_is_the_notification_topic_arn_output_of_its_stack(kit_app):
    """One name in every stack, so a pager, AWS Chatbot or `make smoke` finds the topic the same way."""
    for stack in kit_app.assembly.stacks:
        topics = [i for i, r in stack.template["Resources"].items() if r["Type"] == "AWS::SNS::Topic"]
        if not topics:
            continue
        output = StackOutputs(stack.stack_name, stack.template.get("Outputs", {}))["NotificationTopicArn"]
        assert [output["Value"]] == [{"Ref": topic} for topic in topics], stack.stack_name


def test_a_dead_letter_queue_under_another_key_gets_that_keys_statement():
    _, stack, key = _stack()
    other = DataKey(stack, "QueueKey", common=CommonSettings.for_profile("sandbox"), description="queue")
    topic = NotificationTopic(stack, "Topic", encryption_key=key)
    dead_letters = sqs.Queue(stack, "DeadLetters", encryption=sqs.QueueEncryption.KMS, encryption_master_key=other)
    _rule(stack).add_target(topic.rule_target(dead_letter_queue=dead_letters))
    assert _problems(stack) == []
