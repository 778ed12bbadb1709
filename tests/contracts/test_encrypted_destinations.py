"""A2: every publisher to a topic or queue encrypted with a customer-managed key can use that key."""

import copy

from tests.contracts.conftest import fixture
from tools.contracts import destinations
from tools.contracts.resolve import Resolver


def test_each_kind_of_publisher_without_the_key_is_reported():
    problems = destinations.check(fixture("encrypted_destinations_defect"))
    assert len(problems) == 4
    assert any("alarm A2Stack/Alarm" in p and "no statement for cloudwatch.amazonaws.com" in p for p in problems)
    assert any("rule A2Stack/Rule dead-letter queue" in p and "events.amazonaws.com" in p for p in problems)
    assert any("function A2Stack/Function dead-letter queue" in p for p in problems)
    assert any("state machine A2Stack/Machine state Notify" in p for p in problems)
    assert all("kms:GenerateDataKey, kms:Decrypt" in p for p in problems)


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
