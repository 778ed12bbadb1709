"""The AWS API requests the kit writes by hand, read from synthesized templates and validated against botocore.

Four places hold a request the SDK does not build for us: SageMaker pipeline step `Arguments`, Step Functions task
`Parameters` (optimized and `aws-sdk:` integrations), `AwsCustomResource` calls (`Custom::AWS`), and the QuickSight
data source, data sets and dashboard. Each becomes an `ApiCall`; `validate` checks it with botocore's own
`ParamValidator` against the operation's input shape: unknown members, missing required members, wrong types.

Values known only at deploy or run time (CloudFormation intrinsics, pipeline `Get`/`Std:*` functions, JSONPath
`Key.$` members) become a sample value of the member's type, so the rest of the request is still checked.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from functools import cache

import botocore.session
from botocore.model import Shape, StructureShape
from botocore.validate import ParamValidator

# Stands in for a CloudFormation token inside a JSON document that the template assembles with Fn::Join; tokens sit
# inside the document's strings (an unquoted one would make the placeholder text invalid JSON, and is reported).
DEPLOY_TIME = "\u27e6deploy-time\u27e7"
CFN_INTRINSICS = frozenset(
    {
        "Ref",
        "Fn::GetAtt",
        "Fn::Join",
        "Fn::Sub",
        "Fn::FindInMap",
        "Fn::Select",
        "Fn::Split",
        "Fn::ImportValue",
        "Fn::Base64",
        "Fn::GetAZs",
        "Fn::Cidr",
    }
)
# Pipeline functions evaluated at execution time (SageMaker Model Building Pipelines definition JSON).
PIPELINE_FUNCTIONS = frozenset({"Get", "Std:Join", "Std:JsonGet"})

# Pipeline step type -> (SageMaker operation, the member the pipeline fills itself). The SageMaker Python SDK builds
# a step's Arguments from the Create* request and drops the job name, which the pipeline generates per execution
# (sagemaker-core/src/sagemaker/core/workflow/utilities.py trim_request_dict, used by
# sagemaker-mlops/src/sagemaker/mlops/workflow/steps.py).
PIPELINE_STEP_OPERATIONS = {
    "Processing": ("CreateProcessingJob", "ProcessingJobName"),
    "Training": ("CreateTrainingJob", "TrainingJobName"),
    "Transform": ("CreateTransformJob", "TransformJobName"),
    "Tuning": ("CreateHyperParameterTuningJob", "HyperParameterTuningJobName"),
    "RegisterModel": ("CreateModelPackage", None),
}
PIPELINE_STEPS_WITHOUT_REQUEST = frozenset({"Condition", "Fail"})

# QuickSight resource type -> Create* operation. CloudFormation property names are the API's member names.
QUICKSIGHT_OPERATIONS = {
    "AWS::QuickSight::DataSource": "CreateDataSource",
    "AWS::QuickSight::DataSet": "CreateDataSet",
    "AWS::QuickSight::Dashboard": "CreateDashboard",
}

# Step Functions' service names in Resource ARNs that are not a botocore service name without its hyphens.
SFN_SERVICE_ALIASES = {"sfn": "stepfunctions", "states": "stepfunctions"}
SFN_INTEGRATION_PATTERN = re.compile(r"\.(sync(:\d+)?|waitForTaskToken)$")


class UnsupportedRequest(ValueError):
    """A request this module cannot map to a botocore operation: extend the module rather than skip it."""


@dataclass(frozen=True)
class ApiCall:
    """One request as the template writes it.

    `pascal_case`: Step Functions names every member in PascalCase, even where the API uses camelCase, and calls
    `Equals` fields `EqualsValue` (https://docs.aws.amazon.com/step-functions/latest/dg/supported-services-awssdk.html).
    `json_path`: a `Key.$` member takes its value from the state input at run time.
    `json_blobs`: Step Functions takes a JSON value for a blob member, the Lambda `Payload`
    (https://docs.aws.amazon.com/step-functions/latest/dg/connect-lambda.html), and sends its JSON text.
    `cdk_booleans`: AwsCustomResource writes booleans as 'TRUE:BOOLEAN'/'FALSE:BOOLEAN' strings, and its handler
    decodes them (aws-cdk-lib custom-resources: encodeValues in the construct, decodeSpecialValues in the handler).
    `pipeline_functions`: `Get` and `Std:*` values are evaluated by the pipeline at execution time.
    `filled`: members the caller fills in (a pipeline's job name).
    """

    where: str
    service: str
    operation: str
    params: dict
    pascal_case: bool = False
    json_path: bool = False
    json_blobs: bool = False
    cdk_booleans: bool = False
    pipeline_functions: bool = False
    filled: tuple[str, ...] = field(default=())


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def _service_names() -> dict[str, str]:
    """Lower-case names without hyphens or spaces (botocore name, serviceId, endpoint prefix) -> botocore name."""
    session = _session()
    names = {}
    for service in session.get_available_services():
        metadata = session.get_service_model(service).metadata
        for alias in (service, metadata.get("serviceId", ""), metadata.get("endpointPrefix", "")):
            names.setdefault(re.sub(r"[-\s]", "", alias.lower()), service)
    return names


def botocore_service(name: str) -> str:
    """The botocore service for a name as Step Functions or the AWS SDK for JavaScript spells it."""
    key = re.sub(r"[-\s]", "", name.removeprefix("@aws-sdk/client-").lower())
    key = SFN_SERVICE_ALIASES.get(key, key)
    try:
        return _service_names()[key]
    except KeyError:
        raise UnsupportedRequest(f"No botocore service is named {name!r}.") from None


def operation_model(service: str, operation: str):
    model = _session().get_service_model(service)
    if operation not in model.operation_names:
        raise UnsupportedRequest(f"{service} has no operation {operation!r}.")
    return model.operation_model(operation)


def validate(call: ApiCall) -> list[str]:
    """botocore's validation errors of the request, each prefixed with where it is written."""
    input_shape = operation_model(call.service, call.operation).input_shape
    if input_shape is None:
        return [] if not call.params else [f"{call.where}: {call.service}.{call.operation} takes no input"]
    errors: list[str] = []
    params = _conform(call.params, input_shape, call, "input", errors)
    for name in call.filled:
        params.setdefault(name, sample(input_shape.members[name]))
    for name, member in input_shape.members.items():
        if member.metadata.get("idempotencyToken"):  # the SDK fills these before validating (botocore handlers.py)
            params.setdefault(name, sample(member))
    report = ParamValidator().validate(params, input_shape)
    if report.has_errors():
        errors += [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    return [f"{call.where} ({call.service}.{call.operation}): {error}" for error in errors]


def sample(shape: Shape) -> object:
    """A value of the shape's type that passes botocore's checks (required members, minimum length or value)."""
    minimum = shape.metadata.get("min", 0)
    if shape.type_name == "structure":
        if shape.is_tagged_union:
            name, member = next(iter(shape.members.items()))
            return {name: sample(member)}
        return {name: sample(shape.members[name]) for name in shape.required_members}
    if shape.type_name == "list":
        return [sample(shape.member) for _ in range(max(1, minimum))]
    if shape.type_name == "map":
        return {}
    if shape.type_name == "string":
        return shape.enum[0] if shape.enum else "x" * max(1, minimum)
    if shape.type_name in ("integer", "long"):
        return max(1, minimum)
    if shape.type_name in ("float", "double"):
        return float(max(1, minimum))
    if shape.type_name == "boolean":
        return True
    if shape.type_name == "timestamp":
        return datetime.datetime.now(datetime.timezone.utc)
    if shape.type_name == "blob":
        return b"x" * max(1, minimum)
    raise UnsupportedRequest(f"No sample for shape type {shape.type_name}.")


def _is_deferred(value: object, call: ApiCall) -> bool:
    """A value known only at deploy time or run time. A token inside a JSON document (DEPLOY_TIME) is not one: the
    document quotes it, so whatever it resolves to arrives as a string, and is checked as one."""
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if key in CFN_INTRINSICS or (key in PIPELINE_FUNCTIONS and call.pipeline_functions):
            return True
        if key.startswith("Fn::"):
            raise UnsupportedRequest(f"{call.where}: {key} is not handled; resolve it explicitly.")
    return False


def _pascal_names(shape: StructureShape) -> dict[str, str]:
    """How Step Functions spells each member -> the member's name."""
    return {("EqualsValue" if name == "Equals" else name[:1].upper() + name[1:]): name for name in shape.members}


def _conform(value: object, shape: Shape, call: ApiCall, path: str, errors: list[str]) -> object:
    """The request as the service receives it, with deferred values replaced by samples of the member's type.

    Names botocore cannot judge (a camelCase member where Step Functions wants PascalCase) go to `errors`."""
    if _is_deferred(value, call):
        return sample(shape)
    if shape.type_name == "string" and isinstance(value, str) and DEPLOY_TIME in value:
        return value.replace(DEPLOY_TIME, "x" * max(1, shape.metadata.get("min", 1)))  # a token meets the minimum
    if shape.type_name == "structure" and isinstance(value, dict):
        conformed = {}
        names = _pascal_names(shape) if call.pascal_case else {name: name for name in shape.members}
        for key, member_value in value.items():
            run_time = call.json_path and key.endswith(".$")
            written = key[:-2] if run_time else key
            name = names.get(written)
            if name is None and written in shape.members:
                errors.append(
                    f'Unknown parameter in {path}: "{written}"; Step Functions spells it '
                    f'"{written[:1].upper() + written[1:]}"'
                )
            elif name is None:
                conformed[key] = member_value  # unknown: botocore reports it
            else:
                member = shape.members[name]
                conformed[name] = (
                    sample(member) if run_time else _conform(member_value, member, call, f"{path}.{name}", errors)
                )
        return conformed
    if shape.type_name == "list" and isinstance(value, list):
        return [_conform(item, shape.member, call, f"{path}[{i}]", errors) for i, item in enumerate(value)]
    if shape.type_name == "map" and isinstance(value, dict):
        return {key: _conform(item, shape.value, call, f"{path}.{key}", errors) for key, item in value.items()}
    if shape.type_name == "blob" and call.json_blobs and isinstance(value, (dict, list)):
        return json.dumps(value)
    if shape.type_name == "boolean" and call.cdk_booleans and value in ("TRUE:BOOLEAN", "FALSE:BOOLEAN"):
        return value == "TRUE:BOOLEAN"
    return value


# ---- reading the templates ----


def json_document(value: object) -> object:
    """A JSON document the template stores as a string, or assembles with Fn::Join around tokens."""
    if isinstance(value, str):
        return json.loads(value)
    if isinstance(value, dict) and set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        text = separator.join(part if isinstance(part, str) else DEPLOY_TIME for part in parts)
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise UnsupportedRequest(f"A token outside a JSON string, or not JSON: {error}: {text[:200]}") from None
    raise UnsupportedRequest(f"Not a JSON document or an Fn::Join of one: {json.dumps(value)[:200]}")


def pipeline_calls(where: str, definition: dict) -> list[ApiCall]:
    calls = []

    def visit(steps: list[dict]) -> None:
        for step in steps:
            kind = step["Type"]
            arguments = step.get("Arguments", {})
            if kind == "Condition":
                visit(arguments.get("IfSteps", []) + arguments.get("ElseSteps", []))
            elif kind in PIPELINE_STEP_OPERATIONS:
                operation, filled = PIPELINE_STEP_OPERATIONS[kind]
                calls.append(
                    ApiCall(
                        f"{where} step {step['Name']}",
                        "sagemaker",
                        operation,
                        arguments,
                        pipeline_functions=True,
                        filled=(filled,) if filled else (),
                    )
                )
            elif kind not in PIPELINE_STEPS_WITHOUT_REQUEST:
                raise UnsupportedRequest(f"{where} step {step['Name']}: step type {kind} is not mapped to an API.")

    visit(definition["Steps"])
    return calls


def state_machine_calls(where: str, definition: dict) -> list[ApiCall]:
    """Task states that call an AWS API through a service integration; a Lambda ARN as Resource is not one."""
    calls = []

    def visit(states: dict) -> None:
        for name, state in states.items():
            for branch in state.get("Branches", []):
                visit(branch["States"])
            for key in ("Iterator", "ItemProcessor"):
                if key in state:
                    visit(state[key]["States"])
            resource = state.get("Resource", "")
            if state["Type"] != "Task" or ":states:::" not in resource:
                continue
            if "Arguments" in state:
                raise UnsupportedRequest(f"{where} state {name}: JSONata Arguments are not read yet.")
            integration = SFN_INTEGRATION_PATTERN.sub("", resource.split(":states:::", 1)[1])
            service, action = integration.removeprefix("aws-sdk:").split(":", 1)
            calls.append(
                ApiCall(
                    f"{where} state {name}",
                    botocore_service(service),
                    action[:1].upper() + action[1:],
                    state.get("Parameters", {}),
                    pascal_case=True,
                    json_path=True,
                    json_blobs=True,
                )
            )

    visit(definition["States"])
    return calls


def custom_resource_calls(where: str, properties: dict) -> list[ApiCall]:
    calls = []
    for event in ("Create", "Update", "Delete"):
        if event in properties:
            sdk_call = json_document(properties[event])
            action = sdk_call["action"].removesuffix("Command")
            calls.append(
                ApiCall(
                    f"{where} on {event}",
                    botocore_service(sdk_call["service"]),
                    action[:1].upper() + action[1:],
                    sdk_call.get("parameters", {}),
                    cdk_booleans=True,
                )
            )
    return calls


def quicksight_call(where: str, resource_type: str, properties: dict) -> ApiCall:
    """A QuickSight resource's properties as its Create* request. A property CloudFormation handles itself (not a
    member of the request) is reported as unknown: exclude it here, citing the resource's reference page."""
    return ApiCall(where, "quicksight", QUICKSIGHT_OPERATIONS[resource_type], properties)


def api_calls(templates: dict[str, dict]) -> list[ApiCall]:
    """Every hand-written request in the templates (stack name -> template)."""
    calls = []
    for stack, template in templates.items():
        for logical_id, resource in template.get("Resources", {}).items():
            where, kind, properties = f"{stack}/{logical_id}", resource["Type"], resource.get("Properties", {})
            if kind == "AWS::SageMaker::Pipeline":
                body = properties["PipelineDefinition"]["PipelineDefinitionBody"]
                calls += pipeline_calls(where, json_document(body))
            elif kind == "AWS::StepFunctions::StateMachine":
                calls += state_machine_calls(where, json_document(properties["DefinitionString"]))
            elif kind == "Custom::AWS":
                calls += custom_resource_calls(where, properties)
            elif kind in QUICKSIGHT_OPERATIONS:
                calls.append(quicksight_call(where, kind, properties))
    return calls
