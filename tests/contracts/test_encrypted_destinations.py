"""A2: every publisher to a topic or queue may send to it (its resource policy) and can use its key."""

import copy

from tests.contracts.conftest import fixture
from tools.contracts import destinations
from tools.contracts.resolve import Resolver


def _resources(templates):
    return templates["A2Stack"]["Resources"]


def _statement(templates, policy, sid):
    statements = _resources(templates)[policy]["Properties"]["PolicyDocument"]["Statement"]
    return next(s for s in statements if s["Sid"] == sid)


def test_each_kind_of_publisher_without_the_key_is_reported():
    problems = destinations.check(fixture("encrypted_destinations_defect"))
    key_problems = [p for p in problems if "(key A2Stack/Key)" in p]
    assert len(key_problems) == 4
    assert any("alarm A2Stack/Alarm" in p and "no statement for cloudwatch.amazonaws.com" in p for p in key_problems)
    assert any("rule A2Stack/Rule dead-letter queue" in p and "events.amazonaws.com" in p for p in key_problems)
    assert any("function A2Stack/Function dead-letter queue" in p for p in key_problems)
    assert any("state machine A2Stack/Machine state Notify" in p for p in key_problems)
    assert all("kms:GenerateDataKey, kms:Decrypt" in p for p in key_problems)


def test_a_dead_letter_queue_without_a_queue_policy_for_its_rule_is_reported():
    """The defect fixture's queue has no policy: SQS lets only the owner account in, not events.amazonaws.com."""
    problems = [p for p in destinations.check(fixture("encrypted_destinations_defect")) if "(key" not in p]
    assert problems == [
        "A2Stack/Queue: rule A2Stack/Rule dead-letter queue cannot sqs:SendMessage: the resource policy has no Allow "
        "for events.amazonaws.com from arn:aws:events:us-east-1:111122223333:rule/Rule (no policy allows it)"
    ]


def test_a_deny_only_topic_policy_refuses_the_alarm():
    """The kit's topics before issue 28: enforce_ssl's TLS deny alone replaces SNS's default policy."""
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    document = _resources(templates)["TopicPolicy"]["Properties"]["PolicyDocument"]
    document["Statement"] = [s for s in document["Statement"] if s["Effect"] == "Deny"]
    problems = destinations.check(Resolver(templates))
    assert len(problems) == 1
    assert problems[0].startswith("A2Stack/Topic: alarm A2Stack/Alarm AlarmActions cannot sns:Publish: the resource ")


def test_an_allow_for_another_resource_refuses_the_alarm():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    statement = _statement(templates, "TopicPolicy", "AllowAlarmsOfThisStack")
    statement["Condition"]["ArnLike"]["aws:SourceArn"] = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:Other*"
    problems = destinations.check(Resolver(templates))
    assert [p for p in problems if p.startswith("A2Stack/Topic: alarm A2Stack/Alarm AlarmActions cannot sns:Publish")]


def test_an_allow_of_another_account_refuses_the_rule():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    statement = _statement(templates, "QueuePolicy", "AllowEventRule")
    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": "444455556666"}}
    problems = destinations.check(Resolver(templates))
    assert [p for p in problems if p.startswith("A2Stack/Queue: rule A2Stack/Rule dead-letter queue cannot")]


def test_an_unconditioned_service_allow_is_reported():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    _statement(templates, "QueuePolicy", "AllowEventRule").pop("Condition")
    problems = destinations.check(Resolver(templates))
    assert problems == [
        "A2Stack/Queue: rule A2Stack/Rule dead-letter queue cannot sqs:SendMessage: the resource policy allows "
        "events.amazonaws.com with no aws:SourceAccount/aws:SourceArn condition"
    ]


def test_an_explicit_deny_of_the_role_wins_over_its_identity_allow():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    document = _resources(templates)["TopicPolicy"]["Properties"]["PolicyDocument"]
    document["Statement"].append(
        {"Sid": "NoMachines", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": "*"}
    )
    problems = destinations.check(Resolver(templates))
    assert any(
        "state machine A2Stack/Machine state Notify cannot sns:Publish: explicit Deny (NoMachines)" in p
        for p in problems
    )


def test_a_topic_without_a_policy_keeps_the_default_access_policy():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    del _resources(templates)["TopicPolicy"]
    assert destinations.check(Resolver(templates)) == []


def test_key_policy_statements_and_role_grants_satisfy_the_check():
    assert destinations.check(fixture("encrypted_destinations_correct")) == []


def test_a_service_statement_without_source_conditions_is_reported():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    for statement in templates["A2Stack"]["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"]:
        statement.pop("Condition", None)
    problems = destinations.check(Resolver(templates))
    assert problems and all("no aws:SourceAccount/aws:SourceArn condition" in p for p in problems)


def test_a_statement_scoped_to_other_alarms_does_not_count():
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    statement = templates["A2Stack"]["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"][1]
    statement["Condition"]["ArnLike"]["aws:SourceArn"] = "arn:aws:cloudwatch:us-east-1:111122223333:alarm:other-*"
    problems = destinations.check(Resolver(templates))
    assert [p for p in problems if "alarm A2Stack/Alarm" in p]


def test_kit_publishers_can_use_the_keys(kit_resolver):
    problems = destinations.check(kit_resolver)
    assert not problems, "\n".join(problems)


def test_kit_publishers_can_use_the_keys_with_quicksight(quicksight_resolver):
    problems = destinations.check(quicksight_resolver)
    assert not problems, "\n".join(problems)


def test_a_statement_for_eventbridge_that_depends_on_source_keys_is_reported():
    """EventBridge sends no aws:SourceAccount/aws:SourceArn on its KMS requests: a statement conditioned on them
    never matches, and every dead letter would be dropped."""
    templates = copy.deepcopy(fixture("encrypted_destinations_correct").templates)
    statement = next(
        s
        for s in templates["A2Stack"]["Resources"]["Key"]["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "RulesSend"
    )
    statement["Condition"] = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    problems = destinations.check(Resolver(templates))
    assert len(problems) == 1 and "rule A2Stack/Rule dead-letter queue" in problems[0]
