"""A3: every call a runtime actor makes is allowed by the synthesized policies, evaluated as IAM does."""

import json
import re

import boto3
from botocore.stub import Stubber

from tests.contracts.conftest import fixture
from tools.contracts import calls, model, permissions, sar
from tools.contracts.iam import Call, Principal, action_matches, condition_holds, evaluate, statement_problems

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
    # The daily quality run, the Redshift model lifecycle, and the churn teardown's Provider waiter; in production
    # the hourly extraction run too.
    machines = [label for label in labels if label.startswith("state machine")]
    assert len([label for label in machines if "HourlyRun" not in label]) == 3 and len(machines) <= 4
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
            if "probe" in entry:
                assert entry["by"] in permissions.PROBES and entry["probe"].startswith("arn:"), (path, entry)
                continue
            assert entry["action"].count(":") == 1 and entry["resource"], (path, entry)
            # an action the Service Authorization Reference does not list is never allowed by any policy
            assert sar.lookup(entry["action"]) is not None, (path, entry["action"])


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


WORKGROUP_FORMAT = "arn:${Partition}:redshift-serverless:${Region}:${Account}:workgroup/${WorkgroupId}"


def test_an_arn_pattern_matches_a_resource_type_field_by_field():
    assert sar.arn_may_match("arn:aws:redshift-serverless:us-east-1:111122223333:workgroup/*", WORKGROUP_FORMAT)
    assert sar.arn_may_match("{RecommenderWorkgroup.Workgroup.WorkgroupArn}", WORKGROUP_FORMAT)  # deploy-time value
    assert sar.arn_may_match("arn:aws:redshift-serverless:{import Region:Out}:1:workgroup/w", WORKGROUP_FORMAT)
    assert not sar.arn_may_match("arn:aws:redshift-serverless:us-east-1:111122223333:usagelimit/*", WORKGROUP_FORMAT)
    # the account's placeholder does not reach over a colon into the resource
    assert not sar.arn_may_match("arn:aws:redshift-serverless:us-east-1:1:namespace/*", WORKGROUP_FORMAT)
    log_group = "arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}"
    assert sar.arn_may_match("arn:aws:logs:us-east-1:1:log-group:/aws/sagemaker/*", log_group)
    assert sar.arn_may_match("arn:aws:logs:us-east-1:1:log-group:kit-sdk-calls:*", log_group)
    assert not sar.arn_may_match("arn:aws:s3:::bucket", "arn:${Partition}:s3:::${BucketName}/${ObjectName}")


def test_statements_that_can_never_take_effect_are_reported():
    workgroup = "arn:aws:redshift-serverless:us-east-1:111122223333:workgroup/w-id"
    cases = {
        "takes no resource type": allow("redshift-serverless:CreateUsageLimit", workgroup),
        "takes only arn:${Partition}:redshift-serverless": allow(
            "redshift-serverless:GetWorkgroup", "arn:aws:redshift-serverless:us-east-1:111122223333:namespace/n"
        ),
        "s3:GetObject on arn:aws:s3:::b can never match": allow("s3:GetObject", "arn:aws:s3:::b"),
        "matches no action": allow("redshift-serverless:GetUsageLimits"),
        "ecr:Pull* matches no action": allow(["ecr:BatchGetImage", "ecr:Pull*"]),
        "condition key cloudwatch:AlarmActions": allow(
            "cloudwatch:DescribeAlarms",
            "*",
            Condition={"ForAllValues:StringLike": {"cloudwatch:AlarmActions": "arn:aws:sns:*"}},
        ),
        "condition key application-autoscaling:service-namespace": allow(
            "application-autoscaling:DescribeScalableTargets",
            Condition={"StringEquals": {"application-autoscaling:service-namespace": "sagemaker"}},
        ),
    }
    for expected, statement in cases.items():
        problems = statement_problems(statement)
        assert len(problems) == 1 and expected in problems[0], (expected, problems)


def test_statements_that_take_effect_pass():
    for statement in (
        allow(["redshift-serverless:CreateUsageLimit", "redshift-serverless:DeleteUsageLimit"], "*"),
        allow("redshift-serverless:GetWorkgroup", "{Workgroup.Workgroup.WorkgroupArn}"),
        allow(["s3:GetObject*", "s3:List*"], ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]),  # each action meets its ARN
        allow("s3:GetObject", "arn:aws:s3:::b/*", Condition={"StringEquals": {"s3:ExistingObjectTag/team": "ml"}}),
        allow(
            "cloudwatch:PutMetricAlarm",
            "arn:aws:cloudwatch:us-east-1:111122223333:alarm:a",
            Condition={"ForAllValues:StringLike": {"cloudwatch:AlarmActions": "arn:aws:sns:*"}},
        ),
        allow("cloudwatch:PutMetricData", Condition={"StringLike": {"cloudwatch:namespace": "Kit/*"}}),
        allow(
            "iam:PassRole", "arn:aws:iam::111122223333:role/r", Condition={"StringEquals": {"aws:SourceAccount": "1"}}
        ),
        allow("ecr:BatchGetImage", "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost"),
    ):
        assert statement_problems(statement) == [], statement


def test_today_s_usage_limit_policy_fails_the_contract():
    problems = permissions.check(fixture("sdk_calls_defect"))
    expected = [
        "redshift-serverless:CreateUsageLimit on arn:aws:redshift-serverless:us-east-1:111122223333:workgroup/"
        "job-matching-id can never match: it takes no resource type",
        "redshift-serverless:DeleteUsageLimit on arn:aws:redshift-serverless:us-east-1:111122223333:usagelimit/* "
        "can never match",
        "redshift-serverless:UpdateUsageLimit on arn:aws:redshift-serverless:us-east-1:111122223333:usagelimit/* "
        "can never match",
        "(WrongResourceType): redshift-serverless:GetWorkgroup on arn:aws:redshift-serverless:us-east-1:"
        "111122223333:namespace/* can never match",
        "(NoSuchAction): redshift-serverless:ListUsageLimit matches no action",
        "(KeyTheActionDoesNotCarry): redshift-serverless:GetWorkgroup: condition key "
        "redshift-serverless:endpointName is never in its request context",
        "AwsCustomResource SdkCallStack/DailyUsageLimit (Create, Update, Delete): redshift-serverless:CreateUsageLimit "
        "on * is denied",
        "redshift-serverless:UpdateUsageLimit on * is denied",
        "redshift-serverless:DeleteUsageLimit on * is denied",
    ]
    for text in expected:
        assert any(text in problem for problem in problems), text
    assert len(problems) == len(expected)


def test_the_usage_limit_policy_on_star_passes():
    assert permissions.check(fixture("sdk_calls_correct")) == []


def test_aws_custom_resource_calls_map_to_iam_actions():
    assert calls.sdk_call_action("RedshiftServerless", "createUsageLimit") == "redshift-serverless:CreateUsageLimit"
    assert calls.sdk_call_action("@aws-sdk/client-redshift-serverless", "GetNamespaceCommand") == (
        "redshift-serverless:GetNamespace"
    )
    assert calls.sdk_call_action("EC2", "describeManagedPrefixLists") == "ec2:DescribeManagedPrefixLists"
    assert calls.sdk_call_action("StepFunctions", "startExecution") == "states:StartExecution"  # signing name
    assert calls.sdk_call_action("S3", "headObject") == "s3:GetObject"


def test_every_aws_custom_resource_is_an_actor(kit_resolver):
    labels = [actor.label for actor in permissions.actors(kit_resolver)]
    served = [
        f"{stack}/{logical_id}"
        for stack in kit_resolver.templates
        for logical_id, resource in kit_resolver.resources(stack).items()
        if resource["Type"].startswith("Custom::")
        and permissions.SDK_CALL_FUNCTION in json.dumps(resource["Properties"].get("ServiceToken"))
    ]
    assert any("AdminSecretLookup" in ref for ref in served)  # the walk finds them
    for ref in served:
        assert any(label.startswith(f"AwsCustomResource {ref} (") for label in labels), ref


def custom_resource_types(resolver):
    return {
        resource["Type"]
        for stack in resolver.templates
        for resource in resolver.resources(stack).values()
        if resource["Type"].startswith("Custom::")
    }


def test_every_aws_custom_resource_delete_tolerates_a_resource_already_gone(kit_resolver):
    """A Delete that fails on a resource removed by hand, or never created because its create failed, turns
    rollback and destroy into ROLLBACK_FAILED / DELETE_FAILED: it must ignore the operation's not-found error, as
    the botocore service model names it."""
    import botocore.session

    session = botocore.session.get_session()
    deletes = []
    for ref in model.all_of_type(kit_resolver, *custom_resource_types(kit_resolver)):
        delete = permissions.sdk_calls(kit_resolver, ref).get("Delete")
        if delete is None:
            continue
        deletes.append(ref)
        service, operation = calls.sdk_call_operation(delete["service"], delete["action"])
        errors = [error.name for error in session.get_service_model(service).operation_model(operation).error_shapes]
        not_found = [name for name in errors if "NotFound" in name]
        assert not_found, (ref, errors)
        pattern = delete.get("ignoreErrorCodesMatching")
        assert pattern and any(re.search(pattern, name) for name in not_found), (str(ref), pattern, not_found)
    redshift = kit_resolver.templates["RedshiftMlStack"]["Resources"]
    assert bool(deletes) == any("createUsageLimit" in json.dumps(r.get("Properties", {})) for r in redshift.values())


def iam_as_list(value):
    return value if isinstance(value, list) else [value]


ECR_PULLS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability")


def _allowing(resolver, action):
    """(label, statement) of every identity-policy Allow statement whose Action matches `action`."""
    return [
        (label, statement)
        for label, statements in model.identity_policies(resolver)
        for statement in statements
        if statement.get("Effect") == "Allow"
        and any(action_matches(str(pattern), action) for pattern in iam_as_list(statement.get("Action")))
    ]


def test_no_role_pulls_images_from_any_account(kit_resolver):
    """Image pulls name the registry's account (SageMaker's for its built-in images), never any account."""
    pulls = [found for action in ECR_PULLS for found in _allowing(kit_resolver, action)]
    assert pulls  # the Redshift ML role pulls the built-in XGBoost image
    for label, statement in pulls:
        for resource in iam_as_list(statement["Resource"]):
            account = str(resource).split(":")[4] if str(resource).count(":") >= 5 else "*"
            assert account and "*" not in account, (label, statement.get("Sid"), resource)


def test_no_role_creates_alarms_that_act_on_anything_else(kit_resolver, kit_app):
    """PutMetricAlarm is allowed only with cloudwatch:AlarmActions limiting what the alarms may do: an alarm that
    terminates instances or publishes to another account's topic is denied."""
    statements = _allowing(kit_resolver, "cloudwatch:PutMetricAlarm")
    settings = kit_app.settings.churn_model
    assert bool(statements) == (settings.churn_endpoint_max_instances > settings.churn_endpoint_instance_count)
    identity = [statement for _, statement in statements]
    for label, statement in statements:
        for resource in iam_as_list(statement["Resource"]):
            alarm = str(resource).replace("*", "x")
            for action in ("arn:aws:automate:us-east-1:ec2:terminate", "arn:aws:sns:us-east-1:444455556666:t"):
                call = Call("cloudwatch:PutMetricAlarm", alarm, {"cloudwatch:AlarmActions": action})
                assert not evaluate(call, principal=ROLE, identity=identity).allowed, (label, action)


# --- Presence probes (issue 30): a missing key must read as missing, not as AccessDenied -------------------


def probe_allowed(arn, by, *statements):
    return [allowed(call, *statements) for call in permissions.probe_calls(arn, by)]


def test_a_head_of_a_bare_prefix_key_needs_get_object_on_that_key_itself():
    """S3 answers 403 to a HEAD of a key the caller may not s3:GetObject, whether or not it exists; a grant on
    `prefix/*` does not cover the key `prefix` that Hadoop's getFileStatus heads first."""
    grants = [allow("s3:GetObject", "arn:aws:s3:::b/data-capture/*"), allow("s3:ListBucket", "arn:aws:s3:::b")]
    assert probe_allowed("arn:aws:s3:::b/data-capture/ep", "hadoop", *grants) == [True, True, True]
    assert probe_allowed("arn:aws:s3:::b/data-capture", "hadoop", *grants) == [False, True, True]
    exact = allow("s3:GetObject", "arn:aws:s3:::b/data-capture")
    assert all(probe_allowed("arn:aws:s3:::b/data-capture", "hadoop", *grants, exact))


def test_a_missing_key_is_404_only_with_list_bucket_and_a_prefix_condition_does_not_count_for_a_head():
    get = allow("s3:GetObject", "arn:aws:s3:::b/*")
    assert probe_allowed("arn:aws:s3:::b/summary/x.json", "get", get) == [True, False]
    listing = allow("s3:ListBucket", "arn:aws:s3:::b")
    assert all(probe_allowed("arn:aws:s3:::b/summary/x.json", "get", get, listing))
    prefixed = allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"StringLike": {"s3:prefix": "summary/*"}})
    # The listing of `summary/x.json/` matches the condition; the HEAD carries no s3:prefix, so it gets 403.
    assert probe_allowed("arn:aws:s3:::b/summary/x.json", "hadoop", get, prefixed) == [True, False, True]
    elsewhere = allow("s3:ListBucket", "arn:aws:s3:::b", Condition={"StringLike": {"s3:prefix": "other/*"}})
    assert probe_allowed("arn:aws:s3:::b/summary", "hadoop", get, elsewhere)[2] is False


def test_a_bucket_root_is_only_listed():
    assert [c.action for c in permissions.probe_calls("arn:aws:s3:::b", "hadoop")] == ["s3:ListBucket"]
    assert permissions.probe_calls("arn:aws:s3:::b", "hadoop")[0].context == {"s3:prefix": ""}


def test_an_sdk_calls_resource_is_one_of_the_types_its_action_takes():
    """UpdateNamespace names the namespace and the roles it attaches: the call is on a namespace, never on a role its
    parameters also name (a kept namespace outside the templates leaves it unknown rather than wrong)."""
    resolver = fixture("sdk_calls_correct")
    (role,) = [
        model.Ref("SdkCallStack", logical_id)
        for logical_id, body in resolver.resources("SdkCallStack").items()
        if body["Type"] == "AWS::IAM::Role"
    ]
    role_arn = permissions.resource_arn(resolver, role)
    parameters = {"namespaceName": "kept-warehouse", "iamRoles": [role_arn], "defaultIamRoleArn": role_arn}
    resource = permissions._sdk_call_resource(resolver, "redshift-serverless:UpdateNamespace", parameters)
    assert resource == "{no resource in the call's parameters}"
    assert permissions._sdk_call_resource(resolver, "iam:PassRole", {"roleArn": role_arn}) == role_arn
