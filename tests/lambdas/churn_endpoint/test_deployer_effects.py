"""The deployer judged by moto's state and the requests sent, and run through handler() and its environment
(issue 22: deleting delete_endpoint_config, or EnableNetworkIsolation=False, passed test_deployer.py)."""

import ast
import json

import boto3
import pytest

from tests.lambdas.churn_endpoint.test_deployer import (
    ENDPOINT,
    ENV,
    GROUP,
    IN_SERVICE,
    SETTINGS,
    UpdateRecorder,
    aws,
    config_of,
    delete_stack,
    deployer,
    marked,
    register,
)

__all__ = ["aws"]  # the fixture, imported for pytest


class Recording(UpdateRecorder):
    """Records the create requests (moto does not return every field it is given) and package deletions."""

    def __init__(self, client):
        super().__init__(client)
        self.models, self.configs, self.deleted_packages = [], [], []

    def create_model(self, **request):
        self.models.append(request)
        return self._client.create_model(**request)

    def create_endpoint_config(self, **request):
        self.configs.append(request)
        return self._client.create_endpoint_config(**request)

    def delete_model_package(self, ModelPackageName):
        self.deleted_packages.append(ModelPackageName)


def test_the_model_is_network_isolated_and_runs_the_approved_package(aws):
    sagemaker, autoscaling = aws
    client = Recording(sagemaker._client)
    event = register(sagemaker)
    deployer.dispatch(event, SETTINGS, client, autoscaling)
    (model,) = client.models
    assert model["EnableNetworkIsolation"] is True
    assert model["Containers"] == [{"ModelPackageName": event["detail"]["ModelPackageArn"]}]
    assert model["Tags"] == [
        *({"Key": key, "Value": value} for key, value in sorted(json.loads(ENV["KIT_TAGS"]).items())),
        {"Key": "kit:endpoint", "Value": "churn-endpoint"},
    ]
    (config,) = client.configs
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert config["DataCaptureConfig"]["CaptureContentTypeHeader"] == {
        "CsvContentTypes": ["text/csv"],
        "JsonContentTypes": ["application/json"],
    }
    assert config["ProductionVariants"][0]["ModelName"] == "churn-endpoint-v1"
    assert marked(sagemaker, event)


def test_blue_green_waits_five_minutes_on_the_alarm_and_times_out_after_an_hour():
    assert deployer.blue_green(SETTINGS) == {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
            "TerminationWaitInSeconds": 300,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": "churn-endpoint-errors"}]},
    }


def test_teardown_leaves_no_config_model_or_endpoint_of_the_kit_but_keeps_others(aws):
    sagemaker, autoscaling = aws
    client = Recording(sagemaker._client)
    deployer.dispatch(register(sagemaker), SETTINGS, client, autoscaling)
    deployer.dispatch(register(sagemaker), SETTINGS, client, autoscaling)  # v2 config and model, v1 kept for rollback
    # Someone else's resources whose names contain the prefix without starting with it.
    sagemaker.create_model(
        ModelName="team-churn-endpoint-v1",
        ExecutionRoleArn=ENV["MODEL_ROLE_ARN"],
        PrimaryContainer={"Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="team-churn-endpoint-v1",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "team-churn-endpoint-v1",
                "InstanceType": "ml.t2.medium",
                "InitialInstanceCount": 1,
            }
        ],
    )
    deployer.dispatch(IN_SERVICE, SETTINGS, client, autoscaling)
    delete_stack(client, autoscaling)
    configs = [c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs()["EndpointConfigs"]]
    models = [m["ModelName"] for m in sagemaker.list_models()["Models"]]
    assert configs == ["team-churn-endpoint-v1"] and models == ["team-churn-endpoint-v1"]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert len(client.deleted_packages) == 2
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_teardown_keeps_the_model_packages_unless_told_to_delete_them(aws):
    sagemaker, autoscaling = aws
    client = Recording(sagemaker._client)
    keep = deployer.Settings.from_env({**ENV, "DELETE_MODEL_PACKAGES": "false"})
    deployer.dispatch(register(sagemaker), keep, client, autoscaling)
    delete_stack(client, autoscaling, keep)
    assert client.deleted_packages == []
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == []


def test_teardown_without_scaling_or_endpoint_still_deletes_configs_and_models(aws):
    sagemaker, autoscaling = aws
    fixed = deployer.Settings.from_env({**ENV, "MAX_INSTANCES": "1"})
    client = Recording(sagemaker._client)
    deployer.dispatch(register(sagemaker), fixed, client, autoscaling)
    sagemaker.delete_endpoint(EndpointName=ENDPOINT)
    delete_stack(client, autoscaling, fixed)
    assert sagemaker.list_endpoint_configs()["EndpointConfigs"] == [] and sagemaker.list_models()["Models"] == []


@pytest.mark.parametrize(("count", "maximum", "registered"), [(1, 2, True), (2, 2, False), (3, 2, False)])
def test_scaling_is_registered_only_with_headroom(aws, count, maximum, registered):
    sagemaker, autoscaling = aws
    settings = deployer.Settings.from_env({**ENV, "INSTANCE_COUNT": str(count), "MAX_INSTANCES": str(maximum)})
    result = deployer.ensure_scaling(autoscaling, settings, "IN_SERVICE")
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    assert bool(targets) is registered and (result["action"] == "scaling") is registered
    if registered:
        (policy,) = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        assert (config["ScaleInCooldown"], config["ScaleOutCooldown"]) == (300, 60)
        assert policy["PolicyName"] == "churn-endpoint-invocations"


def test_an_endpoint_that_is_not_in_service_registers_nothing(aws):
    sagemaker, autoscaling = aws
    event = {
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "UPDATING"},
    }
    assert deployer.dispatch(event, SETTINGS, sagemaker, autoscaling)["action"] == "ignored"
    assert autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"] == []


def test_another_endpoints_event_is_refused(aws):
    sagemaker, autoscaling = aws
    event = {
        "detail-type": "SageMaker Endpoint State Change",
        "detail": {"EndpointName": "other", "EndpointStatus": "IN_SERVICE"},
    }
    with pytest.raises(deployer.EventError, match="'detail.EndpointName' is 'other'"):
        deployer.dispatch(event, SETTINGS, sagemaker, autoscaling)


def test_the_handler_reads_its_environment_and_creates_the_endpoint(aws, monkeypatch, capsys):
    """Through handler(): the settings come from the function's environment variables. The event envelope follows
    https://docs.aws.amazon.com/sagemaker/latest/dg/automating-sagemaker-with-eventbridge.html#eventbridge-model-package
    (version, id, detail-type, source, account, time, region, resources, detail)."""
    sagemaker, _ = aws
    real_client = boto3.client  # moto's UpdateModelPackage clears what it is not given: the recorder merges
    monkeypatch.setattr(
        boto3,
        "client",
        lambda service, **kwargs: (
            UpdateRecorder(real_client(service, **kwargs)) if service == "sagemaker" else real_client(service, **kwargs)
        ),
    )
    env = {**ENV, "ENDPOINT_NAME": "env-endpoint", "INSTANCE_TYPE": "ml.m5.large"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    arn = register(sagemaker)["detail"]["ModelPackageArn"]
    event = {
        "version": "0",
        "id": "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111",
        "detail-type": "SageMaker Model Package State Change",
        "source": "aws.sagemaker",
        "account": "123456789012",
        "time": "2026-11-01T03:00:05Z",
        "region": "us-east-1",
        "resources": [arn],
        "detail": {
            "ModelPackageGroupName": GROUP,
            "ModelPackageVersion": 1,
            "ModelPackageArn": arn,
            "ModelApprovalStatus": "Approved",
            "ModelPackageStatus": "Completed",
        },
    }
    assert deployer.handler(event, None) == {
        "action": "created",
        "endpoint": "env-endpoint",
        "config": deployer.config_name(deployer.Settings.from_env(env), "env-endpoint-v1", 1),
    }
    # What it did is in the function's log.
    assert ast.literal_eval(capsys.readouterr().out.strip()) == {
        "action": "created",
        "endpoint": "env-endpoint",
        "config": deployer.config_name(deployer.Settings.from_env(env), "env-endpoint-v1", 1),
    }
    name = sagemaker.describe_endpoint(EndpointName="env-endpoint")["EndpointConfigName"]
    config = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert config["ProductionVariants"][0]["InstanceType"] == "ml.m5.large"
    assert config["ProductionVariants"][0]["ModelName"] == "env-endpoint-v1"


def test_settings_from_the_environment():
    settings = deployer.Settings.from_env({**ENV, "DELETE_MODEL_PACKAGES": "True"})
    assert settings.delete_model_packages is False  # only the exact "true" the stack writes deletes packages
    assert (
        SETTINGS.instance_count,
        SETTINGS.max_instances,
        SETTINGS.invocations_per_instance,
        SETTINGS.capture_percent,
    ) == (1, 3, 1000, 100)
    assert SETTINGS.delete_model_packages is True
    assert SETTINGS.scaling_resource_id == "endpoint/churn-endpoint/variant/AllTraffic"


def test_an_approval_queued_while_the_endpoint_updates_is_marked_deployed_at_once(aws):
    """Otherwise a later metadata edit of that package, after a newer version went live, would deploy it again."""
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)

    class Updating(UpdateRecorder):
        def describe_endpoint(self, **request):
            return {**self._client.describe_endpoint(**request), "EndpointStatus": "Updating"}

    second = register(sagemaker)
    busy = Updating(sagemaker._client)
    assert deployer.dispatch(second, SETTINGS, busy, autoscaling)["action"] == "queued"
    assert marked(sagemaker, second)


def test_tags_are_read_from_every_page(aws):
    """ListTags pages its answer (NextToken): a pending package on the endpoint's second page still counts."""
    sagemaker, autoscaling = aws
    deployer.dispatch(register(sagemaker), SETTINGS, sagemaker, autoscaling)
    second = register(sagemaker)
    endpoint_arn = sagemaker.describe_endpoint(EndpointName=ENDPOINT)["EndpointArn"]

    pages = {None: {"Tags": [{"Key": "team", "Value": "churn"}], "NextToken": "page-2"}}
    pages["page-2"] = {"Tags": [{"Key": "kit:pending-package", "Value": second["detail"]["ModelPackageArn"]}]}

    asked = []

    class Paged(Recording):
        def list_tags(self, ResourceArn, NextToken=None):
            if ResourceArn != endpoint_arn:
                return self._client.list_tags(ResourceArn=ResourceArn)
            asked.append(NextToken)
            assert len(asked) < 10, "the same pages asked again and again"
            return pages[NextToken]

    client = Paged(sagemaker._client)
    result = deployer.dispatch(IN_SERVICE, SETTINGS, client, autoscaling)
    assert result["action"] == "updated" and result["config"].startswith(f"{ENDPOINT}-v2-")


def test_the_teardown_logs_each_resource_it_deleted(aws, capsys):
    """The custom resource returns only its id, so the function's log is the record of what the deletion removed:
    one line per step (the endpoint first, the rest once it is gone)."""
    sagemaker, autoscaling = aws
    client = Recording(sagemaker._client)
    first, second = register(sagemaker), register(sagemaker)
    deployer.dispatch(first, SETTINGS, client, autoscaling)
    deployer.dispatch(second, SETTINGS, client, autoscaling)
    capsys.readouterr()
    delete_stack(client, autoscaling)
    logged = [ast.literal_eval(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [
        {key: sorted(value) if isinstance(value, list) else value for key, value in step.items()} for step in logged
    ] == [
        {"action": "deleting", "endpoint": ["churn-endpoint"], "scalable_targets": []},
        {
            "action": "deleted",
            "scalable_targets": [],
            "endpoint_configs": sorted([config_of(1), config_of(2)]),
            "models": ["churn-endpoint-v1", "churn-endpoint-v2"],
            "model_packages": sorted([first["detail"]["ModelPackageArn"], second["detail"]["ModelPackageArn"]]),
        },
    ]
