"""Template assertions for the churn stack: the pipeline's definition and wiring, images, endpoint, IAM, notebook."""

import ast
import copy
import fnmatch
import json
import os
import re
from pathlib import Path

import aws_cdk as cdk
import jsonschema
import pytest
from aws_cdk.assertions import Template

from stacks.churn_model.images import UnsupportedRegionError, load_registries
from stacks.churn_model.pipeline_definition import HYPERPARAMETERS
from stacks.churn_model.churn import ChurnModel
from stacks.common.config import ConfigError, load_settings
from stacks.churn_model.settings import ChurnModelSettings
from stacks.common.functions import PROJECT_ROOT
from stacks.common.tags import standard_tags
from tests.construct_app import new_app

# The published pipeline-definition schema: beside the project in this repository's CI, or wherever
# KIT_PIPELINE_SCHEMA points (the review workflow checks the public schema repository out at a pinned commit).
SCHEMA = Path(
    os.environ.get("KIT_PIPELINE_SCHEMA")
    or PROJECT_ROOT.parent / "shared" / "schemas" / "sagemaker-pipeline-definition.schema.json"
)
TOKEN = "TOKEN"


def only(template, kind):
    (resource,) = template.find_resources(kind).values()
    return resource["Properties"]


def definition(template):
    """The pipeline definition as deployed, with each CloudFormation expression replaced by TOKEN."""
    body = only(template, "AWS::SageMaker::Pipeline")["PipelineDefinition"]["PipelineDefinitionBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return json.loads("".join(part if isinstance(part, str) else TOKEN for part in parts))


def steps(document):
    flat = {}
    for step in document["Steps"]:
        flat[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step["Arguments"].get(branch, []):
                flat[inner["Name"]] = inner
    return flat


def with_newer_features(schema):
    """The published schema (2025-04) predates features every SDK-built definition uses; add exactly those:
    Std:Join with its "On" separator (its JoinFunction is unsatisfiable and unreferenced), Std:JsonGet on a
    property file, ProcessingStep PropertyFiles, RegisterModel ModelApprovalStatus; and one correction: RetryPolicy
    ExceptionType is a non-empty list of the published names, not a single string (../shared/schemas/README.md,
    "Known gaps"). Everything else is checked as published."""
    schema = copy.deepcopy(schema)
    definitions = schema["definitions"]
    get = {"$ref": "#/definitions/GetFunction"}
    definitions["JoinFunction"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["Std:Join"],
        "properties": {
            "Std:Join": {
                "type": "object",
                "additionalProperties": False,
                "required": ["On", "Values"],
                "properties": {
                    "On": {"type": "string"},
                    "Values": {"type": "array", "items": {"oneOf": [{"type": "string"}, {"type": "number"}, get]}},
                },
            }
        },
    }
    definitions["JsonGetFunction"] = {
        "type": "object",
        "additionalProperties": False,
        "required": ["Std:JsonGet"],
        "properties": {
            "Std:JsonGet": {
                "type": "object",
                "additionalProperties": False,
                "required": ["PropertyFile", "Path"],
                "properties": {"PropertyFile": get, "Path": {"type": "string"}},
            }
        },
    }
    definitions["StringArgumentValue"]["oneOf"] += [
        {"$ref": "#/definitions/JoinFunction"},
        {"$ref": "#/definitions/JsonGetFunction"},
    ]
    definitions["ProcessingStep"]["properties"]["PropertyFiles"] = {
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": ["PropertyFileName", "OutputName", "FilePath"],
            "properties": {name: {"type": "string"} for name in ("PropertyFileName", "OutputName", "FilePath")},
        },
    }
    definitions["RegisterModelStep"]["properties"]["Arguments"]["properties"]["ModelApprovalStatus"] = {
        "$ref": "#/definitions/StringArgumentValue"
    }
    exception_type = definitions["RetryPolicy"]["properties"]["ExceptionType"]
    definitions["RetryPolicy"]["properties"]["ExceptionType"] = {
        "type": "array",
        "minItems": 1,
        "items": exception_type,
    }
    return schema


def require_schema(path, environ) -> None:
    """Skip on a developer machine without the shared schema; in CI (CI=true) its absence is a failure."""
    if path.exists():
        return
    message = f"{path} (the shared reference schema beside the project) is not present"
    if environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"{message}; CI=true, so the pipeline schema check must run: check out ../shared/schemas or set KIT_PIPELINE_SCHEMA"
        )
    pytest.skip(message)


@pytest.fixture(scope="module")
def schema():
    require_schema(SCHEMA, os.environ)
    return with_newer_features(json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize(("environ", "outcome"), [({"CI": "true"}, pytest.fail.Exception), ({}, pytest.skip.Exception)])
def test_a_missing_schema_fails_in_ci_and_skips_elsewhere(tmp_path, environ, outcome):
    with pytest.raises(outcome, match="not present"):
        require_schema(tmp_path / "missing.json", environ)


def test_pipeline_definition_is_valid_against_the_published_schema(churn, schema):
    template, _ = churn
    document = definition(template)
    validator = jsonschema.Draft7Validator(schema)  # the schema names the unversioned draft URI
    validator.validate(document)
    broken = copy.deepcopy(document)
    broken["Steps"][1]["Arguments"]["HyperParameter"] = broken["Steps"][1]["Arguments"].pop("HyperParameters")
    with pytest.raises(jsonschema.ValidationError, match="HyperParameter"):
        validator.validate(broken)


def test_every_retry_policy_names_its_exception_types_in_a_list(churn, schema):
    """The service and the SDK take `"ExceptionType": [String]`; a bare string is rejected at run time."""
    policies = [policy for step in steps(definition(churn[0])).values() for policy in step.get("RetryPolicies", [])]
    assert policies
    validator = jsonschema.Draft7Validator(schema["definitions"]["RetryPolicy"])
    for policy in policies:
        assert isinstance(policy["ExceptionType"], list)
        validator.validate(policy)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**policies[0], "ExceptionType": policies[0]["ExceptionType"][0]})


def test_steps_are_wired_preprocess_train_evaluate_gate_register(churn):
    template, config = churn
    document = definition(template)
    flat = steps(document)
    assert [s["Name"] for s in document["Steps"]] == ["PrepareFeatures", "TrainModel", "EvaluateModel", "CheckAuc"]
    prepare, train, evaluate, gate = (flat[n] for n in ("PrepareFeatures", "TrainModel", "EvaluateModel", "CheckAuc"))
    arguments = prepare["Arguments"]["AppSpecification"]["ContainerArguments"]
    features = arguments[arguments.index("--output") + 1]["Std:Join"]
    assert arguments[arguments.index("--input") + 1] == {"Get": "Parameters.InputDataUri"}
    assert prepare["Arguments"]["AppSpecification"]["ContainerEntrypoint"][0] == "smspark-submit"
    # Training reads what preprocessing wrote, one run folder per execution.
    assert train["DependsOn"] == ["PrepareFeatures"]
    for channel in train["Arguments"]["InputDataConfig"]:
        uri = channel["DataSource"]["S3DataSource"]["S3Uri"]["Std:Join"]
        assert uri["Values"] == features["Values"] + [channel["ChannelName"]]
        assert channel["ContentType"] == "text/csv"
    assert {"Get": "Execution.PipelineExecutionId"} in features["Values"]
    assert train["Arguments"]["HyperParameters"] == HYPERPARAMETERS
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in evaluate["Arguments"]["ProcessingInputs"]}
    assert inputs["model"] == {"Get": "Steps.TrainModel.ModelArtifacts.S3ModelArtifacts"}
    assert inputs["test"]["Std:Join"]["Values"] == features["Values"] + ["test"]
    (property_file,) = evaluate["PropertyFiles"]
    (output,) = evaluate["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert property_file["OutputName"] == output["OutputName"] and property_file["FilePath"] == "evaluation.json"
    (condition,) = gate["Arguments"]["Conditions"]
    assert condition["Type"] == "GreaterThanOrEqualTo" and condition["RightValue"] == {"Get": "Parameters.MinimumAuc"}
    json_get = condition["LeftValue"]["Std:JsonGet"]
    assert json_get["PropertyFile"] == {"Get": f"Steps.EvaluateModel.PropertyFiles.{property_file['PropertyFileName']}"}
    assert json_get["Path"] == "binary_classification_metrics.auc.value"
    assert [s["Type"] for s in gate["Arguments"]["IfSteps"]] == ["RegisterModel"]
    assert [s["Type"] for s in gate["Arguments"]["ElseSteps"]] == ["Fail"]
    register = flat["RegisterModel"]["Arguments"]
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert register["InferenceSpecification"]["Containers"][0]["ModelDataUrl"] == inputs["model"]
    assert register["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [
        config.churn_endpoint_instance_type
    ]
    parameters = {p["Name"]: p.get("DefaultValue") for p in document["Parameters"]}
    assert parameters["MinimumAuc"] == config.churn_min_auc
    assert parameters["ModelApprovalStatus"] == (
        "Approved" if config.common.profile == "sandbox" else "PendingManualApproval"
    )
    assert parameters["ProcessingInstanceCount"] == config.churn_processing_instance_count


def test_jobs_encrypt_volumes_and_outputs_with_the_kit_key_and_isolate_the_network(churn):
    template, _ = churn
    flat = steps(definition(template))
    train = flat["TrainModel"]["Arguments"]
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == TOKEN and train["OutputDataConfig"]["KmsKeyId"] == TOKEN
    assert train["EnableNetworkIsolation"] is True and train["EnableInterContainerTrafficEncryption"] is True
    assert flat["EvaluateModel"]["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    for name in ("PrepareFeatures", "EvaluateModel"):
        assert flat[name]["Arguments"]["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == TOKEN
    body = json.dumps(only(template, "AWS::SageMaker::Pipeline")["PipelineDefinition"])
    key = next(iter(template.find_resources("AWS::KMS::Key")))
    assert body.count(key) >= 5


def test_images_come_from_the_generated_mapping_and_other_regions_are_refused(churn):
    template, _ = churn
    mapping = template.to_json()["Mappings"]
    (registries,) = [m for m in mapping.values() if "us-east-1" in m]
    # Registry accounts as the SageMaker developer guide lists them (an independent source).
    assert registries["us-east-1"] == {"XGBoost": "683313688378", "SparkProcessing": "173754725891"}
    assert registries["us-west-2"]["XGBoost"] == "246618743249" and registries["eu-west-1"]["XGBoost"] == "141502667606"
    assert registries == load_registries()["registries"]
    (rule,) = [r for r in template.to_json()["Rules"].values() if "Fn::Contains" in r["Assertions"][0]["Assert"]]
    contains = rule["Assertions"][0]["Assert"]["Fn::Contains"]
    assert contains == [sorted(registries), {"Ref": "AWS::Region"}]
    images = json.dumps(only(template, "AWS::SageMaker::Pipeline"))
    assert "sagemaker-xgboost:1.7-1" in images
    # A released, versioned Spark tag (<spark>-cpu-<python>-v<major>.<minor>); the bare line tag is not published.
    assert re.search(r"sagemaker-spark-processing:3\.5-cpu-py312-v\d+\.\d+\b", images)


def test_a_concrete_unsupported_region_fails_synth_with_the_supported_list():
    stack = cdk.Stack(new_app(), "Churn", env=cdk.Environment(account="123456789012", region="xx-nowhere-1"))
    with pytest.raises(UnsupportedRegionError, match="Supported regions: af-south-1, "):
        ChurnModel(stack, "Churn", settings=ChurnModelSettings.for_profile())


def test_generator_keeps_regions_that_publish_both_images(tmp_path):
    from scripts.generate_image_registries import CONFIG_DIR, image_registries

    folder = tmp_path / CONFIG_DIR
    folder.mkdir(parents=True)
    (folder / "xgboost.json").write_text(
        json.dumps(
            {
                "training": {
                    "versions": {
                        "1.7-1": {"repository": "sagemaker-xgboost", "registries": {"r-1": "111", "r-2": "222"}}
                    }
                }
            }
        )
    )
    (folder / "spark.json").write_text(
        json.dumps(
            {
                "processing": {
                    "versions": {
                        "3.5": {"repository": "sagemaker-spark-processing", "registries": {"r-2": "333", "r-3": "444"}}
                    }
                }
            }
        )
    )
    data = image_registries(tmp_path, "test")
    assert data["registries"] == {"r-2": {"XGBoost": "222", "SparkProcessing": "333"}}
    assert data["images"]["SparkProcessing"] == {
        "repository": "sagemaker-spark-processing",
        "tag": "3.5-cpu-py312-v1.3",
    }


def test_committed_image_map_carries_the_generators_pinned_tags():
    """A tag bumped in the generator but not regenerated (make image-registries) would deploy the old image."""
    from scripts.generate_image_registries import IMAGES

    images = load_registries()["images"]
    assert {key: images[key]["tag"] for key in IMAGES} == {key: pin[3] for key, pin in IMAGES.items()}


def test_generator_names_a_newer_patch_of_the_pinned_spark_line_only():
    from scripts.generate_image_registries import newer_patch

    tags = [
        "3.5-cpu-py312-v1.2",
        "3.5-cpu-py312-v1.10",
        "3.5-cpu-py39-v1.12",
        "3.5-cpu-py312-v2.0",
        "3.4-cpu-py39-v1.1",
    ]
    assert newer_patch("3.5-cpu-py312-v1.3", tags) == "3.5-cpu-py312-v1.10"
    assert newer_patch("3.5-cpu-py312-v1.10", tags) is None
    assert newer_patch("3.5-cpu-py312-v1.3", ["3.5-cpu-py312-v1.3", "3.5-cpu-py312-v1.1"]) is None
    with pytest.raises(ValueError, match="not a <line>-v<major>.<patch> tag"):
        newer_patch("3.5-cpu-py312", tags)


def test_rules_invoke_the_deployer_on_every_package_change_and_on_in_service(churn):
    """The deployer decides whether an approval changed (metadata edits emit the same event), so the rule passes
    every status of the group; the in-service rule exists in every profile (it deploys approvals that waited)."""
    template, config = churn
    rules = {name: r["Properties"] for name, r in template.find_resources("AWS::Events::Rule").items()}
    approval = next(
        r
        for r in rules.values()
        if r.get("EventPattern", {}).get("detail-type") == ["SageMaker Model Package State Change"]
    )
    assert approval["EventPattern"]["detail"] == {"ModelPackageGroupName": ["churn-models"]}
    (target,) = approval["Targets"]
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 2 and "DeadLetterConfig" in target
    (in_service,) = [  # the other endpoint rule notifies the topic of failures (test_notices.py)
        r
        for r in rules.values()
        if r.get("EventPattern", {}).get("detail-type") == ["SageMaker Endpoint State Change"]
        and "IN_SERVICE" in r["EventPattern"]["detail"]["EndpointStatus"]
    ]
    assert in_service["EventPattern"]["detail"] == {
        "EndpointName": ["churn-endpoint"],
        "EndpointStatus": ["IN_SERVICE"],
    }
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    )
    assert (
        "DeadLetterConfig" in function and "ReservedConcurrentExecutions" not in function
    )  # it refuses a busy endpoint


def _logical_id(value):
    """The logical id behind a Ref or Fn::GetAtt (None for anything else)."""
    if isinstance(value, dict):
        if "Ref" in value:
            return value["Ref"]
        if "Fn::GetAtt" in value:
            return value["Fn::GetAtt"][0]
    return None


def _pattern(value):
    """An ARN pattern written with Fn::Join over pseudo parameters, as text with their names."""
    if isinstance(value, str):
        return value
    return "".join(part if isinstance(part, str) else part["Ref"] for part in value["Fn::Join"][1])


def _key_allows_service(key, service, source_arn):
    """True when the key policy lets `service` encrypt for a sender whose ARN matches one of its SourceArn patterns.

    `source_arn=None`: the service sends no aws:SourceArn/aws:SourceAccount on its KMS requests (EventBridge), so the
    statement must not depend on them."""
    for statement in key["Properties"]["KeyPolicy"]["Statement"]:
        if statement.get("Principal", {}).get("Service") != service:
            continue
        actions = set(statement["Action"])
        if not {"kms:Decrypt", "kms:GenerateDataKey*"} <= actions:
            continue
        if source_arn is None:
            conditions = json.dumps(statement.get("Condition", {}))
            assert "aws:SourceArn" not in conditions and "aws:SourceAccount" not in conditions, statement
            return True
        pattern = _pattern(statement["Condition"]["ArnLike"]["aws:SourceArn"])
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
        if fnmatch.fnmatchcase(source_arn, pattern):
            return True
    return False


def _role_allows(policies, role_id, action, resource_id):
    """True when one of the role's policies allows `action` (or a matching wildcard) on the resource."""
    for policy in policies.values():
        if role_id not in [_logical_id(r) for r in policy["Properties"]["Roles"]]:
            continue
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            if any(fnmatch.fnmatchcase(action, a) for a in actions) and (
                "*" in resources or resource_id in [_logical_id(r) for r in resources]
            ):
                return True
    return False


def test_every_sender_to_an_encrypted_queue_or_topic_can_use_its_key(churn):
    """Rule targets' dead-letter queues (EventBridge), functions' dead-letter queues and topics they publish to
    (the function's role), and alarm actions (CloudWatch): each sender must be able to encrypt with the key."""
    template, _ = churn
    resources = template.to_json()["Resources"]
    policies = template.find_resources("AWS::IAM::Policy")
    checked = 0

    def key_of(resource_id):
        props = resources[resource_id]["Properties"]
        return _logical_id(props.get("KmsMasterKeyId"))

    for rule in template.find_resources("AWS::Events::Rule").values():
        for target in rule["Properties"]["Targets"]:
            queue = _logical_id(target.get("DeadLetterConfig", {}).get("Arn"))
            if queue and key_of(queue):
                assert _key_allows_service(resources[key_of(queue)], "events.amazonaws.com", None), rule
                checked += 1
    for function in template.find_resources("AWS::Lambda::Function").values():
        queue = _logical_id(function["Properties"].get("DeadLetterConfig", {}).get("TargetArn"))
        if queue and key_of(queue):
            role = _logical_id(function["Properties"]["Role"])
            assert _role_allows(policies, role, "sqs:SendMessage", queue)
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                assert _role_allows(policies, role, action, key_of(queue)), (role, action)
            checked += 1
    for policy in policies.values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if "sns:Publish" not in statement["Action"]:
                continue
            topic = _logical_id(statement["Resource"])
            for role in (_logical_id(r) for r in policy["Properties"]["Roles"]):
                for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                    assert _role_allows(policies, role, action, key_of(topic)), (role, action)
                checked += 1
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        alarm_arn = "arn:AWS::Partition:cloudwatch:AWS::Region:AWS::AccountId:alarm:" + alarm["Properties"].get(
            "AlarmName", "?"
        )
        for action in alarm["Properties"].get("AlarmActions", []):
            topic = _logical_id(action)
            if topic in resources and key_of(topic):
                assert _key_allows_service(resources[key_of(topic)], "cloudwatch.amazonaws.com", alarm_arn), alarm_arn
                checked += 1
    assert checked >= 5  # two rules, the deployer, two alarms (sandbox adds the guard and its schedule)


def test_data_capture_goes_to_the_capture_location_it_is_given(churn_and_capture):
    template, config, capture = churn_and_capture
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    )
    env = function["Environment"]["Variables"]
    capture_bucket_id = capture.stack.get_logical_id(capture.bucket.node.default_child)
    assert capture_bucket_id in json.dumps(env["CAPTURE_URI"]) and "/data-capture" in json.dumps(env["CAPTURE_URI"])
    assert capture.stack.get_logical_id(capture.key.node.default_child) in json.dumps(env["CAPTURE_KEY_ARN"])
    assert (env["INSTANCE_TYPE"], env["INSTANCE_COUNT"], env["MAX_INSTANCES"]) == (
        config.churn_endpoint_instance_type,
        str(config.churn_endpoint_instance_count),
        str(config.churn_endpoint_max_instances),
    )
    assert env["DELETE_MODEL_PACKAGES"] == ("false" if config.common.retain_data else "true")
    assert env["ENDPOINT_NAME"] == "churn-endpoint"


def test_stack_deletion_runs_the_teardown_through_the_provider_framework(churn):
    """A Provider-framework custom resource whose onEvent handler is the deployer: an exception in the teardown
    fails the delete with its message, where a Lambda.invoke call would report success on FunctionError."""
    template, _ = churn
    assert template.find_resources("Custom::AWS") == {}
    (teardown,) = template.find_resources("Custom::ChurnEndpointTeardown").values()
    framework_id = _logical_id(teardown["Properties"]["ServiceToken"])
    framework = template.to_json()["Resources"][framework_id]["Properties"]
    deployer_id = next(
        name
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "deployer.handler"
    )
    assert framework["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"] == {"Fn::GetAtt": [deployer_id, "Arn"]}
    assert deployer_id in teardown.get("DependsOn", [])


def test_the_endpoint_log_group_expires_and_goes_after_the_endpoint(churn):
    """Issue 29: SageMaker created /aws/sagemaker/Endpoints/<endpoint> on first start, kept forever and left by
    destroy. The kit creates it (profile retention, the stack's key) and deletes it in every profile (a retained group
    with SageMaker's fixed name would fail the next deploy), after the teardown has removed the endpoint."""
    template, config = churn
    groups = template.find_resources(
        "AWS::Logs::LogGroup", {"Properties": {"LogGroupName": "/aws/sagemaker/Endpoints/churn-endpoint"}}
    )
    ((group_id, group),) = groups.items()
    assert group["Properties"]["RetentionInDays"] == config.common.log_retention_days
    assert "KmsKeyId" in group["Properties"] and group["DeletionPolicy"] == "Delete"
    (teardown,) = template.find_resources("Custom::ChurnEndpointTeardown").values()
    assert group_id in teardown["DependsOn"]


def test_stack_deletion_waits_until_the_endpoint_is_gone_within_cloudformations_hour(churn):
    """Issue 29: the delete returned while DeleteEndpoint ran, and the role and key went next. The deployer is the
    framework's isComplete handler too, polled by the waiter state machine; its retries end before CloudFormation's
    custom-resource timeout (at most 3600 s), so the framework reports its own timeout."""
    template, _ = churn
    resources = template.to_json()["Resources"]
    (teardown,) = template.find_resources("Custom::ChurnEndpointTeardown").values()
    on_event = resources[_logical_id(teardown["Properties"]["ServiceToken"])]["Properties"]
    deployer_id = next(
        name
        for name, f in template.find_resources("AWS::Lambda::Function").items()
        if f["Properties"].get("Handler") == "deployer.handler"
    )
    # The onEvent function starts the waiter only when it has an isComplete handler (the framework's runtime).
    assert on_event["Environment"]["Variables"]["USER_IS_COMPLETE_FUNCTION_ARN"] == {"Fn::GetAtt": [deployer_id, "Arn"]}
    waiter_id = _logical_id(on_event["Environment"]["Variables"]["WAITER_STATE_MACHINE_ARN"])
    definition = "".join(
        part if isinstance(part, str) else "0"
        for part in resources[waiter_id]["Properties"]["DefinitionString"]["Fn::Join"][1]
    )
    (retry,) = json.loads(definition)["States"]["framework-isComplete-task"]["Retry"]
    assert retry["BackoffRate"] == 1 and 60 * 30 <= retry["IntervalSeconds"] * retry["MaxAttempts"] < 3600
    assert resources[waiter_id]["Properties"]["LoggingConfiguration"]["Level"] == "ALL"


def _statements(template, handler):
    """The statements of the role of the function with this handler."""
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler
    )
    role = _logical_id(function["Role"])
    return [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if role in [_logical_id(r) for r in policy["Properties"]["Roles"]]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _granting(statements, action):
    return [s for s in statements if action in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]


def test_deployer_can_list_packages_describe_scaling_read_the_rollback_alarm_and_scale_the_variant(churn):
    template, config = churn
    statements = _statements(template, "deployer.handler")
    # List* and Application Auto Scaling Describe* have no resource type and no condition keys.
    unconditioned = ["sagemaker:ListModels", "sagemaker:ListEndpointConfigs"]
    if not config.common.retain_data:
        unconditioned.append("sagemaker:ListModelPackages")
    scaling = config.churn_endpoint_max_instances > config.churn_endpoint_instance_count
    if scaling:
        unconditioned.append("application-autoscaling:DescribeScalableTargets")
    for action in unconditioned:
        assert any(s["Resource"] == "*" and "Condition" not in s for s in _granting(statements, action)), action
    (alarm,) = _granting(statements, "cloudwatch:DescribeAlarms")[:1]
    error_alarm = next(
        name
        for name, a in template.find_resources("AWS::CloudWatch::Alarm").items()
        if a["Properties"]["MetricName"] == "Invocation5XXErrors"
    )
    assert {"Fn::GetAtt": [error_alarm, "Arn"]} in (
        alarm["Resource"] if isinstance(alarm["Resource"], list) else [alarm["Resource"]]
    )
    weights = _granting(statements, "sagemaker:UpdateEndpointWeightsAndCapacities")
    assert bool(weights) == scaling
    for action in ("sagemaker:ListTags", "sagemaker:AddTags", "sagemaker:DeleteTags"):
        resources = json.dumps([s["Resource"] for s in _granting(statements, action)])
        # Issue 31: tags on a versioned package are its group's; the deployed mark is package metadata.
        assert ":model-package/" not in resources and ":endpoint/churn-endpoint" in resources, action
    (mark,) = _granting(statements, "sagemaker:UpdateModelPackage")
    assert ":model-package/churn-models/*" in json.dumps(mark["Resource"])
    # The deployer writes its mark; approving or rejecting stays with people.
    assert mark["Condition"] == {"Null": {"sagemaker:ModelApprovalStatus": "true"}}


def test_the_role_sagemaker_runs_the_endpoint_as_may_read_every_rollback_alarm_the_deployer_names(churn):
    """SageMaker describes the auto-rollback alarms as the model's execution role (deployment-guardrails-configuration
    .html): the role the deployer passes (MODEL_ROLE_ARN) needs DescribeAlarms on the alarm it names (ROLLBACK_ALARM)."""
    template, _ = churn
    (deployer,) = [
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    ]
    env = deployer["Environment"]["Variables"]
    (role_id,) = env["MODEL_ROLE_ARN"]["Fn::GetAtt"][:1]
    alarms = template.find_resources("AWS::CloudWatch::Alarm")
    named = env["ROLLBACK_ALARM"]
    (alarm_id,) = [name for name, a in alarms.items() if named in ({"Ref": name}, a["Properties"].get("AlarmName"))]
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert any(
        "cloudwatch:DescribeAlarms" in _as_list(s["Action"])
        and {"Fn::GetAtt": [alarm_id, "Arn"]} in _as_list(s["Resource"])
        for s in statements
    )


def _as_list(value):
    return value if isinstance(value, list) else [value]


# The deployer's environment that names things rather than configures the endpoint's fleet and captures.
IDENTITY_ENV = {
    "ENDPOINT_NAME",
    "VARIANT_NAME",
    "MODEL_PACKAGE_GROUP",
    "MODEL_ROLE_ARN",
    "ROLLBACK_ALARM",
    "DELETE_MODEL_PACKAGES",
    "TOPIC_ARN",
    "STACK_ID",
    "PIPELINE_NAME",
    "KIT_TAGS",  # tags, not a setting of the endpoint: a changed tag makes no new endpoint config
}


def test_every_endpoint_setting_is_a_property_of_the_endpoint_resource_so_a_change_reaches_the_endpoint(churn):
    """Issue 29 item 5: a setting only in the deployer's environment never reached the running endpoint. Each one is
    also a property of the custom resource, whose Update the deployer applies (a new config, UpdateEndpoint)."""
    template, _ = churn
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    )
    env = function["Environment"]["Variables"]
    (resource,) = template.find_resources("Custom::ChurnEndpointTeardown").values()
    properties = resource["Properties"].get("EndpointSettings", {})
    settings = {name: value for name, value in env.items() if name not in IDENTITY_ENV}
    assert {"INSTANCE_TYPE", "INSTANCE_COUNT", "CAPTURE_URI", "CAPTURE_PERCENT", "CAPTURE_KEY_ARN"} <= set(settings)
    assert properties == settings


def test_the_pipeline_is_deleted_after_the_teardown_stopped_its_runs(churn):
    """Issue 29: DeletePipeline refuses a pipeline with running executions, and a run could still register a model
    that the deployer would deploy. The teardown stops the runs (the deployer may, on this pipeline only), the
    pipeline goes after it, and the deployer reads its stack's status before it creates an endpoint."""
    template, _ = churn
    ((pipeline_id, pipeline),) = template.find_resources("AWS::SageMaker::Pipeline").items()
    ((teardown_id, _),) = template.find_resources("Custom::ChurnEndpointTeardown").items()
    assert teardown_id in pipeline["DependsOn"]
    function = next(
        f["Properties"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    )
    env = function["Environment"]["Variables"]
    assert env["PIPELINE_NAME"] == pipeline["Properties"]["PipelineName"]
    assert env["STACK_ID"] == {"Ref": "AWS::StackId"}
    statements = _statements(template, "deployer.handler")
    for action in ("sagemaker:ListPipelineExecutions", "sagemaker:StopPipelineExecution"):
        resources = json.dumps([s["Resource"] for s in _granting(statements, action)])
        assert f":pipeline/{env['PIPELINE_NAME']}" in resources, action
    assert [s["Resource"] for s in _granting(statements, "cloudformation:DescribeStacks")] == [{"Ref": "AWS::StackId"}]


def test_idle_guard_follows_the_profile_and_reads_invocations_deletes_and_notifies(churn):
    template, config = churn
    guards = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "idle_guard.handler"
    ]
    assert len(guards) == (1 if config.churn_idle_hours else 0)
    assert config.churn_idle_hours == (4 if config.common.profile == "sandbox" else 0)
    if not guards:
        return
    env = guards[0]["Properties"]["Environment"]["Variables"]
    assert env["IDLE_HOURS"] == "4" and env["ENDPOINT_NAME"] == "churn-endpoint"
    statements = _statements(template, "idle_guard.handler")
    assert _granting(statements, "sagemaker:DeleteEndpoint") and _granting(statements, "sns:Publish")
    assert _granting(statements, "cloudwatch:GetMetricStatistics")[0]["Resource"] == "*"
    (schedule,) = [
        r["Properties"]
        for r in template.find_resources("AWS::Events::Rule").values()
        if "ScheduleExpression" in r["Properties"]
    ]
    assert schedule["ScheduleExpression"] == "rate(1 hour)" and "DeadLetterConfig" in schedule["Targets"][0]


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"kit:churn_idle_hours": "-1"}, "churn_idle_hours=-1 is out of range. Allowed: 0 to 720"),
        ({"profile": "production", "kit:churn_idle_hours": "4"}, "needs an endpoint without auto scaling"),
    ],
)
def test_idle_guard_setting_is_validated(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(overrides, ChurnModelSettings)


def test_roles_are_least_privilege(churn):
    template, _ = churn
    for role in template.find_resources("AWS::IAM::Role").values():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert "FullAccess" not in json.dumps(arn)
    for policy in template.find_resources("AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement
            if "iam:PassRole" in actions:
                assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_registry_and_notebook_follow_the_profile(churn):
    template, config = churn
    (group,) = template.find_resources("AWS::SageMaker::ModelPackageGroup").values()
    assert group["DeletionPolicy"] == ("Retain" if config.common.retain_data else "Delete")
    notebooks = template.find_resources("AWS::SageMaker::NotebookInstance")
    assert len(notebooks) == (1 if config.churn_notebook else 0)
    if notebooks:
        (notebook,) = notebooks.values()
        props = notebook["Properties"]
        assert props["DirectInternetAccess"] == "Disabled" and props["RootAccess"] == "Disabled"
        assert "KmsKeyId" in props and "SubnetId" in props
        assert props["InstanceMetadataServiceConfiguration"] == {"MinimumInstanceMetadataServiceVersion": "2"}
        lifecycle = only(template, "AWS::SageMaker::NotebookInstanceLifecycleConfig")
        script = lifecycle["OnStart"][0]["Content"]["Fn::Base64"]["Fn::Sub"][0]
        assert (
            "aws codeartifact login --tool pip" in script and "pip install --quiet sagemaker_pyspark==1.4.5" in script
        )
        (repository,) = template.find_resources("AWS::CodeArtifact::Repository").values()
        assert repository["Properties"]["ExternalConnections"] == ["public:pypi"]
        assert template.find_resources("AWS::EC2::NatGateway") == {}


def test_library_example_trains_with_the_pipelines_hyperparameters_on_the_1_7_image():
    tree = ast.parse((PROJECT_ROOT / "examples" / "sagemaker_pyspark_churn.py").read_text())
    (assignment,) = [n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == "HYPERPARAMETERS"]
    example = ast.literal_eval(assignment.value)
    assert example == {k: v for k, v in HYPERPARAMETERS.items() if k != "eval_metric"}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert "SageMakerEstimator" in names and "XGBoostSageMakerEstimator" not in names


def test_library_example_stages_training_data_where_the_notebook_role_may_write():
    """SageMakerEstimator's default S3AutoCreatePath creates a bucket of its own: the example passes both paths,
    under notebook/ of the artifacts bucket (sagemaker-spark's SageMakerEstimator signature)."""
    tree = ast.parse((PROJECT_ROOT / "examples" / "sagemaker_pyspark_churn.py").read_text())
    (call,) = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "SageMakerEstimator"
    ]
    keywords = {k.arg for k in call.keywords}
    assert {"trainingInputS3DataPath", "trainingOutputS3DataPath"} <= keywords
    (paths,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "notebook_paths"]
    prefixes = [
        c.args[1].value
        for c in ast.walk(paths)
        if isinstance(c, ast.Call) and getattr(c.func, "id", "") == "S3DataPath"
    ]
    assert prefixes and all(prefix.startswith("notebook/") for prefix in prefixes)


def test_notebook_role_reads_the_pipeline_features_and_installs_in_the_background(churn):
    template, config = churn
    if not config.churn_notebook:
        pytest.skip("no notebook in this profile")
    role = next(name for name, r in template.find_resources("AWS::IAM::Role").items() if "NotebookRole" in name)
    statements = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        if role in [_logical_id(r) for r in p["Properties"]["Roles"]]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    reads = json.dumps([s["Resource"] for s in _granting(statements, "s3:GetObject*")])
    assert "/runs/*" in reads and "/notebook/*" in reads
    lifecycle = only(template, "AWS::SageMaker::NotebookInstanceLifecycleConfig")
    script = lifecycle["OnStart"][0]["Content"]["Fn::Base64"]["Fn::Sub"][0]
    install = next(line for line in script.splitlines() if line.startswith("nohup "))
    assert install.endswith("&") and "kit-install.sh" in install
    assert "pip install" not in script.split("INSTALL")[0] and "pip install" in script.split("INSTALL")[1]
    assert "aws configure set sts_regional_endpoints regional" in script


def test_a_capture_bucket_needs_its_key():
    stack = cdk.Stack(new_app(), "Churn")
    bucket = cdk.aws_s3.Bucket.from_bucket_name(stack, "Captures", "captures")
    with pytest.raises(ValueError, match="capture_bucket and capture_key together"):
        ChurnModel(stack, "Churn", settings=ChurnModelSettings.for_profile(), capture_bucket=bucket)


def _notebook_stack(**overrides):
    stack = cdk.Stack(new_app(), "Churn")
    ChurnModel(stack, "Churn", settings=ChurnModelSettings.for_profile("sandbox", churn_notebook=True, **overrides))
    template = Template.from_stack(stack)
    script = only(template, "AWS::SageMaker::NotebookInstanceLifecycleConfig")["OnStart"][0]["Content"]
    return template, script["Fn::Base64"]["Fn::Sub"][0]


def test_the_notebook_copies_its_notebooks_to_the_kept_bucket_and_stops_when_idle():
    """Users' notebooks live in the artifacts bucket (kept on a production destroy) as well as on the volume that
    goes with the instance: restored once on a new volume, copied up every 5 minutes and before an idle stop; the
    instance stops itself after churn_notebook_idle_minutes, with permission to stop only itself."""
    template, script = _notebook_stack(churn_notebook_idle_minutes=45)
    sync = script.split("<<'SYNC'")[1].split("\nSYNC")[0]
    restore, upload = [line for line in sync.splitlines() if "aws s3 sync" in line]
    assert "if [ ! -e $home/.kit-restored ]" in restore and "$target $home/" in restore
    assert "--delete" in upload and "$home/ $target" in upload and "flock -n 9" in sync
    assert "target=s3://${Bucket}/notebook/home/" in sync
    cron = next(line for line in script.splitlines() if "crontab -" in line)
    assert "*/5 * * * *" in cron and "kit-idle-stop.py 45 /tmp/kit-started /home/ec2-user/kit-sync.sh" in cron
    (stop,) = [
        s
        for p in template.find_resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:StopNotebookInstance" in json.dumps(s["Action"])
    ]
    (instance,) = template.find_resources("AWS::SageMaker::NotebookInstance")
    assert stop["Action"] == "sagemaker:StopNotebookInstance"
    assert stop["Resource"] == {"Fn::GetAtt": [instance, "NotebookInstanceArn"]}


def test_a_notebook_that_never_stops_still_copies_its_notebooks():
    _, script = _notebook_stack(churn_notebook_idle_minutes=0)
    cron = next(line for line in script.splitlines() if "crontab -" in line)
    assert "kit-idle-stop" not in cron and "kit-sync.sh" in cron


def test_every_job_the_pipeline_starts_carries_the_kits_tags(churn):
    """Stack tags do not reach the processing and training jobs a pipeline execution creates; the definition tags
    each job-creating step with them, so a cost report by the kit's tags finds the jobs."""
    template, config = churn
    jobs = [step for step in definition(template)["Steps"] if step["Type"] in ("Processing", "Training")]
    assert len(jobs) == 3
    expected = [{"Key": k, "Value": v} for k, v in standard_tags(config.common, "churn-model").items()]
    for step in jobs:
        assert step["Arguments"]["Tags"] == expected, step["Name"]


def test_the_deployer_tags_what_it_creates_with_the_stacks_tags(churn):
    """Issue 29: the endpoint, its configs and models were created with the endpoint's own tag only; the deployer
    gets the kit's tags by environment (tests/lambdas/conftest.py checks that each create request carries them)."""
    template, config = churn
    [env] = [
        f["Properties"]["Environment"]["Variables"]
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "deployer.handler"
    ]
    assert json.loads(env["KIT_TAGS"]) == standard_tags(config.common, "churn-model")


def test_the_longest_endpoint_name_allowed_leaves_room_for_every_model_and_config_name_the_deployer_writes():
    """SageMaker names allow 63 characters; the deployer appends version, settings digest and instance count."""
    from stacks.churn_model.endpoint import ENDPOINT_NAME_MAX_LENGTH
    from tests.lambdas.churn_endpoint.test_deployer import ENV, deployer

    name = "e" * ENDPOINT_NAME_MAX_LENGTH
    settings = deployer.Settings.from_env({**ENV, "ENDPOINT_NAME": name, "MAX_INSTANCES": "100"})
    model = f"{name}-v999"
    assert len(deployer.config_name(settings, model, 100)) <= 63 and len(model) <= 63
