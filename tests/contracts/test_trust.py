"""A4: every role handed to a service trusts that service, and its passer may pass it only to that service."""

import copy

from tests.contracts.conftest import fixture
from tools.contracts import trust
from tools.contracts.resolve import Resolver


def _templates(name="trust_correct"):
    return copy.deepcopy(fixture(name).templates)


def test_each_defect_class_is_reported():
    problems = trust.check(fixture("trust_defect"))
    # Today's Redshift ML role trusts redshift and sagemaker only: Redshift Serverless cannot assume it.
    assert any(
        "NamespaceRole handed to A5Stack/Namespace IamRoles" in p
        and "does not let redshift-serverless.amazonaws.com assume it" in p
        for p in problems
    )
    # The job role may be passed to SageMaker only, but the state machine hands it to EMR Serverless.
    assert any(
        "JobRole handed to A5Stack/Machine state RunJob" in p
        and "does not allow iam:PassedToService emr-serverless.amazonaws.com" in p
        for p in problems
    )
    assert any(
        "may pass A5Stack/JobRole to sagemaker.amazonaws.com, which the role does not trust" in p for p in problems
    )
    # A confused-deputy condition that can never match: another service's namespace, another region.
    assert any(
        "FlowLogRole trust of vpc-flow-logs.amazonaws.com" in p and "names service 'logs'" in p for p in problems
    )
    assert any("FlowLogRole handed to A5Stack/FlowLog" in p and "for arn:aws:ec2:" in p for p in problems)
    assert any("SchedulerRole trust" in p and "names region 'eu-west-1'" in p for p in problems)
    assert any("SchedulerRole handed to A5Stack/Schedule" in p and "schedule-group/default" in p for p in problems)
    assert any("FunctionRole handed to A5Stack/Function Role" in p and "lambda.amazonaws.com" in p for p in problems)
    assert any(
        "RuleRole handed to A5Stack/Rule target T RoleArn" in p and "events.amazonaws.com" in p for p in problems
    )
    assert len(problems) == 11


def test_roles_trusting_the_documented_services_satisfy_the_check():
    assert trust.check(fixture("trust_correct")) == []


def test_the_redshift_serverless_namespace_needs_both_redshift_principals():
    templates = _templates()
    statement = templates["A5Stack"]["Resources"]["NamespaceRole"]["Properties"]["AssumeRolePolicyDocument"]
    statement["Statement"][0]["Principal"]["Service"] = ["redshift-serverless.amazonaws.com"]
    problems = trust.check(Resolver(templates))
    assert problems and all("does not let redshift.amazonaws.com assume it" in p for p in problems)


def test_a_pass_role_without_passed_to_service_is_reported():
    templates = _templates()
    statement = templates["A5Stack"]["Resources"]["MachineRolePolicy"]["Properties"]["PolicyDocument"]["Statement"][1]
    del statement["Condition"]
    problems = trust.check(Resolver(templates))
    assert any("(PassJobRole) has no iam:PassedToService condition" in p for p in problems)
    assert any("may pass A5Stack/JobRole to any service" in p for p in problems)


def test_a_passer_without_pass_role_is_reported():
    templates = _templates()
    document = templates["A5Stack"]["Resources"]["MachineRolePolicy"]["Properties"]["PolicyDocument"]
    document["Statement"] = document["Statement"][:1]
    problems = trust.check(Resolver(templates))
    assert any("JobRole handed to A5Stack/Machine state RunJob" in p and "holds no iam:PassRole" in p for p in problems)


def test_a_source_arn_of_another_application_never_matches():
    templates = _templates()
    conditions = templates["A5Stack"]["Resources"]["JobRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    conditions["Condition"]["ArnLike"]["aws:SourceArn"] = (
        "arn:aws:emr-serverless:us-east-1:111122223333:/applications/other"
    )
    problems = trust.check(Resolver(templates))
    assert problems == [
        p
        for p in problems
        if "JobRole handed to A5Stack/Machine state RunJob" in p and "/applications/Application" in p
    ]
    assert problems


def test_a_role_no_consumer_hands_over_is_reported():
    """A way of handing roles to a service that the table lacks shows as an unhanded role, not as silence."""
    templates = _templates()
    templates["A5Stack"]["Resources"]["Spare"] = copy.deepcopy(templates["A5Stack"]["Resources"]["FunctionRole"])
    assert trust.check(Resolver(templates)) == ["A5Stack/Spare is handed to no service the trust contract knows"]


def test_kit_roles_trust_the_services_they_are_handed_to(kit_resolver):
    problems = trust.check(kit_resolver)
    assert not problems, "\n".join(problems)


def test_kit_roles_trust_the_services_they_are_handed_to_with_quicksight(quicksight_resolver):
    problems = trust.check(quicksight_resolver)
    assert not problems, "\n".join(problems)
    assert any(c.service is trust.QUICKSIGHT for c in trust.consumers(quicksight_resolver))


def test_every_table_row_names_its_page():
    rows = [value for value in vars(trust).values() if isinstance(value, trust.Service)]
    assert all(row.source.startswith("https://docs.aws.amazon.com/") for row in rows)
    assert {p for row in rows for p in row.principals} <= set(trust.SOURCE_NAMESPACE)
