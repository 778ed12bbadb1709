"""The deployer as a state machine of the endpoint (absent, idle, updating, queued, deleting) against a SageMaker
that answers as the API reference documents (issues 29 and 31):

- UpdateEndpoint sets the endpoint to Updating and, once done, InService; a second UpdateEndpoint while it is not in
  service is refused with ValidationException (the only error of an update in the botocore model besides
  ResourceLimitExceeded) (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateEndpoint.html).
- UpdateModelPackage changes the members it is given (CustomerMetadataProperties, ...ToRemove)
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html).
- ListPipelineExecutions / StopPipelineExecution: Executing -> Stopping -> Stopped
  (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_PipelineExecutionSummary.html).
"""

import dataclasses
import itertools
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError

from tests.lambdas.churn_endpoint.test_deployer import ENDPOINT, ENV, GROUP, deployer

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
ENDPOINT_ARN = f"{ACCOUNT_ARN}:endpoint/{ENDPOINT}"
SCALED = deployer.Settings.from_env({**ENV, "INSTANCE_COUNT": "2", "MAX_INSTANCES": "8", "PIPELINE_NAME": "churn"})


def error(code, message):
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


class ResourceNotFound(ClientError):
    pass


class ConflictException(ClientError):
    pass


class SageMaker:
    """One endpoint, its configs, models, tags, the group's packages and the pipeline's executions."""

    exceptions = SimpleNamespace(
        ClientError=ClientError, ResourceNotFound=ResourceNotFound, ConflictException=ConflictException
    )

    def __init__(self):
        self.packages, self.tags, self.configs, self.models = {}, {}, {}, {}
        self.endpoint = None
        self.updates, self.calls, self.executions = [], [], {}

    # Packages
    def register(self, approval="PendingManualApproval"):
        version = len(self.packages) + 1
        arn = f"{ACCOUNT_ARN}:model-package/{GROUP}/{version}"
        self.packages[arn] = {
            "ModelPackageArn": arn,
            "ModelPackageVersion": version,
            "ModelApprovalStatus": approval,
            "ModelPackageStatus": "Completed",
        }
        return arn

    def set_approval(self, arn, approval):
        self.packages[arn]["ModelApprovalStatus"] = approval
        return {
            "detail-type": "SageMaker Model Package State Change",
            "detail": {"ModelPackageArn": arn, "ModelPackageGroupName": GROUP, "ModelApprovalStatus": approval},
        }

    def describe_model_package(self, ModelPackageName):
        return dict(self.packages[ModelPackageName])

    def update_model_package(self, ModelPackageArn, CustomerMetadataProperties=None, **request):
        self.calls.append(("UpdateModelPackage", ModelPackageArn))
        package = self.packages[ModelPackageArn]
        metadata = {**package.get("CustomerMetadataProperties", {}), **(CustomerMetadataProperties or {})}
        for key in request.get("CustomerMetadataPropertiesToRemove", []):
            metadata.pop(key, None)
        package["CustomerMetadataProperties"] = metadata

    def marked(self, arn):
        return self.packages[arn].get("CustomerMetadataProperties", {}).get("kit:deployed-approval") == "true"

    # Tags
    def list_tags(self, ResourceArn, **_):
        return {"Tags": [{"Key": k, "Value": v} for k, v in self.tags.get(ResourceArn, {}).items()]}

    def add_tags(self, ResourceArn, Tags):
        self.calls.append(("AddTags", ResourceArn))
        self.tags.setdefault(ResourceArn, {}).update({t["Key"]: t["Value"] for t in Tags})

    def delete_tags(self, ResourceArn, TagKeys):
        for key in TagKeys:
            self.tags.get(ResourceArn, {}).pop(key, None)

    # Models and configs
    def create_model(self, ModelName, **request):
        if ModelName in self.models:
            raise error("ValidationException", f'Cannot create already existing model "{ModelName}".')
        self.models[ModelName] = request

    def create_endpoint_config(self, EndpointConfigName, **request):
        if EndpointConfigName in self.configs:
            raise error("ValidationException", "Cannot create already existing endpoint configuration.")
        self.configs[EndpointConfigName] = {"EndpointConfigName": EndpointConfigName, **request}

    def describe_endpoint_config(self, EndpointConfigName):
        return self.configs[EndpointConfigName]

    # The endpoint
    def describe_endpoint(self, EndpointName):
        if self.endpoint is None:
            raise error("ValidationException", f'Could not find endpoint "{EndpointName}".')
        return {**self.endpoint, "ProductionVariants": [dict(v) for v in self.endpoint["ProductionVariants"]]}

    def _variants(self, config, count=None):
        variant = self.configs[config]["ProductionVariants"][0]
        desired = variant["InitialInstanceCount"] if count is None else count
        return [
            {"VariantName": variant["VariantName"], "DesiredInstanceCount": desired, "CurrentInstanceCount": desired}
        ]

    def create_endpoint(self, EndpointName, EndpointConfigName, **_):
        self.endpoint = {
            "EndpointName": EndpointName,
            "EndpointArn": ENDPOINT_ARN,
            "EndpointConfigName": EndpointConfigName,
            "EndpointStatus": "Creating",
            "ProductionVariants": self._variants(EndpointConfigName),
        }

    def update_endpoint(self, EndpointName, EndpointConfigName, **request):
        if self.endpoint is None or self.endpoint["EndpointStatus"] != "InService":
            raise error("ValidationException", f'Cannot update in-progress endpoint "{ENDPOINT_ARN}".')
        self.updates.append({"EndpointConfigName": EndpointConfigName, **request})
        self.endpoint["EndpointStatus"] = "Updating"
        self.endpoint["updating_to"] = EndpointConfigName

    def finish(self):
        """The update (or creation) ends: the new fleet serves, with the count its config starts with."""
        config = self.endpoint.pop("updating_to", self.endpoint["EndpointConfigName"])
        self.endpoint.update(
            EndpointConfigName=config, EndpointStatus="InService", ProductionVariants=self._variants(config)
        )

    def scale_to(self, count):
        self.endpoint["ProductionVariants"][0].update(DesiredInstanceCount=count, CurrentInstanceCount=count)

    def served_model(self):
        return self.configs[self.endpoint["EndpointConfigName"]]["ProductionVariants"][0]["ModelName"]

    # Pipeline executions
    def list_pipeline_executions(self, PipelineName, **_):
        return {
            "PipelineExecutionSummaries": [
                {"PipelineExecutionArn": arn, "PipelineExecutionStatus": status}
                for arn, status in self.executions.items()
            ]
        }

    def stop_pipeline_execution(self, PipelineExecutionArn, ClientRequestToken):
        assert 32 <= len(ClientRequestToken) <= 128  # the API's length constraint
        self.calls.append(("StopPipelineExecution", PipelineExecutionArn))
        if self.executions[PipelineExecutionArn] != "Executing":
            raise ConflictException({"Error": {"Code": "ConflictException", "Message": "not executing"}}, "Stop")
        self.executions[PipelineExecutionArn] = "Stopping"

    def __getattr__(self, name):
        def list_nothing(**_):
            return {"EndpointConfigs": [], "Models": [], "ModelPackageSummaryList": []}

        if name == "get_paginator":
            return lambda _operation: SimpleNamespace(paginate=lambda **_: [list_nothing()])
        if name in ("delete_endpoint", "delete_endpoint_config", "delete_model", "delete_model_package"):
            return lambda **_: None
        raise AttributeError(name)


class AutoScaling:
    exceptions = SimpleNamespace(ObjectNotFoundException=type("ObjectNotFoundException", (Exception,), {}))

    def __init__(self):
        self.targets, self.calls = {}, []

    def register_scalable_target(self, ResourceId, MinCapacity, MaxCapacity, **_):
        self.calls.append("register")
        self.targets[ResourceId] = (MinCapacity, MaxCapacity)

    def put_scaling_policy(self, **_):
        self.calls.append("policy")

    def deregister_scalable_target(self, ResourceId, **_):
        self.calls.append("deregister")
        self.targets.pop(ResourceId, None)

    def get_paginator(self, _operation):
        targets = [{"ResourceId": r, "ScalableDimension": deployer.SCALABLE_DIMENSION} for r in self.targets]
        return SimpleNamespace(paginate=lambda **_: [{"ScalableTargets": targets}])


IN_SERVICE = {
    "detail-type": "SageMaker Endpoint State Change",
    "detail": {"EndpointName": ENDPOINT, "EndpointStatus": "IN_SERVICE"},
}


def in_service(sagemaker, autoscaling, settings=SCALED):
    sagemaker.finish()
    return deployer.dispatch(IN_SERVICE, settings, sagemaker, autoscaling)


def serving(settings=SCALED):
    """An endpoint in service on version 1, with scaling registered."""
    sagemaker, autoscaling = SageMaker(), AutoScaling()
    first = sagemaker.register()
    assert deployer.dispatch(sagemaker.set_approval(first, "Approved"), settings, sagemaker, autoscaling)["action"] == (
        "created"
    )
    in_service(sagemaker, autoscaling, settings)
    return sagemaker, autoscaling


def state(name):
    """The endpoint in one of the deployer's states, and the package it queued (if any)."""
    if name == "absent":
        return SageMaker(), AutoScaling(), None
    sagemaker, autoscaling = serving()
    queued = None
    if name in ("updating", "queued"):
        sagemaker.endpoint["EndpointStatus"] = "Updating"
    if name == "queued":
        queued = sagemaker.register()
        assert deployer.dispatch(sagemaker.set_approval(queued, "Approved"), SCALED, sagemaker, autoscaling)[
            "action"
        ] == ("queued")
    if name == "deleting":
        sagemaker.endpoint["EndpointStatus"] = "Deleting"
    return sagemaker, autoscaling, queued


@pytest.mark.parametrize(
    "name, action, pending_after",
    [
        ("absent", "created", None),
        ("idle", "updated", None),
        ("updating", "queued", "new"),
        ("queued", "queued", "new"),  # the later approval replaces the kept one (with a notice)
        ("deleting", "raises EndpointBusy", None),
    ],
)
def test_an_approval_in_every_state(name, action, pending_after):
    sagemaker, autoscaling, queued = state(name)
    new = sagemaker.register()
    event = sagemaker.set_approval(new, "Approved")
    if action == "raises EndpointBusy":
        with pytest.raises(deployer.EndpointBusy):
            deployer.dispatch(event, SCALED, sagemaker, autoscaling)
        assert not sagemaker.marked(new)  # the retry deploys it
        return
    result = deployer.dispatch(event, SCALED, sagemaker, autoscaling)
    assert result["action"] == action
    assert sagemaker.marked(new)
    pending = sagemaker.tags.get(ENDPOINT_ARN, {}).get(deployer.PENDING_TAG)
    assert pending == (new if pending_after == "new" else None)
    if queued is not None:
        assert result["replaced"] == queued and queued in result["notice"]


@pytest.mark.parametrize("name", ["idle", "updating", "queued"])
def test_in_service_in_every_state_deploys_what_was_kept_once(name):
    sagemaker, autoscaling, queued = state(name)
    result = in_service(sagemaker, autoscaling)
    if queued is None:
        assert result["action"] == "scaling" and sagemaker.updates == []
        return
    assert result["action"] == "updated" and sagemaker.updates[-1]["EndpointConfigName"] == result["config"]
    assert deployer.PENDING_TAG not in sagemaker.tags[ENDPOINT_ARN]
    assert in_service(sagemaker, autoscaling)["action"] == "scaling"
    assert sagemaker.served_model() == f"{ENDPOINT}-v2"


def test_an_update_refused_because_another_started_is_queued_not_lost():
    """DescribeEndpoint said InService, then another update started: UpdateEndpoint answers ValidationException."""
    sagemaker, autoscaling = serving()
    new = sagemaker.register()
    update = sagemaker.update_endpoint

    def racing(**request):
        sagemaker.endpoint["EndpointStatus"] = "Updating"  # someone else's update got there first
        return update(**request)

    sagemaker.update_endpoint = racing
    result = deployer.dispatch(sagemaker.set_approval(new, "Approved"), SCALED, sagemaker, autoscaling)
    assert result["action"] == "queued" and sagemaker.tags[ENDPOINT_ARN][deployer.PENDING_TAG] == new
    sagemaker.update_endpoint = update
    assert in_service(sagemaker, autoscaling)["action"] == "updated"


def test_another_validation_error_of_an_update_fails_the_event():
    sagemaker, autoscaling = serving()
    new = sagemaker.register()

    def refused(**_):
        raise error("ValidationException", "The alarm churn-endpoint-errors does not exist.")

    sagemaker.update_endpoint = refused
    with pytest.raises(ClientError, match="does not exist"):
        deployer.dispatch(sagemaker.set_approval(new, "Approved"), SCALED, sagemaker, autoscaling)


# Issue 31 item 2: approve, approve, reject in every order while an update is in flight.
ACTIONS = [("approve", "A"), ("approve", "B"), ("reject", "A")], [("approve", "A"), ("approve", "B"), ("reject", "B")]


@pytest.mark.parametrize(
    "actions", [order for actions in ACTIONS for order in itertools.permutations(actions)], ids=str
)
def test_a_decision_taken_while_an_update_runs_is_never_lost_or_reversed(actions):
    sagemaker, autoscaling = serving()
    served_before = sagemaker.served_model()
    sagemaker.endpoint["EndpointStatus"] = "Updating"
    arns = {"A": sagemaker.register(), "B": sagemaker.register()}
    last_approved = None
    for verb, name in actions:
        if verb == "approve":
            last_approved = name
        deployer.dispatch(
            sagemaker.set_approval(arns[name], "Approved" if verb == "approve" else "Rejected"),
            SCALED,
            sagemaker,
            autoscaling,
        )
    in_service(sagemaker, autoscaling)
    if sagemaker.endpoint.get("updating_to"):
        sagemaker.finish()
    approved_last = sagemaker.packages[arns[last_approved]]["ModelApprovalStatus"] == "Approved"
    # The latest approval goes live unless it was rejected since; a rejected package never goes live.
    expected = f"{ENDPOINT}-v{sagemaker.packages[arns[last_approved]]['ModelPackageVersion']}"
    assert sagemaker.served_model() == (expected if approved_last else served_before)
    for name, arn in arns.items():
        if sagemaker.packages[arn]["ModelApprovalStatus"] != "Rejected":
            continue
        assert sagemaker.served_model() != f"{ENDPOINT}-v{sagemaker.packages[arn]['ModelPackageVersion']}"
        # The rejected package carries no mark: approving it again deploys it.
        assert not sagemaker.marked(arn)
        result = deployer.dispatch(sagemaker.set_approval(arn, "Approved"), SCALED, sagemaker, autoscaling)
        assert result["action"] in ("updated", "queued"), name


def test_a_queued_package_rejected_before_the_queue_drains_loses_its_mark():
    """Its rejection event lost the race with the queueing (or has not arrived): the drain reads it again."""
    sagemaker, autoscaling, queued = state("queued")
    sagemaker.packages[queued]["ModelApprovalStatus"] = "Rejected"  # its event not delivered yet
    result = in_service(sagemaker, autoscaling)
    assert result["action"] == "dropped" and sagemaker.served_model() == f"{ENDPOINT}-v1"
    assert not sagemaker.marked(queued)
    assert deployer.dispatch(sagemaker.set_approval(queued, "Approved"), SCALED, sagemaker, autoscaling)["action"] == (
        "updated"
    )


def test_the_mark_is_package_metadata_not_a_tag_on_the_version():
    """Issue 31 item 3: a versioned package uses its group's tags, so a tag on the version is no mark."""
    sagemaker, autoscaling = serving()
    assert [arn for call, arn in sagemaker.calls if call == "AddTags" and ":model-package/" in arn] == []
    assert sagemaker.marked(f"{ACCOUNT_ARN}:model-package/{GROUP}/1")
    sagemaker.packages[f"{ACCOUNT_ARN}:model-package/{GROUP}/1"]["CustomerMetadataProperties"]["team"] = "churn"
    second = sagemaker.register()
    deployer.dispatch(sagemaker.set_approval(second, "Approved"), SCALED, sagemaker, autoscaling)
    deployer.dispatch(sagemaker.set_approval(second, "Rejected"), SCALED, sagemaker, autoscaling)
    assert sagemaker.packages[f"{ACCOUNT_ARN}:model-package/{GROUP}/1"]["CustomerMetadataProperties"]["team"] == (
        "churn"
    )
    assert not sagemaker.marked(second)


# Issue 31 item 1: a deployment keeps the scaled fleet.
def test_a_deployment_keeps_the_count_auto_scaling_reached():
    sagemaker, autoscaling = serving()
    sagemaker.scale_to(6)
    deployer.dispatch(sagemaker.set_approval(sagemaker.register(), "Approved"), SCALED, sagemaker, autoscaling)
    [update] = sagemaker.updates
    assert sagemaker.configs[update["EndpointConfigName"]]["ProductionVariants"][0]["InitialInstanceCount"] == 6
    in_service(sagemaker, autoscaling)
    assert sagemaker.endpoint["ProductionVariants"][0]["DesiredInstanceCount"] == 6
    assert autoscaling.targets[SCALED.scaling_resource_id] == (2, 8)


@pytest.mark.parametrize("live, expected", [(1, 2), (9, 8)])
def test_the_kept_count_stays_within_the_configured_minimum_and_maximum(live, expected):
    sagemaker, autoscaling = serving()
    sagemaker.scale_to(live)
    deployer.dispatch(sagemaker.set_approval(sagemaker.register(), "Approved"), SCALED, sagemaker, autoscaling)
    [update] = sagemaker.updates
    assert sagemaker.configs[update["EndpointConfigName"]]["ProductionVariants"][0]["InitialInstanceCount"] == expected


# Issue 29 item 5: settings that arrive.
def settings_update(sagemaker, autoscaling, settings):
    event = {"RequestType": "Update", "PhysicalResourceId": f"{ENDPOINT}-teardown"}
    answer = deployer.dispatch(event, settings, sagemaker, autoscaling)
    # The framework's isComplete call (onEvent's answer merged in) applies nothing again.
    assert deployer.dispatch({**event, **answer}, settings, sagemaker, autoscaling)["IsComplete"] is True
    return answer


@pytest.mark.parametrize(
    "change",
    [
        {"capture_uri": "s3://monitor-bucket/captures"},
        {"capture_percent": 20},
        {"capture_key_arn": "arn:aws:kms:us-east-1:123456789012:key/monitor"},
        {"instance_type": "ml.c5.xlarge"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_changed_setting_rolls_out_to_the_running_endpoint(change):
    sagemaker, autoscaling = serving()
    changed = dataclasses.replace(SCALED, **change)
    answer = settings_update(sagemaker, autoscaling, changed)
    assert answer["Data"] == {"SettingsAction": "updated"}
    [update] = sagemaker.updates
    config = sagemaker.configs[update["EndpointConfigName"]]
    assert config["ProductionVariants"][0]["ModelName"] == f"{ENDPOINT}-v1"  # the same model, new settings
    assert config == {
        **config,
        **deployer.tagged_config(
            changed,
            config["EndpointConfigName"],
            f"{ENDPOINT}-v1",
            config["ProductionVariants"][0]["InitialInstanceCount"],
        ),
    }
    # Applied once: the next Update with the same settings changes nothing.
    in_service(sagemaker, autoscaling, changed)
    assert settings_update(sagemaker, autoscaling, changed)["Data"] == {"SettingsAction": "unchanged"}
    assert len(sagemaker.updates) == 1


def test_the_settings_of_the_stack_event_are_applied_not_the_environments():
    """In a rolled-back update CloudFormation sends the resource its old properties while the function still has the
    new environment: the event's properties are what is asked for."""
    sagemaker, autoscaling = serving()
    event = {
        "RequestType": "Update",
        "PhysicalResourceId": f"{ENDPOINT}-teardown",
        "ResourceProperties": {
            "EndpointSettings": {"CAPTURE_URI": "s3://old-bucket/captures", "CAPTURE_PERCENT": "50"}
        },
    }
    assert deployer.dispatch(event, SCALED, sagemaker, autoscaling)["Data"] == {"SettingsAction": "updated"}
    capture = sagemaker.configs[sagemaker.updates[-1]["EndpointConfigName"]]["DataCaptureConfig"]
    assert (capture["DestinationS3Uri"], capture["InitialSamplingPercentage"]) == ("s3://old-bucket/captures", 50)


def test_a_new_instance_count_rolls_out_without_scaling_and_moves_the_minimum_with_it():
    fixed = dataclasses.replace(SCALED, max_instances=2)
    sagemaker, autoscaling = serving(fixed)
    more = dataclasses.replace(fixed, instance_count=3, max_instances=3)
    assert settings_update(sagemaker, autoscaling, more)["Data"] == {"SettingsAction": "updated"}
    in_service(sagemaker, autoscaling, more)
    assert sagemaker.endpoint["ProductionVariants"][0]["DesiredInstanceCount"] == 3
    # With scaling the count is the minimum: scaling is registered again with it (the fleet keeps its size).
    sagemaker, autoscaling = serving()
    sagemaker.scale_to(5)
    assert settings_update(sagemaker, autoscaling, dataclasses.replace(SCALED, instance_count=3))["Data"] == {
        "SettingsAction": "unchanged"
    }
    assert autoscaling.targets[SCALED.scaling_resource_id] == (3, 8) and sagemaker.updates == []


def test_turning_scaling_off_rolls_out_the_count_and_deregisters_the_old_target_once_in_service():
    """A target registered under the old settings would go on resizing the variant between its old bounds."""
    sagemaker, autoscaling = serving()
    sagemaker.scale_to(5)
    fixed = dataclasses.replace(SCALED, instance_count=3, max_instances=3)
    assert settings_update(sagemaker, autoscaling, fixed)["Data"] == {"SettingsAction": "updated"}
    assert in_service(sagemaker, autoscaling, fixed)["action"] == "deregistered"
    assert autoscaling.targets == {}
    assert sagemaker.endpoint["ProductionVariants"][0]["DesiredInstanceCount"] == 3


def test_a_new_instance_type_deregisters_scaling_first_and_registers_it_once_in_service():
    """https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html: an update that changes the
    instance type of a scalable target fails."""
    sagemaker, autoscaling = serving()
    autoscaling.calls.clear()
    settings_update(sagemaker, autoscaling, dataclasses.replace(SCALED, instance_type="ml.c5.xlarge"))
    assert autoscaling.calls == ["deregister"] and autoscaling.targets == {}
    in_service(sagemaker, autoscaling)
    assert autoscaling.targets[SCALED.scaling_resource_id] == (2, 8)


def test_settings_changed_while_the_endpoint_updates_are_applied_when_it_is_in_service():
    sagemaker, autoscaling = serving()
    sagemaker.endpoint["EndpointStatus"] = "Updating"
    changed = dataclasses.replace(SCALED, capture_uri="s3://monitor-bucket/captures")
    assert settings_update(sagemaker, autoscaling, changed)["Data"] == {"SettingsAction": "queued"}
    assert sagemaker.updates == []
    result = in_service(sagemaker, autoscaling, changed)
    assert result["action"] == "updated"
    assert (
        sagemaker.configs[result["config"]]["DataCaptureConfig"]["DestinationS3Uri"] == "s3://monitor-bucket/captures"
    )


def test_a_reapproval_of_the_served_version_with_the_same_settings_changes_nothing():
    sagemaker, autoscaling = serving()
    first = f"{ACCOUNT_ARN}:model-package/{GROUP}/1"
    deployer.dispatch(sagemaker.set_approval(first, "Rejected"), SCALED, sagemaker, autoscaling)
    sagemaker.scale_to(5)
    assert deployer.dispatch(sagemaker.set_approval(first, "Approved"), SCALED, sagemaker, autoscaling)["action"] == (
        "unchanged"
    )
    assert sagemaker.updates == []


# Issue 29: destroy while a pipeline execution runs.
def test_teardown_stops_running_pipeline_executions_and_waits_for_them():
    sagemaker, autoscaling = serving()
    running, stopping, done = (f"{ACCOUNT_ARN}:pipeline/churn/execution/{n}" for n in ("run1", "run2", "run3"))
    sagemaker.executions = {running: "Executing", stopping: "Stopping", done: "Succeeded"}
    delete = {"RequestType": "Delete", "PhysicalResourceId": f"{ENDPOINT}-teardown"}
    assert deployer.dispatch(delete, SCALED, sagemaker, autoscaling)["IsComplete"] is False
    assert [arn for call, arn in sagemaker.calls if call == "StopPipelineExecution"] == [running]
    assert sagemaker.endpoint is not None  # nothing deleted while a run could still register a model
    assert deployer.dispatch(delete, SCALED, sagemaker, autoscaling)["IsComplete"] is False  # still stopping
    sagemaker.executions = dict.fromkeys(sagemaker.executions, "Stopped")
    answers = [deployer.dispatch(delete, SCALED, sagemaker, autoscaling) for _ in range(2)]
    assert answers[0]["IsComplete"] is False  # DeleteEndpoint accepted; done when it is gone
    assert autoscaling.targets == {}


def test_no_endpoint_is_created_while_the_stack_is_being_deleted():
    sagemaker, autoscaling = SageMaker(), AutoScaling()
    stack = "arn:aws:cloudformation:us-east-1:123456789012:stack/churn/1"
    settings = dataclasses.replace(SCALED, stack_id=stack)
    asked = []

    class CloudFormation:
        exceptions = SimpleNamespace(ClientError=ClientError)

        @staticmethod
        def describe_stacks(StackName):
            asked.append(StackName)
            return {"Stacks": [{"StackName": "churn", "StackStatus": "DELETE_IN_PROGRESS"}]}

    event = sagemaker.set_approval(sagemaker.register(), "Approved")
    result = deployer.dispatch(event, settings, sagemaker, autoscaling, cloudformation=CloudFormation())
    assert result["action"] == "ignored" and "being deleted" in result["reason"]
    assert sagemaker.endpoint is None and sagemaker.models == {} and asked == [stack]
