"""Deploys approved churn models to one real-time endpoint with Data Capture; scales it; tears it down.

Events (EventBridge, asynchronous; failures go to the function's dead-letter queue):
- "SageMaker Model Package State Change" of the group: a package whose approval status *changed to* Approved and
  that is Completed gets model `<endpoint>-v<N>` and an endpoint config named by that model, a digest of the
  endpoint settings and the instance count (`<endpoint>-v<N>-<digest>-<count>`: Data Capture of inputs and outputs,
  KMS, content-type headers so payloads stay readable), then the endpoint is created or updated blue/green with
  automatic rollback on the error alarm. An update keeps the fleet auto scaling has grown to: the new config starts
  with the variant's live desired count (within the configured minimum and maximum). A model that fails to deploy
  leaves the previous one serving. The event carries no previous status (SageMaker sends one for metadata edits
  too), so the function marks each package it deployed in the package's CustomerMetadataProperties
  (`kit:deployed-approval`, through UpdateModelPackage) and removes the mark when the package leaves Approved: an
  edit of an approved package changes nothing; approving it again (after Rejected or PendingManualApproval) deploys
  it again, which is how to roll back deliberately.
- An approval that arrives while the endpoint is updating (or whose UpdateEndpoint SageMaker refuses because an
  update started meanwhile) is kept on the endpoint (`kit:pending-package` tag) and deployed on the endpoint's next
  IN_SERVICE event, however long the update takes. A later approval replaces a kept one, with a notice. The kept
  package's approval is read again before it is deployed: one that left Approved is dropped, with a notice on the
  topic (TOPIC_ARN), and loses its mark, so approving it again deploys it.
- "SageMaker Endpoint State Change" to IN_SERVICE: report an update SageMaker rolled back (the endpoint serves
  another config than the one the function asked for, `kit:updating-to` tag), deploy a pending package or pending
  settings, register target-tracking auto scaling (when configured). An endpoint that ends FAILED or
  UPDATE_ROLLBACK_FAILED is reported by a rule of the stack, not here.
- CloudFormation custom-resource events of the endpoint resource (through the CDK Provider framework, as its
  onEvent and its isComplete handler): on Create and Update (its properties carry the endpoint settings, so a
  changed setting sends one), the settings are applied to the running endpoint: a new config for the model it
  serves, then UpdateEndpoint (or kept with the `kit:pending-settings` tag while it is busy). On Delete, one teardown
  step per call until the endpoint is gone, then the configs and models this function created and (when
  DELETE_MODEL_PACKAGES is true) the group's model packages. An error fails the stack event with its message.
- `{"kit-action": "teardown"}` (invoked directly, e.g. by `make smoke`'s cleanup): the same teardown step; call it
  again until it answers `"action": "deleted"`.

Teardown first stops the training pipeline's running executions and waits for them to end (DeletePipeline refuses
a pipeline with running executions, and a run could still register and deploy a model), waits out
Creating/Updating (DeleteEndpoint is refused then), deregisters every scalable target of the endpoint's variants
(whatever settings registered them), deletes the endpoint, and reports "deleted" only once DescribeEndpoint no
longer finds it: the model role and key stay until then. While the stack (STACK_ID) is being deleted the function
creates no endpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping

# A boto3 client: boto3 carries no types, and the handler imports it only at run time.
Client = Any
# Sends a notice to the topic; called before the state that prompted it is forgotten, so a failed send is retried.
Notify = Callable[[str], None]


def _quiet(_message: str) -> None:
    """No topic (tests of the decisions alone): the notice is in the result only."""


MODEL_PACKAGE_CHANGE = "SageMaker Model Package State Change"
ENDPOINT_CHANGE = "SageMaker Endpoint State Change"
# The deployed mark: a CustomerMetadataProperties key of the package version (UpdateModelPackage,
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html; DescribeModelPackage
# returns it). Not a tag: a versioned package uses its group's tags
# (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateModelPackage.html).
DEPLOYED_MARK = "kit:deployed-approval"
PENDING_TAG = "kit:pending-package"
PENDING_SETTINGS_TAG = "kit:pending-settings"
UPDATING_TAG = "kit:updating-to"
BUSY_STATES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "UpdateRollbackFailed")
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# DeleteEndpoint refuses an endpoint in these states; teardown waits them out (a blue/green update ends in
# InService or rolls back; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
WAIT_BEFORE_DELETE = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
# Pipeline executions that DeletePipeline waits for ("Deletes a pipeline if there are no running instances of the
# pipeline. To delete a pipeline, you must stop all running instances ... using the StopPipelineExecution API":
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeletePipeline.html).
RUNNING_EXECUTIONS = ("Executing", "Stopping")
# Stack states in which CloudFormation deletes the stack's resources: no endpoint is created then.
STACK_DELETING = ("DELETE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS")
KIT_ACTION = "kit-action"
# Copy of stacks/churn_model/instance_storage.py (tests keep them equal): types with local NVMe storage take no
# KmsKeyId; CreateEndpointConfig fails with one, and their storage is encrypted in hardware.
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html
INSTANCE_STORE_FAMILY_PREFIXES = ("g5", "g6", "p5", "trn1")


class EventError(ValueError):
    """A malformed event; the message names the field."""


class EndpointBusy(RuntimeError):
    """The endpoint cannot take an update now; the asynchronous retry or the dead-letter queue keeps the event."""


@dataclass(frozen=True)
class Settings:
    endpoint_name: str
    variant_name: str
    model_package_group: str
    model_role_arn: str
    instance_type: str
    instance_count: int
    max_instances: int
    invocations_per_instance: int
    capture_uri: str
    capture_percent: int
    capture_key_arn: str
    volume_key_arn: str
    rollback_alarm: str
    delete_model_packages: bool
    topic_arn: str = ""
    # The stack that owns the endpoint (its ARN) and the training pipeline whose runs teardown stops; "" for none.
    stack_id: str = ""
    pipeline_name: str = ""
    # The kit's standard tags (stacks/common/tags.py), for the models, configs and endpoint this function creates:
    # stack tags do not reach resources created at run time.
    tags: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> "Settings":
        return cls(
            endpoint_name=env["ENDPOINT_NAME"],
            variant_name=env["VARIANT_NAME"],
            model_package_group=env["MODEL_PACKAGE_GROUP"],
            model_role_arn=env["MODEL_ROLE_ARN"],
            instance_type=env["INSTANCE_TYPE"],
            instance_count=int(env["INSTANCE_COUNT"]),
            max_instances=int(env["MAX_INSTANCES"]),
            invocations_per_instance=int(env["INVOCATIONS_PER_INSTANCE"]),
            capture_uri=env["CAPTURE_URI"],
            capture_percent=int(env["CAPTURE_PERCENT"]),
            capture_key_arn=env["CAPTURE_KEY_ARN"],
            volume_key_arn=env["VOLUME_KEY_ARN"],
            rollback_alarm=env["ROLLBACK_ALARM"],
            delete_model_packages=env["DELETE_MODEL_PACKAGES"] == "true",
            topic_arn=env.get("TOPIC_ARN", ""),
            stack_id=env.get("STACK_ID", ""),
            pipeline_name=env.get("PIPELINE_NAME", ""),
            tags=tuple(sorted(json.loads(env["KIT_TAGS"]).items())),
        )

    def tag_list(self, *extra: tuple[str, str]) -> list[dict[str, str]]:
        """The kit's tags and `extra` as a Tags list (CreateModel, CreateEndpointConfig, CreateEndpoint, AddTags)."""
        return [{"Key": key, "Value": value} for key, value in (*self.tags, *extra)]

    @property
    def scaling_resource_id(self) -> str:
        return f"endpoint/{self.endpoint_name}/variant/{self.variant_name}"

    @property
    def scales(self) -> bool:
        return self.max_instances > self.instance_count


@dataclass(frozen=True)
class Clients:
    """The AWS clients the decisions use; `cloudformation` None: no stack to watch (tests of the decisions)."""

    sagemaker: Client
    autoscaling: Client
    cloudformation: Client = None
    notify: Notify = _quiet


def _detail(event: Mapping[str, Any], *fields: str) -> list[str]:
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise EventError("Field 'detail' is missing or not an object.")
    values = []
    for field in fields:
        value = detail.get(field)
        if value in (None, ""):
            raise EventError(f"Field 'detail.{field}' is missing or empty.")
        values.append(str(value))
    return values


def deploy(aws: Clients, settings: Settings, event: Mapping[str, Any]) -> dict[str, Any]:
    """Serve the package of the event if its approval just changed to Approved; returns what it did."""
    sagemaker = aws.sagemaker
    package_arn, group, _ = _detail(event, "ModelPackageArn", "ModelPackageGroupName", "ModelApprovalStatus")
    if group != settings.model_package_group:
        raise EventError(
            f"Field 'detail.ModelPackageGroupName' is {group!r}; this function deploys "
            f"{settings.model_package_group!r} only."
        )
    # The package as it is now: events can arrive late or out of order.
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    deployed = _is_marked(package)
    approval = package.get("ModelApprovalStatus", "PendingManualApproval")
    if approval != "Approved":
        if deployed:  # approving it again later is a new approval
            _unmark(sagemaker, package_arn)
            dropped = _drop_pending(aws, settings, package_arn, package["ModelPackageVersion"], approval)
            if dropped is not None:
                return dropped
        return {"action": "ignored", "reason": f"approval status is {approval}"}
    if package["ModelPackageStatus"] != "Completed":
        return {
            "action": "ignored",
            "reason": f"package status is {package['ModelPackageStatus']}; its Completed event deploys it",
        }
    if deployed:
        return {"action": "ignored", "reason": "this approval was already deployed (a metadata update)"}
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint and endpoint["EndpointStatus"] == "Deleting":  # a tag would go with it: retry, then create
        raise EndpointBusy(
            f"Endpoint {settings.endpoint_name} is being deleted; version "
            f"{package['ModelPackageVersion']} is retried and creates it again."
        )
    if endpoint is None and _stack_deleting(aws, settings):
        return {"action": "ignored", "reason": "the stack is being deleted; no endpoint is created"}
    if endpoint and endpoint["EndpointStatus"] in BUSY_STATES:
        result = _queue(aws, settings, endpoint, package_arn, package["ModelPackageVersion"])
    else:
        result = _serve(aws, settings, package_arn, package["ModelPackageVersion"], endpoint)
        if endpoint is not None and result["action"] == "busy":
            busy = _describe_endpoint(sagemaker, settings.endpoint_name) or endpoint
            result = _queue(aws, settings, busy, package_arn, package["ModelPackageVersion"])
    _mark_deployed(sagemaker, {**package, "ModelPackageArn": package_arn})
    return result


def _queue(
    aws: Clients, settings: Settings, endpoint: Mapping[str, Any], package_arn: str, version: int
) -> dict[str, Any]:
    """Keep the package on the endpoint until it is in service again; a package kept before is replaced."""
    previous = _tags(aws.sagemaker, endpoint["EndpointArn"]).get(PENDING_TAG)
    aws.sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=[{"Key": PENDING_TAG, "Value": package_arn}])
    result = {
        "action": "queued",
        "endpoint": settings.endpoint_name,
        "package": package_arn,
        "reason": f"endpoint is {endpoint['EndpointStatus']}; deployed when it is in service again",
    }
    if previous and previous != package_arn:
        notice = (
            f"Churn model package {previous} was waiting to be deployed to {settings.endpoint_name}; version "
            f"{version} ({package_arn}), approved later, is deployed instead when the endpoint is in service again."
        )
        aws.notify(notice)
        result = {**result, "replaced": previous, "notice": notice}
    return result


def deploy_pending(aws: Clients, settings: Settings) -> dict[str, Any] | None:
    """Deploy the approval (or the settings) kept while the endpoint was busy, if any (it is in service now)."""
    sagemaker = aws.sagemaker
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint is None or endpoint["EndpointStatus"] in BUSY_STATES:
        return None
    tags = _tags(sagemaker, endpoint["EndpointArn"])
    package_arn = tags.get(PENDING_TAG)
    if not package_arn:
        if PENDING_SETTINGS_TAG not in tags:
            return None
        sagemaker.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[PENDING_SETTINGS_TAG])
        return apply_settings(aws, settings)
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    version, approval = package["ModelPackageVersion"], package.get("ModelApprovalStatus", "PendingManualApproval")
    if approval != "Approved":  # its change event may not have arrived yet: never serve what is no longer approved
        if _is_marked(package):  # so that approving it again deploys it
            _unmark(sagemaker, package_arn)
        return _drop_pending(aws, settings, package_arn, version, approval)
    result = _serve(aws, settings, package_arn, version, endpoint)
    if result["action"] == "busy":  # another update started: it keeps waiting for the next IN_SERVICE
        return result
    # The served config carries today's settings: settings kept for later are applied with it.
    sagemaker.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[PENDING_TAG, PENDING_SETTINGS_TAG])
    return result


def _drop_pending(
    aws: Clients, settings: Settings, package_arn: str, version: int, approval: str
) -> dict[str, Any] | None:
    """Forget the package kept for deployment if it is this one; the notice says so (it was expected to go live)."""
    endpoint = _describe_endpoint(aws.sagemaker, settings.endpoint_name)
    if endpoint is None or _tags(aws.sagemaker, endpoint["EndpointArn"]).get(PENDING_TAG) != package_arn:
        return None
    notice = (
        f"Churn model version {version} ({package_arn}) was waiting to be deployed to {settings.endpoint_name} "
        f"and is now {approval}: it will not be deployed. The endpoint keeps serving "
        f"{endpoint['EndpointConfigName']}. To deploy a version, approve it (again)."
    )
    aws.notify(notice)
    aws.sagemaker.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[PENDING_TAG])
    return {"action": "dropped", "package": package_arn, "notice": notice}


def config_name(settings: Settings, model_name: str, instance_count: int) -> str:
    """`<model>-<digest of the settings>-<instance count>`: a changed setting gets a new config (configs cannot be
    changed), the same version and settings get the same one. EndpointConfigName: at most 63 characters
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_CreateEndpointConfig.html)."""
    request = endpoint_config(settings, "", "", 0)
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:8]
    return f"{model_name}-{digest}-{instance_count}"


def _same_settings(settings: Settings, served: str, wanted: str) -> bool:
    """Both names are one model with the same settings; with auto scaling they may differ in the instance count
    (scaling chose it), without it the count is a setting too."""
    return served == wanted or (settings.scales and served.rsplit("-", 1)[0] == wanted.rsplit("-", 1)[0])


def _live_count(settings: Settings, endpoint: Mapping[str, Any] | None) -> int:
    """The instance count a new config starts with: the variant's desired count (what auto scaling has grown it to)
    within the configured minimum and maximum; the configured count for a new endpoint or without scaling. A config
    whose count is the minimum would shrink a scaled fleet on every deployment (a blue/green update provisions the
    new fleet from the new config: https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-guardrails-blue-green.html)."""
    if endpoint is None or not settings.scales:
        return settings.instance_count
    for variant in endpoint.get("ProductionVariants", []):
        if variant.get("VariantName") == settings.variant_name:
            live = int(variant.get("DesiredInstanceCount") or variant.get("CurrentInstanceCount") or 0)
            return max(settings.instance_count, min(settings.max_instances, live))
    return settings.instance_count


def _serve(
    aws: Clients, settings: Settings, package_arn: str, version: int, endpoint: dict[str, Any] | None
) -> dict[str, Any]:
    sagemaker = aws.sagemaker
    model = f"{settings.endpoint_name}-v{version}"
    name = config_name(settings, model, _live_count(settings, endpoint))
    if endpoint and _same_settings(settings, endpoint["EndpointConfigName"], name):
        return {"action": "unchanged", "endpoint": settings.endpoint_name, "config": endpoint["EndpointConfigName"]}
    if endpoint and endpoint["EndpointStatus"] == "Failed":
        raise EndpointBusy(
            f"Endpoint {settings.endpoint_name} is Failed ({endpoint.get('FailureReason', '')}); "
            "delete it, then approve the model package again to create it."
        )
    _create_once(
        sagemaker.create_model,
        ModelName=model,
        ExecutionRoleArn=settings.model_role_arn,
        Containers=[{"ModelPackageName": package_arn}],
        EnableNetworkIsolation=True,
        Tags=settings.tag_list(("kit:endpoint", settings.endpoint_name)),
    )
    if endpoint is None:
        _create_once(sagemaker.create_endpoint_config, **tagged_config(settings, name, model, settings.instance_count))
        sagemaker.create_endpoint(
            EndpointName=settings.endpoint_name,
            EndpointConfigName=name,
            Tags=settings.tag_list(("kit:endpoint", settings.endpoint_name)),
        )
        return {"action": "created", "endpoint": settings.endpoint_name, "config": name}
    return _update(aws, settings, endpoint, model, name)


def _update(aws: Clients, settings: Settings, endpoint: Mapping[str, Any], model: str, name: str) -> dict[str, Any]:
    """Create config `name` for `model` and switch the endpoint to it blue/green; "busy" if SageMaker refuses
    because the endpoint is no longer in service (UpdateEndpoint answers ValidationException then)."""
    sagemaker = aws.sagemaker
    count = int(name.rsplit("-", 1)[1])
    _create_once(sagemaker.create_endpoint_config, **tagged_config(settings, name, model, count))
    served = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    if _instance_type(served, settings.variant_name) not in (None, settings.instance_type):
        # "If the update would change the instance type for any model that is a target for auto scaling, the
        # update fails": deregister first, register again once in service (ensure_scaling on IN_SERVICE)
        # (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html).
        deregister_scaling(aws.autoscaling, settings.endpoint_name)
    try:
        sagemaker.update_endpoint(
            EndpointName=settings.endpoint_name, EndpointConfigName=name, DeploymentConfig=blue_green(settings)
        )
    except sagemaker.exceptions.ClientError as error:
        now = _describe_endpoint(sagemaker, settings.endpoint_name)
        if error.response.get("Error", {}).get("Code") == "ValidationException" and (
            now is not None and now["EndpointStatus"] in BUSY_STATES
        ):
            return {"action": "busy", "endpoint": settings.endpoint_name, "reason": str(error)}
        raise
    # What was asked for: a rollback ends IN_SERVICE on the previous config, an event that looks like success. The
    # kit's tags go along: an endpoint created before the deployer tagged it gets them on its next update.
    sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=settings.tag_list((UPDATING_TAG, name)))
    return {
        "action": "updated",
        "endpoint": settings.endpoint_name,
        "config": name,
        "previous_config": endpoint["EndpointConfigName"],
    }


def _instance_type(config: Mapping[str, Any], variant_name: str) -> str | None:
    for variant in config.get("ProductionVariants", []):
        if variant.get("VariantName") == variant_name:
            return str(variant.get("InstanceType"))
    return None


def apply_settings(aws: Clients, settings: Settings) -> dict[str, Any]:
    """Roll today's endpoint settings out to the running endpoint: a config for the model it serves, then
    UpdateEndpoint; kept for the next IN_SERVICE while it is busy; nothing to do without an endpoint (the next
    approval creates it with these settings)."""
    sagemaker = aws.sagemaker
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint is None:
        return {"action": "ignored", "reason": f"no endpoint {settings.endpoint_name}; the next approval creates it"}
    status = endpoint["EndpointStatus"]
    if status in ("Deleting", "Failed"):
        return {"action": "ignored", "reason": f"endpoint {settings.endpoint_name} is {status}"}
    if status in BUSY_STATES:
        return _keep_settings(sagemaker, settings, endpoint)
    served = sagemaker.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
    model = next(
        str(v["ModelName"]) for v in served["ProductionVariants"] if v.get("VariantName") == settings.variant_name
    )
    name = config_name(settings, model, _live_count(settings, endpoint))
    if _same_settings(settings, endpoint["EndpointConfigName"], name):
        return {"action": "unchanged", "endpoint": settings.endpoint_name, "config": endpoint["EndpointConfigName"]}
    result = _update(aws, settings, endpoint, model, name)
    if result["action"] == "busy":
        return _keep_settings(sagemaker, settings, _describe_endpoint(sagemaker, settings.endpoint_name) or endpoint)
    return result


def _keep_settings(sagemaker: Client, settings: Settings, endpoint: Mapping[str, Any]) -> dict[str, Any]:
    sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=[{"Key": PENDING_SETTINGS_TAG, "Value": "true"}])
    return {
        "action": "queued",
        "endpoint": settings.endpoint_name,
        "reason": f"endpoint is {endpoint['EndpointStatus']}; the settings are applied when it is in service again",
    }


def _stack_deleting(aws: Clients, settings: Settings) -> bool:
    """True while CloudFormation deletes the stack (or it is gone): an endpoint created now would outlive it.
    DescribeStacks: https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html"""
    if aws.cloudformation is None or not settings.stack_id:
        return False
    try:
        [stack] = aws.cloudformation.describe_stacks(StackName=settings.stack_id)["Stacks"]
    except aws.cloudformation.exceptions.ClientError as error:
        if "does not exist" in str(error):
            return True
        raise
    return str(stack["StackStatus"]) in STACK_DELETING


def _tags(sagemaker: Client, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    request = {"ResourceArn": arn}
    while True:
        page = sagemaker.list_tags(**request)
        tags.update({tag["Key"]: tag["Value"] for tag in page["Tags"]})
        if not page.get("NextToken"):
            return tags
        request["NextToken"] = page["NextToken"]


def _is_marked(package: Mapping[str, Any]) -> bool:
    return bool((package.get("CustomerMetadataProperties") or {}).get(DEPLOYED_MARK) == "true")


def _mark_deployed(sagemaker: Client, package: Mapping[str, Any]) -> None:
    """The package's other properties are sent along: the reference does not say whether the map is merged or
    replaced, and either way they stay."""
    properties = {**(package.get("CustomerMetadataProperties") or {}), DEPLOYED_MARK: "true"}
    sagemaker.update_model_package(ModelPackageArn=package["ModelPackageArn"], CustomerMetadataProperties=properties)


def _unmark(sagemaker: Client, package_arn: str) -> None:
    sagemaker.update_model_package(ModelPackageArn=package_arn, CustomerMetadataPropertiesToRemove=[DEPLOYED_MARK])


def endpoint_config(settings: Settings, name: str, model: str, instance_count: int) -> dict[str, Any]:
    """One variant, encrypted volumes, and Data Capture of every request and response into the capture location."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": settings.variant_name,
                "ModelName": model,
                "InstanceType": settings.instance_type,
                "InitialInstanceCount": instance_count,
            }
        ],
        **({} if has_instance_storage(settings.instance_type) else {"KmsKeyId": settings.volume_key_arn}),
        "DataCaptureConfig": {
            "EnableCapture": True,
            "InitialSamplingPercentage": settings.capture_percent,
            "DestinationS3Uri": settings.capture_uri,
            "KmsKeyId": settings.capture_key_arn,
            "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            # Listed content types are stored as text, not base64, so the quality job can read them.
            "CaptureContentTypeHeader": {"CsvContentTypes": ["text/csv"], "JsonContentTypes": ["application/json"]},
        },
        "Tags": [{"Key": "kit:endpoint", "Value": settings.endpoint_name}],
    }


def tagged_config(settings: Settings, name: str, model: str, instance_count: int) -> dict[str, Any]:
    """The CreateEndpointConfig request with the kit's tags. They are not in `endpoint_config`, whose digest names
    the config: a changed tag is not a changed endpoint setting, and the names of configs already deployed stay."""
    request = endpoint_config(settings, name, model, instance_count)
    return {**request, "Tags": [*settings.tag_list(), *request["Tags"]]}


def has_instance_storage(instance_type: str) -> bool:
    """True for an ml.<family>.<size> type with local NVMe storage: a "d" in the family (m5d, g4dn) or a listed line."""
    family = instance_type.split(".")[1]
    return "d" in family or family.startswith(INSTANCE_STORE_FAMILY_PREFIXES)


def blue_green(settings: Settings) -> dict[str, Any]:
    """Shift all traffic to the new fleet, watch the error alarm for five minutes, roll back if it fires."""
    return {
        "BlueGreenUpdatePolicy": {
            "TrafficRoutingConfiguration": {"Type": "ALL_AT_ONCE", "WaitIntervalInSeconds": 0},
            "TerminationWaitInSeconds": 300,
            "MaximumExecutionTimeoutInSeconds": 3600,
        },
        "AutoRollbackConfiguration": {"Alarms": [{"AlarmName": settings.rollback_alarm}]},
    }


def endpoint_changed(aws: Clients, settings: Settings, event: Mapping[str, Any]) -> dict[str, Any]:
    """In service again: deploy the approval or settings that waited for it, else make sure scaling is registered."""
    name, status = _detail(event, "EndpointName", "EndpointStatus")
    if name != settings.endpoint_name:
        raise EventError(f"Field 'detail.EndpointName' is {name!r}; this function manages {settings.endpoint_name!r}.")
    notice = rolled_back(aws.sagemaker, settings, aws.notify) if status == "IN_SERVICE" else None
    result = None
    if status == "IN_SERVICE":
        result = deploy_pending(aws, settings)
        if result is not None and result["action"] in ("unchanged", "ignored"):
            result = None
    if result is None:
        result = ensure_scaling(aws.autoscaling, settings, status)
        if status == "IN_SERVICE" and not settings.scales:
            # Scaling turned off by a settings change (maximum = count): the target registered under the old settings
            # would go on resizing the variant between its old bounds.
            dropped = deregister_scaling(aws.autoscaling, settings.endpoint_name)
            if dropped:
                result = {"action": "deregistered", "endpoint": settings.endpoint_name, "scalable_targets": dropped}
    if notice is not None:
        result = {**result, "notice": "\n\n".join(filter(None, [notice, result.get("notice")]))}
    return result


def rolled_back(sagemaker: Client, settings: Settings, notify: Notify = _quiet) -> str | None:
    """The notice for an update that ended on another config than the one asked for (SageMaker rolled it back)."""
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint is None:
        return None
    wanted = _tags(sagemaker, endpoint["EndpointArn"]).get(UPDATING_TAG)
    if wanted is None:
        return None
    notice = None
    if endpoint["EndpointConfigName"] != wanted:
        notice = (
            f"The update of {settings.endpoint_name} to {wanted} was rolled back: the endpoint serves "
            f"{endpoint['EndpointConfigName']} again. Reason: {endpoint.get('FailureReason') or 'none given'}. "
            f"First: look at the {settings.rollback_alarm} alarm and the new model's logs "
            f"(/aws/sagemaker/Endpoints/{settings.endpoint_name})."
        )
        notify(notice)
    sagemaker.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[UPDATING_TAG])
    return notice


def ensure_scaling(autoscaling: Client, settings: Settings, status: str) -> dict[str, Any]:
    """Target tracking on invocations per instance, registered once the endpoint is in service (idempotent)."""
    name = settings.endpoint_name
    if status != "IN_SERVICE" or not settings.scales:
        return {"action": "ignored", "reason": f"status {status}, maximum {settings.max_instances} instance(s)"}
    autoscaling.register_scalable_target(
        ServiceNamespace="sagemaker",
        ResourceId=settings.scaling_resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        MinCapacity=settings.instance_count,
        MaxCapacity=settings.max_instances,
    )
    autoscaling.put_scaling_policy(
        PolicyName=f"{settings.endpoint_name}-invocations",
        ServiceNamespace="sagemaker",
        ResourceId=settings.scaling_resource_id,
        ScalableDimension=SCALABLE_DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(settings.invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300,
            "ScaleOutCooldown": 60,
        },
    )
    return {"action": "scaling", "endpoint": name, "min": settings.instance_count, "max": settings.max_instances}


def _rescale(aws: Clients, settings: Settings) -> dict[str, Any]:
    """Today's scaling settings on an endpoint in service: registered again, or deregistered when scaling is off."""
    if settings.scales:
        return ensure_scaling(aws.autoscaling, settings, "IN_SERVICE")
    return {"action": "deregistered", "scalable_targets": deregister_scaling(aws.autoscaling, settings.endpoint_name)}


def teardown(sagemaker: Client, autoscaling: Client, settings: Settings) -> dict[str, Any]:
    """One step of deleting what deploy() created; the caller calls again until it answers "deleted".

    "waiting": a training pipeline execution is still running (it was asked to stop), or the endpoint is busy
    (DeleteEndpoint would be refused) or still being deleted; "deleting": the scaling
    targets are deregistered and DeleteEndpoint was accepted; "deleted": the endpoint is gone and so are the configs,
    models and (DELETE_MODEL_PACKAGES) the group's packages."""
    running = stop_pipeline_executions(sagemaker, settings.pipeline_name)
    if running:
        return {"action": "waiting", "reason": f"pipeline executions still running: {', '.join(running)}"}
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint and endpoint["EndpointStatus"] in WAIT_BEFORE_DELETE:
        return {"action": "waiting", "reason": f"endpoint {settings.endpoint_name} is {endpoint['EndpointStatus']}"}
    targets = deregister_scaling(autoscaling, settings.endpoint_name)
    if endpoint:
        sagemaker.delete_endpoint(EndpointName=settings.endpoint_name)
        return {"action": "deleting", "endpoint": [settings.endpoint_name], "scalable_targets": targets}
    deleted: dict[str, list[str]] = {
        "scalable_targets": targets,
        "endpoint_configs": [],
        "models": [],
        "model_packages": [],
    }
    prefix = f"{settings.endpoint_name}-v"
    for page in sagemaker.get_paginator("list_endpoint_configs").paginate(NameContains=prefix):
        for config in page["EndpointConfigs"]:
            if config["EndpointConfigName"].startswith(prefix):
                sagemaker.delete_endpoint_config(EndpointConfigName=config["EndpointConfigName"])
                deleted["endpoint_configs"].append(config["EndpointConfigName"])
    for page in sagemaker.get_paginator("list_models").paginate(NameContains=prefix):
        for model in page["Models"]:
            if model["ModelName"].startswith(prefix):
                sagemaker.delete_model(ModelName=model["ModelName"])
                deleted["models"].append(model["ModelName"])
    if settings.delete_model_packages:
        for page in sagemaker.get_paginator("list_model_packages").paginate(
            ModelPackageGroupName=settings.model_package_group
        ):
            for package in page["ModelPackageSummaryList"]:
                sagemaker.delete_model_package(ModelPackageName=package["ModelPackageArn"])
                deleted["model_packages"].append(package["ModelPackageArn"])
    return {"action": "deleted", **deleted}


def stop_pipeline_executions(sagemaker: Client, pipeline_name: str) -> list[str]:
    """Ask every running execution of the training pipeline to stop; returns those still running.

    DeletePipeline refuses a pipeline with running executions and StopPipelineExecution is the way to end them
    (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeletePipeline.html); a stopped execution goes
    through Stopping to Stopped (PipelineExecutionStatus,
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_PipelineExecutionSummary.html). A pipeline that
    is already gone (ResourceNotFound) has none."""
    if not pipeline_name:
        return []
    running: list[str] = []
    request: dict[str, Any] = {"PipelineName": pipeline_name}
    while True:
        try:
            page = sagemaker.list_pipeline_executions(**request)
        except sagemaker.exceptions.ResourceNotFound:
            return running
        for execution in page.get("PipelineExecutionSummaries", []):
            if execution.get("PipelineExecutionStatus") not in RUNNING_EXECUTIONS:
                continue
            arn = str(execution["PipelineExecutionArn"])
            if execution["PipelineExecutionStatus"] == "Executing":
                try:
                    # ClientRequestToken: one token per execution, so a repeated stop is the same request.
                    sagemaker.stop_pipeline_execution(
                        PipelineExecutionArn=arn, ClientRequestToken=hashlib.sha256(arn.encode()).hexdigest()[:64]
                    )
                except sagemaker.exceptions.ConflictException:
                    pass  # already stopping or ended meanwhile: the next step looks again
            running.append(arn)
        if not page.get("NextToken"):
            return running
        request["NextToken"] = page["NextToken"]


def deregister_scaling(autoscaling: Client, endpoint_name: str) -> list[str]:
    """Deregister every scalable target of the endpoint's variants, whichever settings registered it.

    DescribeScalableTargets filters ResourceIds by exact id only, so the namespace's targets are listed and matched
    on `endpoint/<name>/variant/` (the variant's resource id:
    https://docs.aws.amazon.com/autoscaling/application/APIReference/API_ScalableTarget.html). A target already
    gone (ObjectNotFoundException) is what teardown wants."""
    prefix = f"endpoint/{endpoint_name}/variant/"
    targets = [
        target
        for page in autoscaling.get_paginator("describe_scalable_targets").paginate(ServiceNamespace="sagemaker")
        for target in page["ScalableTargets"]
        if target["ResourceId"].startswith(prefix)
    ]
    deregistered = []
    for target in targets:
        try:
            autoscaling.deregister_scalable_target(
                ServiceNamespace="sagemaker",
                ResourceId=target["ResourceId"],
                ScalableDimension=target["ScalableDimension"],
            )
        except autoscaling.exceptions.ObjectNotFoundException:
            pass
        deregistered.append(f"{target['ResourceId']} {target['ScalableDimension']}")
    return deregistered


def _describe_endpoint(sagemaker: Client, name: str) -> dict[str, Any] | None:
    try:
        endpoint: dict[str, Any] = sagemaker.describe_endpoint(EndpointName=name)
        return endpoint
    except sagemaker.exceptions.ClientError as error:
        if "Could not find endpoint" in str(error):
            return None
        raise


def _create_once(create: Callable[..., Any], **request: Any) -> None:
    """Create, or accept that a retry of this event already did."""
    try:
        create(**request)
    except Exception as error:  # botocore's ClientError, without importing botocore
        if "already existing" not in str(error) and "already exists" not in str(error):
            raise


def on_stack_event(aws: Clients, settings: Settings, event: Mapping[str, Any]) -> dict[str, Any]:
    """The endpoint's custom resource, as the Provider framework's onEvent and isComplete handler. Create and Update
    (its properties are the endpoint settings, so a changed setting sends an Update) apply the settings to the
    running endpoint; on Delete each call runs one teardown step. The answer carries both fields the framework reads
    (PhysicalResourceId from onEvent, IsComplete from isComplete), so one function serves both; a raised error fails
    the stack event with its reason (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html).
    The framework calls isComplete with the event and onEvent's answer merged (createResponseEvent in
    aws-cdk-lib/custom-resources/lib/provider-framework/runtime/framework.js): its Data says the settings were
    applied, so isComplete does not apply them again."""
    request = event["RequestType"]
    if request not in ("Create", "Update", "Delete"):
        raise EventError(f"Field 'RequestType' is {request!r}; expected Create, Update or Delete.")
    physical_id = event.get("PhysicalResourceId") or f"{settings.endpoint_name}-teardown"
    if request != "Delete":
        if "SettingsAction" in (event.get("Data") or {}):
            return {"PhysicalResourceId": physical_id, "IsComplete": True}
        settings = _from_properties(settings, event.get("ResourceProperties", {}).get("EndpointSettings") or {})
        applied = apply_settings(aws, settings)
        if applied["action"] == "unchanged":  # scaling settings are not in the config: register them now
            applied = {**applied, "scaling": _rescale(aws, settings)}
        print(applied)
        return {"PhysicalResourceId": physical_id, "IsComplete": True, "Data": {"SettingsAction": applied["action"]}}
    step = teardown(aws.sagemaker, aws.autoscaling, settings)
    print(step)
    return {"PhysicalResourceId": physical_id, "IsComplete": step["action"] == "deleted"}


def _from_properties(settings: Settings, properties: Mapping[str, str]) -> Settings:
    """The endpoint settings the stack event carries (the same names as the environment's). They, not the
    environment, are what this event asks for: in a rolled-back stack update CloudFormation sends the resource its
    old properties before it restores the function's old environment (the resource depends on the function)."""
    return replace(
        settings,
        instance_type=properties.get("INSTANCE_TYPE", settings.instance_type),
        instance_count=int(properties.get("INSTANCE_COUNT", settings.instance_count)),
        max_instances=int(properties.get("MAX_INSTANCES", settings.max_instances)),
        invocations_per_instance=int(properties.get("INVOCATIONS_PER_INSTANCE", settings.invocations_per_instance)),
        capture_uri=properties.get("CAPTURE_URI", settings.capture_uri),
        capture_percent=int(properties.get("CAPTURE_PERCENT", settings.capture_percent)),
        capture_key_arn=properties.get("CAPTURE_KEY_ARN", settings.capture_key_arn),
        volume_key_arn=properties.get("VOLUME_KEY_ARN", settings.volume_key_arn),
    )


def on_kit_action(aws: Clients, settings: Settings, event: Mapping[str, Any]) -> dict[str, Any]:
    """A direct invocation: `{"kit-action": "teardown"}` runs one teardown step and answers what it did."""
    action = event[KIT_ACTION]
    if action != "teardown":
        raise EventError(f"Field {KIT_ACTION!r} is {action!r}; expected 'teardown'.")
    return teardown(aws.sagemaker, aws.autoscaling, settings)


def _publisher(sns: Client, settings: Settings) -> Notify:
    def notify(message: str) -> None:
        # Publish: https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (Subject: at most 100 characters).
        sns.publish(
            TopicArn=settings.topic_arn,
            Subject=f"Churn endpoint {settings.endpoint_name}: deployment notice"[:100],
            Message=message,
        )

    return notify


def dispatch(
    event: Any,
    settings: Settings,
    sagemaker: Client,
    autoscaling: Client,
    sns: Client = None,
    cloudformation: Client = None,
) -> dict[str, Any]:
    """Handle the event; notices (failures that would stay silent) are published to the topic when `sns` is given;
    `cloudformation` tells whether the stack is being deleted (None: not asked)."""
    aws = Clients(sagemaker, autoscaling, cloudformation, _publisher(sns, settings) if sns is not None else _quiet)
    if not isinstance(event, dict):
        raise EventError(f"The event must be a JSON object, not {type(event).__name__}.")
    if "RequestType" in event:
        return on_stack_event(aws, settings, event)
    if KIT_ACTION in event:
        return on_kit_action(aws, settings, event)
    detail_type = event.get("detail-type")
    if detail_type == MODEL_PACKAGE_CHANGE:
        return deploy(aws, settings, event)
    if detail_type == ENDPOINT_CHANGE:
        return endpoint_changed(aws, settings, event)
    raise EventError(
        f"Field 'detail-type' is {detail_type!r}; expected {MODEL_PACKAGE_CHANGE!r}, "
        f"{ENDPOINT_CHANGE!r}, a CloudFormation custom-resource event (RequestType) or {KIT_ACTION!r}."
    )


def handler(event: Any, _context: Any) -> dict[str, Any]:
    import boto3

    result = dispatch(
        event,
        Settings.from_env(os.environ),
        boto3.client("sagemaker"),
        boto3.client("application-autoscaling"),
        boto3.client("sns"),
        boto3.client("cloudformation"),
    )
    print(result)
    return result
