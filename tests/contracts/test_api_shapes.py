"""Every AWS API request the kit writes by hand matches the AWS SDK's service model (botocore's ParamValidator).

Pipeline step Arguments, Step Functions integration Parameters, AwsCustomResource calls and the QuickSight
resources, read from the synthesized templates of both profiles with QuickSight off and on.
"""

from __future__ import annotations

import copy
import dataclasses
import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks

from tests.conftest import new_app, quicksight_app
from tools.contracts.api_shapes import (
    DEPLOY_TIME,
    ApiCall,
    UnsupportedRequest,
    api_calls,
    botocore_service,
    json_document,
    pipeline_calls,
    state_machine_calls,
    validate,
)
from tools.synthesis import templates

# The requests each variant must contain, so that a template change cannot make the contract check nothing.
ALWAYS = {
    ("sagemaker", "CreateProcessingJob"),
    ("sagemaker", "CreateTrainingJob"),
    ("sagemaker", "CreateModelPackage"),
    ("emr-serverless", "StartJobRun"),
    ("sns", "Publish"),
}
QUICKSIGHT = {("quicksight", "CreateDataSource"), ("quicksight", "CreateDataSet"), ("quicksight", "CreateDashboard")}


def quicksight_templates(profile: str) -> dict[str, dict]:
    """The kit's templates with the QuickSight dashboard configured (the session's kit_app has it off)."""
    return templates(quicksight_app(profile).assembly)


@pytest.fixture(scope="module", params=[False, True], ids=["quicksight-off", "quicksight-on"])
def variant(request, kit_app):
    """Both profiles (kit_app's parameter), QuickSight off and on."""
    quicksight = request.param
    return quicksight, quicksight_templates(kit_app.settings.common.profile) if quicksight else templates(
        kit_app.assembly
    )


def test_every_hand_written_request_matches_the_sdk_model(variant):
    quicksight, stack_templates = variant
    calls = api_calls(stack_templates)
    found = {(call.service, call.operation) for call in calls}
    assert ALWAYS <= found
    custom_resources = {
        f"{stack}/{logical_id}"
        for stack, template in stack_templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "Custom::AWS"
    }
    assert custom_resources <= {call.where.split(" on ")[0] for call in calls}
    assert (QUICKSIGHT <= found) if quicksight else not (QUICKSIGHT & found)
    assert [error for call in calls for error in validate(call)] == []


def test_renaming_any_member_of_any_request_fails(variant):
    """The check is live for every request found: a misspelt top-level member is reported for each one."""
    _, stack_templates = variant
    for call in api_calls(stack_templates):
        first = next(iter(call.params))
        params = {(f"{first}Typo" if key == first else key): value for key, value in call.params.items()}
        errors = validate(dataclasses.replace(call, params=params))
        assert any(f'"{first}Typo"' in error for error in errors), call.where


def _misspell(template: dict, resource_type: str, old: str, new: str) -> dict:
    """A copy of the template with the first `old` (as written in the template's JSON) in a resource of the type
    renamed to `new`."""
    template = copy.deepcopy(template)
    logical_id = next(
        lid
        for lid, resource in template["Resources"].items()
        if resource["Type"] == resource_type and old in json.dumps(resource)
    )
    template["Resources"][logical_id] = json.loads(json.dumps(template["Resources"][logical_id]).replace(old, new, 1))
    return template


@pytest.mark.parametrize(
    "stack, resource_type, old, new",
    [
        # A pipeline step argument, deep in CreateProcessingJob's ProcessingResources.
        ("ChurnModelStack", "AWS::SageMaker::Pipeline", '\\"VolumeSizeInGB\\"', '\\"VolumeSizeInGb\\"'),
        # Optimized Step Functions integrations: EMR Serverless (a camelCase API) and SNS.
        ("ModelQualityStack", "AWS::StepFunctions::StateMachine", '\\"EntryPoint\\"', '\\"Entrypoint\\"'),
        ("ModelQualityStack", "AWS::StepFunctions::StateMachine", '\\"Subject\\"', '\\"Subjekt\\"'),
        # AwsCustomResource parameters take the API's own spelling (camelCase for Redshift Serverless).
        ("RedshiftMlStack", "Custom::AWS", '\\"namespaceName\\"', '\\"NamespaceName\\"'),
    ],
)
def test_a_misspelt_member_in_a_kit_request_fails(kit_app, stack, resource_type, old, new):
    broken = _misspell(templates(kit_app.assembly)[stack], resource_type, old, new)
    _assert_only_unknown(broken, stack, new.replace("\\", ""))


def _assert_only_unknown(template: dict, stack: str, member: str) -> None:
    """Exactly one request is reported, and the misspelt member is named as unknown in it."""
    failing = {call.where: errors for call in api_calls({stack: template}) if (errors := validate(call))}
    assert len(failing) == 1, failing
    (errors,) = failing.values()
    assert any("Unknown parameter in" in error and member in error for error in errors), errors


def test_a_misspelt_member_in_the_quicksight_dashboard_definition_fails(kit_app):
    template = quicksight_templates(kit_app.settings.common.profile)["ModelQualityStack"]
    broken = _misspell(
        template, "AWS::QuickSight::Dashboard", '"SimpleNumericalAggregation"', '"SimpleNumericAggregation"'
    )
    _assert_only_unknown(broken, "ModelQualityStack", '"SimpleNumericAggregation"')


def _state_machine_template(build) -> dict:
    """The template of a stack holding one state machine whose definition `build(stack)` returns."""
    app = new_app()
    stack = cdk.Stack(app, "FixtureStack")
    sfn.StateMachine(stack, "Machine", definition_body=sfn.DefinitionBody.from_chainable(build(stack)))
    return {"FixtureStack": app.synth().get_stack_by_name("FixtureStack").template}


def test_aws_sdk_integrations_name_members_in_pascal_case():
    """Step Functions spells every member in PascalCase, even where the API is camelCase
    (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html)."""
    child = "arn:aws:states:us-east-1:123456789012:stateMachine:child"
    template = _state_machine_template(
        lambda stack: tasks.CallAwsService(
            stack,
            "StartChild",
            service="sfn",
            action="startSyncExecution",
            iam_resources=["*"],
            parameters={"StateMachineArn": child, "Input.$": "States.JsonToString($)"},
        )
    )
    (call,) = api_calls(template)
    assert (call.service, call.operation) == ("stepfunctions", "StartSyncExecution")
    assert validate(call) == []
    # CallAwsService refuses camelCase names itself; a CustomState passes them through as written.
    template = _state_machine_template(
        lambda stack: sfn.CustomState(
            stack,
            "StartChild",
            state_json={
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sfn:startSyncExecution",
                "Parameters": {"stateMachineArn": child},
            },
        )
    )
    (call,) = api_calls(template)
    assert any('Unknown parameter in input: "stateMachineArn"' in error for error in validate(call))


def _emr_run(params: dict, **options) -> ApiCall:
    return ApiCall("fixture", "emr-serverless", "StartJobRun", params, pascal_case=True, json_path=True, **options)


EMR_REQUIRED = {"ApplicationId": "00abc", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/job"}


def test_run_time_and_deploy_time_values_become_samples_of_the_member_type():
    assert (
        validate(
            _emr_run(
                {
                    "ApplicationId": {"Fn::GetAtt": ["App", "ApplicationId"]},
                    "ExecutionRoleArn.$": "$.role",
                    "ExecutionTimeoutMinutes": {"Ref": "Minutes"},
                    "Name.$": "$.name",
                }
            )
        )
        == []
    )
    assert validate(_emr_run({**EMR_REQUIRED, "Name": DEPLOY_TIME})) == []


def test_a_token_quoted_in_a_json_document_arrives_as_a_string():
    """'{"ExecutionTimeoutMinutes":"' + token + '"}' deploys as a string, whatever the token resolves to."""
    (error,) = validate(_emr_run({**EMR_REQUIRED, "ExecutionTimeoutMinutes": DEPLOY_TIME}))
    assert "executionTimeoutMinutes" in error and "Invalid type" in error


def test_a_literal_of_the_wrong_type_fails():
    (error,) = validate(_emr_run({**EMR_REQUIRED, "ExecutionTimeoutMinutes": "60"}))
    assert "executionTimeoutMinutes" in error and "Invalid type" in error


def test_a_missing_required_member_fails():
    (error,) = validate(_emr_run({"ApplicationId": "00abc"}))
    assert 'Missing required parameter in input: "executionRoleArn"' in error


def test_pipeline_functions_are_run_time_values_only_in_a_pipeline():
    step = {
        "Name": "Register",
        "Type": "RegisterModel",
        "Arguments": {
            "ModelPackageGroupName": "group",
            "ModelApprovalStatus": {"Get": "Parameters.ModelApprovalStatus"},
        },
    }
    (call,) = pipeline_calls("fixture", {"Steps": [step]})
    assert validate(call) == []
    outside = ApiCall("fixture", "sagemaker", "CreateModelPackage", step["Arguments"])
    assert any("ModelApprovalStatus" in error for error in validate(outside))


def test_lambda_payload_given_as_json_is_accepted_by_step_functions():
    call = ApiCall(
        "fixture",
        "lambda",
        "Invoke",
        {"FunctionName": "f", "Payload": {"date.$": "$.date"}},
        pascal_case=True,
        json_path=True,
        json_blobs=True,
    )
    assert validate(call) == []


def test_aws_custom_resource_booleans_are_decoded():
    params = {"workgroupName": "kit", "publiclyAccessible": "FALSE:BOOLEAN"}
    assert validate(ApiCall("fixture", "redshift-serverless", "UpdateWorkgroup", params, cdk_booleans=True)) == []
    assert validate(ApiCall("fixture", "redshift-serverless", "UpdateWorkgroup", params)) != []


def test_json_documents_assembled_around_tokens_are_read():
    document = json_document({"Fn::Join": ["", ['{"Arn":"', {"Ref": "Topic"}, '","N":1}']]})
    assert document == {"Arn": DEPLOY_TIME, "N": 1}
    with pytest.raises(UnsupportedRequest, match="outside a JSON string"):
        json_document({"Fn::Join": ["", ['{"N":', {"Ref": "Count"}, "}"]]})


@pytest.mark.parametrize(
    "name, service",
    [
        ("sfn", "stepfunctions"),
        ("redshiftdata", "redshift-data"),
        ("emr-serverless", "emr-serverless"),
        ("RedshiftServerless", "redshift-serverless"),
        ("@aws-sdk/client-lambda", "lambda"),
        ("QuickSight", "quicksight"),
    ],
)
def test_service_names_map_to_botocore(name, service):
    assert botocore_service(name) == service


def test_what_cannot_be_mapped_is_an_error_not_a_skip():
    with pytest.raises(UnsupportedRequest, match="No botocore service"):
        botocore_service("nosuchservice")
    with pytest.raises(UnsupportedRequest, match="step type Lambda"):
        pipeline_calls("fixture", {"Steps": [{"Name": "L", "Type": "Lambda", "Arguments": {}}]})
    with pytest.raises(UnsupportedRequest, match="Fn::If"):
        validate(_emr_run({**EMR_REQUIRED, "Name": {"Fn::If": ["C", "a", "b"]}}))
    with pytest.raises(UnsupportedRequest, match="JSONata"):
        state_machine_calls(
            "fixture",
            {
                "States": {
                    "Notify": {
                        "Type": "Task",
                        "Resource": "arn:aws:states:::sns:publish",
                        "Arguments": {"TopicArn": "t"},
                    }
                }
            },
        )
    with pytest.raises(UnsupportedRequest, match="no operation"):
        validate(ApiCall("fixture", "sns", "Publish2", {}))
