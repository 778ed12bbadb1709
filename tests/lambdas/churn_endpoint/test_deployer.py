import importlib.util
import sys
from pathlib import Path

import pytest
from moto import mock_aws

from tests.lambdas.moto_clients import client

_spec = importlib.util.spec_from_file_location(
    "deployer", Path(__file__).resolve().parents[3] / "lambdas" / "churn_endpoint" / "deployer.py"
)
deployer = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = deployer  # dataclasses look their module up
_spec.loader.exec_module(deployer)

GROUP = "churn-models"
ENDPOINT = "churn-endpoint"
ACCOUNT = "123456789012"
ENV = {
    "ENDPOINT_NAME": ENDPOINT,
    "VARIANT_NAME": "AllTraffic",
    "MODEL_PACKAGE_GROUP": GROUP,
    "MODEL_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/churn-model",
    "INSTANCE_TYPE": "ml.t2.medium",
    "INSTANCE_COUNT": "1",
    "MAX_INSTANCES": "3",
    "INVOCATIONS_PER_INSTANCE": "1000",
    "CAPTURE_URI": "s3://captures/data-capture",
    "CAPTURE_PERCENT": "100",
    "CAPTURE_KEY_ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/capture",
    "VOLUME_KEY_ARN": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/volume",
    "ROLLBACK_ALARM": "churn-endpoint-errors",
    "DELETE_MODEL_PACKAGES": "true",
    "KIT_TAGS": '{"architecture": "churn-model", "managed-by": "aws-cdk", "profile": "sandbox", "project": "ml-analytics-kit"}',
}
SETTINGS = deployer.Settings.from_env(ENV)


class UpdateRecorder:
    """moto 5.2 does not implement UpdateEndpoint: record updates, pass everything else to moto. Its
    UpdateModelPackage sets every field it is not given to None (approval status, metadata) and fails on a removal
    alone: here a request changes only the fields it names, as the API's optional members say."""

    def __init__(self, client):
        self._client = client
        self.updates = []

    def update_endpoint(self, **request):
        self.updates.append(request)

    def update_model_package(self, ModelPackageArn, **request):
        current = self._client.describe_model_package(ModelPackageName=ModelPackageArn)
        metadata = {**current.get("CustomerMetadataProperties", {}), **request.get("CustomerMetadataProperties", {})}
        for key in request.get("CustomerMetadataPropertiesToRemove", []):
            metadata.pop(key, None)
        return self._client.update_model_package(
            ModelPackageArn=ModelPackageArn,
            ModelApprovalStatus=request.get("ModelApprovalStatus", current["ModelApprovalStatus"]),
            CustomerMetadataProperties=metadata,
        )

    def describe_endpoint(self, **request):
        """The endpoint as the recorded updates left it."""
        endpoint = self._client.describe_endpoint(**request)
        return {**endpoint, "EndpointConfigName": self.updates[-1]["EndpointConfigName"]} if self.updates else endpoint

    def __getattr__(self, name):
        return getattr(self._client, name)


def config_of(version, count=1, settings=None):
    """The config name of a version: `<endpoint>-v<N>-<digest of the settings>-<count>`."""
    return deployer.config_name(settings or SETTINGS, f"{ENDPOINT}-v{version}", count)


def marked(sagemaker, event):
    """The package's deployed mark, where the deployer keeps it (the package's CustomerMetadataProperties)."""
    package = sagemaker.describe_model_package(ModelPackageName=event["detail"]["ModelPackageArn"])
    return package.get("CustomerMetadataProperties", {}).get("kit:deployed-approval") == "true"


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        sagemaker = client("sagemaker")
        sagemaker.create_model_package_group(ModelPackageGroupName=GROUP)
        yield UpdateRecorder(sagemaker), client("application-autoscaling")


def register(sagemaker, status="Approved"):
    arn = sagemaker.create_model_package(
        ModelPackageGroupName=GROUP,
        ModelApprovalStatus=status,
        InferenceSpecification={
            "Containers": [
                {
                    "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    "ModelDataUrl": "s3://artifacts/model.tar.gz",
                }
            ],
            "SupportedContentTypes": ["text/csv"],
            "SupportedResponseMIMETypes": ["text/csv"],
        },
    )["ModelPackageArn"]
    return package_event(arn, status)


# Event names as SageMaker sends them, written out rather than read from the module under test:
# https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html
def package_event(arn, status):
    return {
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "detail": {"ModelPackageArn": arn, "ModelPackageGroupName": GROUP, "ModelApprovalStatus": status},
    }


def set_status(sagemaker, event, status):
    """Change the package's approval as a user would, and return the event SageMaker sends for it."""
    arn = event["detail"]["ModelPackageArn"]
    sagemaker.update_model_package(ModelPackageArn=arn, ModelApprovalStatus=status)
    return package_event(arn, status)


IN_SERVICE = {
    "detail-type": "SageMaker Endpoint State Change",
    "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
}


def test_first_approval_creates_the_endpoint_with_data_capture(aws):
    sagemaker, autoscaling = aws
    result = deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    assert result == {"action": "created", "endpoint": ENDPOINT, "config": config_of(1)}
    config = sagemaker.describe_endpoint_config(EndpointConfigName=config_of(1))
    capture = config["DataCaptureConfig"]
    assert capture["DestinationS3Uri"] == "s3://captures/data-capture"
    assert capture["KmsKeyId"] == ENV["CAPTURE_KEY_ARN"]
    assert capture["InitialSamplingPercentage"] == 100
    assert {o["CaptureMode"] for o in capture["CaptureOptions"]} == {"Input", "Output"}
    assert capture["CaptureContentTypeHeader"]["CsvContentTypes"] == ["text/csv"]
    assert config["KmsKeyId"] == ENV["VOLUME_KEY_ARN"]
    variant = config["ProductionVariants"][0]
    assert (variant["VariantName"], variant["InstanceType"], variant["InitialInstanceCount"]) == (
        "AllTraffic",
        "ml.t2.medium",
        1,
    )
    model = sagemaker.describe_model(ModelName=f"{ENDPOINT}-v1")
    assert model["ExecutionRoleArn"] == ENV["MODEL_ROLE_ARN"]
    assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == config_of(1)
    assert sagemaker.updates == []


def test_next_approval_updates_blue_green_with_rollback_on_the_error_alarm(aws):
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    result = deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    assert result["action"] == "updated" and result["previous_config"] == config_of(1)
    [update] = sagemaker.updates
    assert update["EndpointConfigName"] == config_of(2)
    policy = update["DeploymentConfig"]
    assert policy["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]["Type"] == "ALL_AT_ONCE"
    assert policy["AutoRollbackConfiguration"]["Alarms"] == [{"AlarmName": "churn-endpoint-errors"}]
    # The new version's model and config exist before the switch; the old ones stay for rollback.
    assert sagemaker.describe_endpoint_config(EndpointConfigName=config_of(1))
    assert sagemaker.describe_model(ModelName=f"{ENDPOINT}-v2")


def test_a_retried_event_is_idempotent(aws):
    sagemaker, autoscaling = aws
    event = register(sagemaker)
    deployer.dispatch(event, SETTINGS, sagemaker, autoscaling)
    assert deployer.dispatch(event, SETTINGS, sagemaker, autoscaling)["action"] == "ignored"
    assert sagemaker.updates == []


def test_editing_an_old_approved_package_does_not_roll_the_endpoint_back(aws):
    """SageMaker sends the same Approved event for a metadata edit; only a change of approval deploys."""
    sagemaker, autoscaling = aws
    first = register(sagemaker)
    deployer.dispatch(first, SETTINGS, sagemaker, autoscaling)
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    # Editing v1's description (still Approved) sends the same event as its approval did.
    result = deployer.dispatch(first, SETTINGS, sagemaker, autoscaling)
    assert result["action"] == "ignored" and "already deployed" in result["reason"]
    assert [u["EndpointConfigName"] for u in sagemaker.updates] == [config_of(2)]


def test_approving_an_old_version_again_rolls_back_deliberately(aws):
    sagemaker, autoscaling = aws
    first = register(sagemaker)
    deployer.dispatch(first, SETTINGS, sagemaker, autoscaling)
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    assert (
        deployer.dispatch(set_status(sagemaker, first, "PendingManualApproval"), SETTINGS, sagemaker, autoscaling)[
            "action"
        ]
        == "ignored"
    )
    result = deployer.dispatch(set_status(sagemaker, first, "Approved"), SETTINGS, sagemaker, autoscaling)
    assert result["action"] == "updated"
    assert [u["EndpointConfigName"] for u in sagemaker.updates] == [config_of(2), config_of(1)]


def test_a_package_still_in_progress_waits_for_its_completed_event(aws):
    sagemaker, autoscaling = aws

    class InProgress(UpdateRecorder):
        def describe_model_package(self, **request):
            return {**self._client.describe_model_package(**request), "ModelPackageStatus": "InProgress"}

    result = deployer.dispatch(register(sagemaker), SETTINGS, InProgress(sagemaker._client), autoscaling)
    assert result["action"] == "ignored" and "InProgress" in result["reason"]
    assert sagemaker.list_endpoints()["Endpoints"] == []


def test_pending_packages_are_not_deployed(aws):
    sagemaker, autoscaling = aws
    result = deployer.dispatch(register(sagemaker, status="PendingManualApproval"), SETTINGS, sagemaker, autoscaling)
    assert result["action"] == "ignored"
    assert sagemaker.list_endpoints()["Endpoints"] == []


def test_an_approval_during_an_update_waits_for_in_service_and_is_then_deployed(aws):
    """A blue/green update outlasts Lambda's asynchronous retries: the approval is kept, not retried or dropped."""
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)

    class Updating(UpdateRecorder):
        def describe_endpoint(self, **request):
            return {**self._client.describe_endpoint(**request), "EndpointStatus": "Updating"}

    busy = Updating(sagemaker._client)
    second = register(sagemaker)
    result = deployer.dispatch(second, SETTINGS, busy, autoscaling)
    assert result["action"] == "queued" and busy.updates == []
    assert [m["ModelName"] for m in sagemaker.list_models()["Models"]] == [f"{ENDPOINT}-v1"]
    # In service again: the waiting approval is deployed, once.
    result = deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker, autoscaling)
    assert result["action"] == "updated" and result["config"] == config_of(2)
    assert deployer.dispatch(IN_SERVICE, SETTINGS, sagemaker, autoscaling)["action"] == "scaling"
    assert [u["EndpointConfigName"] for u in sagemaker.updates] == [config_of(2)]


def test_an_approval_while_the_endpoint_is_deleted_fails_for_retry_and_is_not_marked(aws):
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)

    class Deleting(UpdateRecorder):
        def describe_endpoint(self, **request):
            return {**self._client.describe_endpoint(**request), "EndpointStatus": "Deleting"}

    second = register(sagemaker)
    with pytest.raises(deployer.EndpointBusy, match="being deleted"):
        deployer.dispatch(second, SETTINGS, Deleting(sagemaker._client), autoscaling)
    assert not marked(sagemaker, second)
    # The retry after the deletion creates the endpoint from this version.
    sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    assert deployer.dispatch(second, SETTINGS, sagemaker, autoscaling)["action"] == "created"


def test_in_service_endpoint_gets_target_tracking_scaling(aws):
    sagemaker, autoscaling = aws
    event = {
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
    }
    assert deployer.dispatch(event, SETTINGS, sagemaker, autoscaling)["action"] == "scaling"
    [target] = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert (target["ResourceId"], target["MinCapacity"], target["MaxCapacity"]) == (
        f"endpoint/{ENDPOINT}/variant/AllTraffic",
        1,
        3,
    )
    [policy] = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 1000.0
    assert config["PredefinedMetricSpecification"]["PredefinedMetricType"] == "SageMakerVariantInvocationsPerInstance"


def test_without_headroom_no_scaling_is_registered(aws):
    sagemaker, autoscaling = aws
    fixed = deployer.Settings.from_env({**ENV, "MAX_INSTANCES": "1"})
    event = {
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
    }
    assert deployer.dispatch(event, fixed, sagemaker, autoscaling)["action"] == "ignored"
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_teardown_deletes_what_deploy_created(aws):
    sagemaker, autoscaling = aws

    class Deleting(UpdateRecorder):
        """moto 5.2 has no DeleteModelPackage either."""

        deleted_packages = []

        def delete_model_package(self, ModelPackageName):
            self.deleted_packages.append(ModelPackageName)

    client = Deleting(sagemaker._client)
    deployer.dispatch(register(sagemaker), SETTINGS, client, autoscaling)
    deployer.dispatch(
        {
            "detail-type": "SageMaker Endpoint State Change",
            "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
        },
        SETTINGS,
        client,
        autoscaling,
    )
    for request in ("Create", "Update"):  # today's settings are what the endpoint runs: nothing to change
        assert deployer.dispatch(stack_event(request), SETTINGS, client, autoscaling) == {
            "PhysicalResourceId": "churn-endpoint-teardown",
            "IsComplete": True,
            "Data": {"SettingsAction": "unchanged"},
        }
        assert client.updates == []
    assert sagemaker.list_endpoints()["Endpoints"]
    answers = delete_stack(client, autoscaling)
    # The first call deletes the endpoint and is not complete; the next finds it gone and deletes the rest.
    assert answers == [
        {"PhysicalResourceId": "churn-endpoint-teardown", "IsComplete": False},
        {"PhysicalResourceId": "churn-endpoint-teardown", "IsComplete": True},
    ]
    assert len(client.deleted_packages) == 1
    assert sagemaker.list_endpoints()["Endpoints"] == [] and sagemaker.list_models()["Models"] == []
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def stack_event(request):
    event = {"RequestType": request, "ResourceType": "Custom::ChurnEndpointTeardown"}
    return event if request == "Create" else {**event, "PhysicalResourceId": "churn-endpoint-teardown"}


def delete_stack(client, autoscaling, settings=SETTINGS, calls=5):
    """The Provider framework's Delete: onEvent, then isComplete until it answers IsComplete (bounded here)."""
    answers = []
    while not answers or not answers[-1]["IsComplete"]:
        assert len(answers) < calls, f"teardown not complete after {calls} calls: {answers}"
        answers.append(deployer.dispatch(stack_event("Delete"), settings, client, autoscaling))
    return answers


def test_a_failing_teardown_raises_so_the_stack_deletion_fails_with_the_reason(aws):
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)

    class Denied(UpdateRecorder):
        def delete_endpoint(self, **_):
            raise RuntimeError("AccessDeniedException: not authorized to perform sagemaker:DeleteEndpoint")

    with pytest.raises(RuntimeError, match="not authorized to perform sagemaker:DeleteEndpoint"):
        deployer.dispatch(stack_event("Delete"), SETTINGS, Denied(sagemaker._client), autoscaling)
    assert sagemaker.list_endpoints()["Endpoints"]


@pytest.mark.parametrize(
    "event, field",
    [
        ("not an event", "JSON object"),
        ({"detail-type": "Something Else"}, "'detail-type'"),
        ({"detail-type": "SageMaker Model Package State Change"}, "'detail'"),
        (
            {
                "detail-type": "SageMaker Model Package State Change",
                "detail": {"ModelPackageGroupName": GROUP, "ModelApprovalStatus": "Approved"},
            },
            "'detail.ModelPackageArn'",
        ),
        (
            {
                "detail-type": "SageMaker Model Package State Change",
                "detail": {
                    "ModelPackageArn": "arn",
                    "ModelPackageGroupName": "other",
                    "ModelApprovalStatus": "Approved",
                },
            },
            "'detail.ModelPackageGroupName'",
        ),
        (
            {"detail-type": "SageMaker Endpoint State Change", "detail": {"EndpointName": ENDPOINT}},
            "'detail.EndpointStatus'",
        ),
        ({"RequestType": "Replace"}, "'RequestType'"),
    ],
)
def test_malformed_events_name_the_field_and_change_nothing(aws, event, field):
    sagemaker, autoscaling = aws
    with pytest.raises(deployer.EventError, match=field):
        deployer.dispatch(event, SETTINGS, sagemaker, autoscaling)
    assert sagemaker.list_models()["Models"] == [] and sagemaker.list_endpoints()["Endpoints"] == []


def test_a_failed_deployment_leaves_the_previous_model_serving(aws):
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)

    class ConfigRejected(UpdateRecorder):
        def create_endpoint_config(self, **request):
            raise RuntimeError("ValidationException: instance type not supported")

    failing = ConfigRejected(sagemaker._client)
    with pytest.raises(RuntimeError, match="not supported"):
        deployer.dispatch(register(sagemaker), SETTINGS, failing, autoscaling)
    assert failing.updates == []
    assert sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointConfigName"] == config_of(1)
