"""The SNS topic an architecture's notices go to, with the resource-policy Allow of each publisher it is wired to.

A topic policy (CDK writes one for `enforce_ssl=True`) replaces SNS's default access policy, and an AWS service
principal has no identity policy: CloudWatch alarms and EventBridge rules can publish only where the topic's own
policy allows them ("Resource: arn:aws:cloudwatch:...:alarm:NAME is not authorized to perform: SNS:Publish",
https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger;
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions). The topic
is encrypted with a customer-managed key, so the same services also need the key policy
(https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services). Wiring a
publisher through this class writes both statements, with confused-deputy conditions
(https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html, "aws:SourceAccount versus
aws:SourceOwner"), so no caller can wire one and forget the other. Roles (Lambda, Step Functions) publish with
`grant_publish`, which gives them `sns:Publish` and the key.
"""

from __future__ import annotations

from typing import Sequence, cast

import jsii
from aws_cdk import Annotations, Duration, Names, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_interfaces
from constructs import Construct

from .encryption import DataKey
from .names import physical_name

NO_SUBSCRIBER_WARNING = "kit:notifications-no-subscriber"


class NotificationTopic(sns.Topic):
    """A KMS-encrypted topic that denies publishing without TLS and allows exactly the publishers wired to it.

    Props (defaults): `encryption_key` (the architecture's DataKey); `alarm_name_prefix` (None: the topic's own
    name from `stacks.common.names` and a hyphen, unique to the stack and the topic's path: the names of the alarms
    that may publish; `alarm_name()` builds them); `email_addresses` (none: each one is
    subscribed under a logical id derived from its address, so adding or removing one never replaces the others);
    `warn_without_subscriber` (False: True adds a synth warning when no address is given) and `subscriber_setting`
    ("": the kit setting the warning tells the reader to set).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: DataKey,
        alarm_name_prefix: str | None = None,
        email_addresses: Sequence[str] = (),
        warn_without_subscriber: bool = False,
        subscriber_setting: str = "",
    ) -> None:
        super().__init__(scope, construct_id, master_key=encryption_key, enforce_ssl=True)
        self.encryption_key = encryption_key
        # Alarm names allow 255 characters (AWS::CloudWatch::Alarm AlarmName); 100 leave room for the suffixes.
        self.alarm_name_prefix = alarm_name_prefix or f"{physical_name(self, max_length=100)}-"
        self._alarms_allowed = False
        self._rules_allowed: set[str] = set()
        for address in email_addresses:
            # The subscription's construct id is the address (CDK's subscriberId), so its logical id depends on
            # the address alone. CloudFormation replaces a subscription whose Endpoint changes (createOnlyProperties
            # Endpoint, Protocol, TopicArn in the AWS::SNS::Subscription resource schema that cfn-lint ships);
            # per-address subscriptions keep every other address subscribed while a new one awaits confirmation.
            self.add_subscription(subscriptions.EmailSubscription(address))
        if warn_without_subscriber and not email_addresses:
            setting = f"Set -c kit:{subscriber_setting}=<address>[,<address>...], or s" if subscriber_setting else "S"
            Annotations.of(self).add_warning_v2(
                NO_SUBSCRIBER_WARNING,
                f"Nobody is subscribed to {self.node.path}: its failure notices and alarms reach no one. {setting}"
                "ubscribe a pager or AWS Chatbot to the topic ARN in the stack's NotificationTopicArn output "
                f'(acknowledge with Annotations.of(topic).acknowledge_warning("{NO_SUBSCRIBER_WARNING}", ...)).',
            )

    def alarm_name(self, suffix: str) -> str:
        """The name of an alarm that may publish here: the prefix the topic policy and key policy allow."""
        return f"{self.alarm_name_prefix}{suffix}"

    @property
    def alarm_arn_pattern(self) -> str:
        stack = Stack.of(self)
        return f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{self.alarm_name_prefix}*"

    def notify_on(self, alarm: cloudwatch.Alarm) -> None:
        """Publish `alarm`'s ALARM notices here, and allow CloudWatch to (topic policy and key policy).

        The alarm must carry a literal name built with `alarm_name()`: the policies allow this stack's alarms by
        name, and an alarm with another name would be refused at run time."""
        name = cast(cloudwatch.CfnAlarm, alarm.node.default_child).alarm_name  # the literal given, if any
        if name is None or Token.is_unresolved(name) or not name.startswith(self.alarm_name_prefix):
            raise ValueError(
                f"Alarm {alarm.node.path} must be named with {self.node.path}.alarm_name(...) (a literal name "
                f"starting with {self.alarm_name_prefix!r}) so that the topic and key policies allow it to publish."
            )
        self._allow_alarms()
        alarm.add_alarm_action(actions.SnsAction(self))

    def _allow_alarms(self) -> None:
        if self._alarms_allowed:
            return
        self._alarms_allowed = True
        # CloudWatch's Publish carries the alarm's ARN as aws:SourceArn (the re:Post article's example scopes the
        # topic policy with it alone); the pattern names this account and region, so it is also the account check.
        # The key statement keeps aws:SourceAccount as well (DataKey.allow_service_to_send_encrypted).
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisStack",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic_arn],
                conditions={"ArnLike": {"aws:SourceArn": self.alarm_arn_pattern}},
            )
        )
        self.encryption_key.allow_service_to_send_encrypted(
            "cloudwatch.amazonaws.com", sid=f"AlarmsPublishTo{Names.unique_id(self)}", source_arn=self.alarm_arn_pattern
        )

    def rule_target(
        self,
        *,
        message: events.RuleTargetInput | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        retry_attempts: int | None = None,
        max_event_age: Duration | None = None,
    ) -> events.IRuleTarget:
        """A target for `rule.add_target(...)` that publishes the rule's events here.

        Unlike CDK's `targets.SnsTopic`, which allows `events.amazonaws.com` with no condition (aws-cdk-lib
        2.275.0, aws-events-targets/lib/sns.js: `topic.grantPublish(new ServicePrincipal("events.amazonaws.com"))`,
        no feature flag), the Allow it writes is limited to the rule's ARN and this account."""
        return _RuleTarget(self, message, dead_letter_queue, retry_attempts, max_event_age)

    def notify_on_silent_end(self, state_machine: sfn.IStateMachine, *, what: str) -> events.Rule:
        """Publish a notice here when an execution of `state_machine` times out or is aborted.

        Those two ends stop the execution where it stands, so its own notify states never run. FAILED is left out on
        purpose: the kit's state machines catch every step's error into their own failure notice and only then end
        in a Fail state, so a FAILED event would be a second message for the same failure. (States.ALL cannot catch
        States.Runtime or States.DataLimitExceeded, https://docs.aws.amazon.com/step-functions/latest/dg/
        concepts-error-handling.html: those FAILED ends reach no notify state; the documented event carries no error
        field to single them out by.) The event's source,
        detail-type and the detail fields `status` (RUNNING, SUCCEEDED, FAILED, TIMED_OUT or ABORTED),
        `stateMachineArn` and `executionArn` are the documented ones
        (https://docs.aws.amazon.com/step-functions/latest/dg/cw-events.html, "Execution Timed Out", "Execution
        Aborted"; https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-states.html). Standard workflows
        only: Express workflows send no such events."""
        scope = cast(Construct, state_machine)
        rule = events.Rule(
            scope,
            "SilentEndRule",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": ["TIMED_OUT", "ABORTED"], "stateMachineArn": [state_machine.state_machine_arn]},
            ),
            description=f"Notify when an execution of the {what} times out or is aborted",
        )
        field = events.EventField.from_path
        rule.add_target(
            self.rule_target(
                message=events.RuleTargetInput.from_text(
                    f"The {what} execution {field('$.detail.name')} ended {field('$.detail.status')} "
                    f"({field('$.time')}) before it could report its outcome. First: aws stepfunctions "
                    f"get-execution-history --execution-arn {field('$.detail.executionArn')} --reverse-order "
                    "(docs/deploy.md, Notices)."
                ),
            )
        )
        return rule

    def _allow_rule(self, rule: events_interfaces.IRuleRef) -> None:
        rule_id = Names.unique_id(rule)
        if rule_id in self._rules_allowed:
            return
        first = not self._rules_allowed
        self._rules_allowed.add(rule_id)
        # The rule's ARN names its account; EventBridge's own example for SNS targets conditions on it alone
        # (eb-use-resource-based.html, "Amazon SNS permissions").
        self.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"AllowRule{rule_id}",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic_arn],
                conditions={"ArnEquals": {"aws:SourceArn": events.CfnRule.arn_for_rule(rule)}},
            )
        )
        if first:
            # EventBridge's KMS requests carry neither source key ("Adding the aws:SourceAccount and aws:SourceArn
            # to a AWS KMS policy is not supported for EventBridge-to-encrypted topics", sns-key-management.html):
            # the key statement cannot be scoped; the topic policy above limits who may publish.
            self.encryption_key.allow_service_to_send_encrypted(
                "events.amazonaws.com", sid=f"RulesPublishTo{Names.unique_id(self)}", source_account=False
            )


@jsii.implements(events.IRuleTarget)
class _RuleTarget:
    def __init__(
        self,
        topic: NotificationTopic,
        message: events.RuleTargetInput | None,
        dead_letter_queue: sqs.IQueue | None,
        retry_attempts: int | None,
        max_event_age: Duration | None,
    ) -> None:
        self._topic = topic
        self._message = message
        self._dead_letter_queue = dead_letter_queue
        self._retry_attempts = retry_attempts
        self._max_event_age = max_event_age

    def bind(self, rule: events_interfaces.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        self._topic._allow_rule(rule)
        dead_letter = None
        if self._dead_letter_queue is not None:
            # The queue's own policy must allow the rule too (https://docs.aws.amazon.com/eventbridge/latest/
            # userguide/eb-rule-dlq.html#eb-dlq-perms), with the rule's ARN.
            self._dead_letter_queue.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=f"AllowEventRule{Names.unique_id(rule)}",
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[self._dead_letter_queue.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": events.CfnRule.arn_for_rule(rule)}},
                )
            )
            dead_letter = events.CfnRule.DeadLetterConfigProperty(arn=self._dead_letter_queue.queue_arn)
            queue_key = self._dead_letter_queue.encryption_master_key
            if isinstance(queue_key, DataKey) and queue_key is not self._topic.encryption_key:
                # Same delivery path as the topic's: no source keys on EventBridge's KMS requests.
                queue_key.allow_service_to_send_encrypted(
                    "events.amazonaws.com", sid=f"RuleDeadLettersTo{Names.unique_id(rule)}", source_account=False
                )
        retry = None
        if self._retry_attempts is not None or self._max_event_age is not None:
            retry = events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=self._retry_attempts,
                maximum_event_age_in_seconds=(
                    int(self._max_event_age.to_seconds()) if self._max_event_age is not None else None
                ),
            )
        return events.RuleTargetConfig(
            arn=self._topic.topic_arn,
            input=self._message,
            target_resource=self._topic,
            dead_letter_config=dead_letter,
            retry_policy=retry,
        )
