"""A3: every call a runtime actor makes is allowed by the synthesized policies, evaluated as IAM does."""

import json

import boto3
from botocore.stub import Stubber

from tests.contracts.conftest import fixture
from tools.contracts import calls, permissions
from tools.contracts.iam import Call, Principal, condition_holds, evaluate

ROLE = Principal("AWS", "arn:aws:iam::111122223333:role/r")


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def allowed(call, *statements):
    return evaluate(call, principal=ROLE, identity=statements).allowed


def test_explicit_deny_wins_and_actions_match_case_insensitively():
    call = Call("sagemaker:DeleteEndpoint", "arn:aws:sagemaker:us-east-1:111122223333:endpoint/e")
    assert allowed(call, allow("SageMaker:Delete*"))
    deny = {"Effect": "Deny", "Action": "sagemaker:deleteendpoint", "Resource": "*"}
    assert not allowed(call, allow("sagemaker:*"), deny)
    assert not allowed(call)


def test_resource_wildcards_are_case_sensitive():
    call = Call("s3:GetObject", "arn:aws:s3:::bucket/summary/x.json")
    assert allowed(call, allow("s3:GetObject", "arn:aws:s3:::bucket/summary/*"))
    assert not allowed(call, allow("s3:GetObject", "arn:aws:s3:::bucket/Summary/*"))
    assert allowed(call, allow("s3:GetObject", "arn:aws:s3:::b?cket/*"))


def test_actions_without_resource_level_permission_need_star():
    call = Call("sagemaker:ListModelPackages", "arn:aws:sagemaker:us-east-1:111122223333:model-package/g/1")
    assert not allowed(call, allow("sagemaker:ListModelPackages", "arn:aws:sagemaker:*:*:model-package/*"))
    assert allowed(call, allow("sagemaker:List*", "*"))


def test_a_condition_on_a_key_the_action_never_carries_cannot_hold():
    namespace = {"StringEquals": {"application-autoscaling:service-namespace": "sagemaker"}}
    describe = Call(
        "application-autoscaling:DescribeScalableTargets",
        "*",
        {"application-autoscaling:service-namespace": "sagemaker"},
    )
    register = Call(
        "application-autoscaling:RegisterScalableTarget",
        "*",
        {"application-autoscaling:service-namespace": "sagemaker"},
    )
    assert not condition_holds(namespace, describe)
    assert condition_holds({"StringEqualsIfExists": namespace["StringEquals"]}, describe)
    assert condition_holds(namespace, register)
    ecs = Call(register.action, "*", {"application-autoscaling:service-namespace": "ecs"})
    assert not condition_holds(namespace, ecs)
    assert condition_holds({"StringEquals": {"aws:SourceVpce": "vpce-1"}}, register)  # unknown offline: satisfiable
    assert not condition_holds({"StringLike": {"cloudwatch:namespace": "Kit/*"}}, register)  # another service's key


def test_tls_deny_statements_of_bucket_policies_do_not_apply():
    call = Call("s3:GetObject", "arn:aws:s3:::b/k")
    deny_plain = {
        "Effect": "Deny",
        "Principal": {"AWS": "*"},
        "Action": "s3:*",
        "Resource": "arn:aws:s3:::b/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    deny_old_tls = dict(deny_plain, Condition={"NumericLessThan": {"s3:TlsVersion": 1.2}})
    decision = evaluate(
        call, principal=ROLE, identity=[allow("s3:GetObject")], resource_policy=[deny_plain, deny_old_tls]
    )
    assert decision.allowed


def test_a_key_policy_must_delegate_to_the_account_for_identity_grants_to_count():
    call = Call("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k")
    root = {
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    identity = [allow("kms:Decrypt", "arn:aws:kms:us-east-1:111122223333:key/k")]
    for key_policy, expected in (([root], True), ([], False)):
        decision = evaluate(
            call, principal=ROLE, identity=identity, resource_policy=key_policy, resource_policy_required=True
        )
        assert decision.allowed is expected


def test_each_missing_permission_class_is_reported():
    problems = permissions.check(fixture("permissions_defect"))
    expected = [
        "cloudwatch:DescribeAlarms on arn:aws:cloudwatch:us-east-1:111122223333:alarm:churn-errors is denied",
        "application-autoscaling:DescribeScalableTargets on * is denied",
        "sagemaker:DeleteEndpoint on arn:aws:sagemaker:us-east-1:111122223333:endpoint/churn-endpoint is denied "
        "(explicit Deny (NeverDelete))",
        "sagemaker:ListModelPackages on * is denied",
        "state machine A3Stack/Machine: lambda:InvokeFunction on "
        "arn:aws:lambda:us-east-1:111122223333:function:Deployer",
        "schedule A3Stack/Schedule: states:StartExecution on "
        "arn:aws:states:us-east-1:111122223333:stateMachine:Machine",
    ]
    for text in expected:
        assert any(text in problem for problem in problems), text


def test_a_role_that_allows_every_declared_call_passes():
    assert permissions.check(fixture("permissions_correct")) == []


def test_every_kit_lambda_and_state_machine_is_an_actor(kit_resolver):
    labels = [actor.label for actor in permissions.actors(kit_resolver)]
    kit_modules = {path.stem for path in permissions.LAMBDAS.glob("*/*.py")}
    handlers = {
        str(resource["Properties"].get("Handler"))
        for stack in kit_resolver.templates
        for resource in kit_resolver.resources(stack).values()
        if resource["Type"] == "AWS::Lambda::Function"
        and str(resource["Properties"].get("Handler")).split(".", 1)[0] in kit_modules
    }
    assert {"deployer.handler", "lifecycle.handler"} <= handlers  # the walk finds the kit's functions
    for handler in sorted(handlers):  # a kit function without a declaration would go unchecked
        assert any(f"/{handler})" in label for label in labels), f"{handler} declares no calls in its iam_calls.json"
    # The daily quality run, the Redshift model lifecycle, and the churn teardown's Provider waiter.
    assert sum(label.startswith("state machine") for label in labels) == 3
    roles = [
        logical_id
        for stack in kit_resolver.templates
        for logical_id, resource in kit_resolver.resources(stack).items()
        if resource["Type"] == "AWS::IAM::Role"
    ]
    for role in (
        "MonitorPrCurveJobJobRole",
        "RecommenderRedshiftMlRole",
        "ChurnTrainingPipelineExecutionRole",
        "ChurnEndpointModelRole",
        "ChurnNotebookNotebookRole",
    ):
        if any(logical_id.startswith(role) for logical_id in roles):  # the notebook is optional
            assert any(label.startswith("role") and role in label for label in labels), role


def test_the_quicksight_data_source_role_is_an_actor(quicksight_resolver):
    labels = [actor.label for actor in permissions.actors(quicksight_resolver)]
    assert any("MonitorDashboardDataSourceRole" in label for label in labels)


def test_kit_actors_are_allowed_every_call(kit_resolver):
    problems = permissions.check(kit_resolver)
    assert not problems, "\n".join(problems)


def test_kit_actors_are_allowed_every_call_with_quicksight(quicksight_resolver):
    problems = permissions.check(quicksight_resolver)
    assert not problems, "\n".join(problems)


def test_declarations_name_real_iam_actions():
    paths = sorted(calls.LAMBDAS.glob(f"*/{calls.DECLARATION}")) + sorted(permissions.STACKS.glob("*/iam_calls.json"))
    for path in paths:
        text = json.loads(path.read_text())
        entries = [entry for value in text.values() for entry in (value if isinstance(value, list) else value["calls"])]
        for entry in entries:
            assert entry["action"].count(":") == 1 and entry["resource"], (path, entry)


def test_sdk_operations_map_to_iam_actions():
    assert calls.iam_action("s3", "ListObjectsV2") == "s3:ListBucket"
    assert calls.iam_action("s3", "GetObject") == "s3:GetObject"
    assert calls.iam_action("redshift-data", "BatchExecuteStatement") == "redshift-data:BatchExecuteStatement"


def test_the_recorder_sees_calls_from_handler_code_only(tmp_path):
    (tmp_path / "handler_mod.py").write_text("def run(client):\n    return client.describe_statement(Id='1')\n")
    (tmp_path / calls.DECLARATION).write_text(json.dumps({"handler_mod.handler": []}))
    client = boto3.client("redshift-data", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    import importlib.util

    spec = importlib.util.spec_from_file_location("handler_mod", tmp_path / "handler_mod.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with Stubber(client) as stubber, calls.recorded_calls(tmp_path) as recorded:
        stubber.add_response("describe_statement", {"Id": "1"}, {"Id": "1"})
        stubber.add_response("cancel_statement", {"Status": True}, {"Id": "1"})
        module.run(client)
        client.cancel_statement(Id="1")  # the test's own call: not the handler's
    assert recorded == {("redshift-data", "DescribeStatement")}
    assert calls.undeclared(recorded, tmp_path) == ["redshift-data:DescribeStatement"]
    (tmp_path / calls.DECLARATION).write_text(
        json.dumps({"handler_mod.handler": [{"action": "redshift-data:DescribeStatement", "resource": "*"}]})
    )
    assert calls.undeclared(recorded, tmp_path) == []
