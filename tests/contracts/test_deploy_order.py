"""A5: a custom resource runs only after the policies of every role it exercises exist."""

import copy

from tests.contracts.conftest import fixture
from tools.contracts import deploy_order
from tools.contracts.resolve import Resolver


def _templates():
    return copy.deepcopy(fixture("deploy_order_correct").templates)


def test_a_custom_resource_before_its_handlers_or_driven_roles_policies_is_reported():
    problems = deploy_order.check(fixture("deploy_order_defect"))
    assert problems == [
        "A6Stack/Bootstrap can run before WarehouseRolePolicy (a policy of WarehouseRole; it drives "
        "A6Stack/Namespace DefaultIamRoleArn)",
        "A6Stack/Bootstrap can run before WarehouseRolePolicy (a policy of WarehouseRole; it drives "
        "A6Stack/Namespace IamRoles)",
        "A6Stack/Teardown can run before HandlerRolePolicy (a policy of HandlerRole; its handler Handler runs as it)",
    ]


def test_dependencies_on_every_exercised_policy_satisfy_the_check():
    assert deploy_order.check(fixture("deploy_order_correct")) == []


def test_an_sdk_call_that_may_run_work_must_wait_for_the_roles_it_drives():
    templates = _templates()
    create = templates["A6Stack"]["Resources"]["Lookup"]["Properties"]["Create"]["Fn::Join"][1]
    create[0] = create[0].replace("getNamespace", "restoreFromSnapshot")
    problems = deploy_order.check(Resolver(templates))
    assert problems and all(p.startswith("A6Stack/Lookup can run before WarehouseRolePolicy") for p in problems)


def test_a_shared_handler_policy_no_sibling_owns_is_required():
    templates = _templates()
    del templates["A6Stack"]["Resources"]["Limit"]["DependsOn"]
    problems = deploy_order.check(Resolver(templates))
    assert "A6Stack/Limit can run before LimitPolicy" in "\n".join(problems)
    assert "A6Stack/Lookup can run before LimitPolicy" in "\n".join(problems)


def test_an_order_through_references_counts():
    """CloudFormation orders by Ref/GetAtt as by DependsOn: a reference to the policy is enough."""
    templates = _templates()
    bootstrap = templates["A6Stack"]["Resources"]["Bootstrap"]
    del bootstrap["DependsOn"]
    bootstrap["Properties"]["PolicyName"] = {"Ref": "WarehouseRolePolicy"}
    assert deploy_order.check(Resolver(templates)) == []


def test_kit_custom_resources_run_after_the_policies_they_exercise(kit_resolver):
    problems = deploy_order.check(kit_resolver)
    assert not problems, "\n".join(problems)
