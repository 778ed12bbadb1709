"""`stacks.common.names`: physical names from the stack and the path, within a service's limits."""

import re

import aws_cdk as cdk
from constructs import Construct

from stacks.common.names import DIGEST_LENGTH, create_only_digest, physical_name, scoped_id


def _stack(name: str = "prod-ChurnModelStack") -> cdk.Stack:
    return cdk.Stack(cdk.App(), name)


def test_a_name_is_the_stack_the_path_and_a_digest():
    stack = _stack()
    scope = Construct(Construct(stack, "Churn"), "TrainingPipeline")
    name = physical_name(scope, "ModelPackageGroup", max_length=80)
    assert re.fullmatch(
        rf"prod-ChurnModelStack-Churn-TrainingPipeline-ModelPackageGroup-[0-9a-f]{{{DIGEST_LENGTH}}}", name
    )


def test_the_same_path_in_another_stack_or_another_path_in_the_stack_is_another_name():
    names = {
        physical_name(Construct(stack, "A"), "Database", max_length=64)
        for stack in (_stack("sandbox-Kit"), _stack("prod-Kit"))
    }
    stack = _stack("prod-Kit")
    names |= {physical_name(Construct(stack, part), "Database", max_length=64) for part in ("A", "B")}
    assert len(names) == 3


def test_a_cut_name_keeps_the_stack_name_and_the_digest_tells_cut_names_apart():
    stack = _stack("production-eu-west-1-ModelQualityStack")
    first = physical_name(Construct(stack, "MonitorForTheFirstEndpoint"), "Database", max_length=50)
    second = physical_name(Construct(stack, "MonitorForTheSecondEndpoint"), "Database", max_length=50)
    for name in (first, second):
        assert len(name) == 50 and name.startswith("production-eu-west-1-ModelQualityStack-Mo-")
    assert first[:-DIGEST_LENGTH] == second[:-DIGEST_LENGTH] and first != second


def test_service_character_rules_lowercase_and_separator():
    name = physical_name(Construct(_stack("prod-ModelQualityStack"), "Results"), "Database", max_length=64,
                         lowercase=True, separator="_")  # fmt: skip
    assert re.fullmatch(r"[a-z0-9_]+", name) and name.startswith("prod_modelqualitystack_results_database_")


def test_a_create_only_value_goes_into_the_name():
    stack = _stack()
    key = cdk.aws_kms.Key(stack, "Key")
    other = cdk.aws_kms.Key(stack, "OtherKey")
    scope = Construct(stack, "Notebook")
    with_key = physical_name(scope, "Domain", max_length=50, lowercase=True, create_only=[key.key_arn])
    with_other = physical_name(scope, "Domain", max_length=50, lowercase=True, create_only=[other.key_arn])
    assert with_key != with_other and len(with_key) <= 50
    assert with_key.endswith(create_only_digest([stack.resolve(key.key_arn)]))


def test_a_scoped_id_follows_its_scopes_name():
    assert scoped_id("SummaryTable", "db_a") != scoped_id("SummaryTable", "db_b")
    assert scoped_id("SummaryTable", "db_a") == f"SummaryTable{create_only_digest(['db_a'])}"
