"""Deploys approved churn models to one real-time endpoint with Data Capture; scales it; tears it down.

Events (EventBridge, asynchronous; failures go to the function's dead-letter queue):
- "SageMaker Model Package State Change" of the group: a package whose approval status *changed to* Approved and
  that is Completed gets model `<endpoint>-v<N>` and endpoint config `<endpoint>-v<N>` (Data Capture of inputs and
  outputs, KMS, content-type headers so payloads stay readable), then the endpoint is created or updated
  blue/green with automatic rollback on the error alarm. A model that fails to deploy leaves the previous one
  serving. The event carries no previous status (SageMaker sends one for metadata edits too), so the function
  tags each package it deployed (`kit:deployed-approval`) and removes the tag when the package leaves Approved:
  an edit of an approved package changes nothing; approving it again (after Rejected or PendingManualApproval)
  deploys it again, which is how to roll back deliberately.
- An approval that arrives while the endpoint is updating is kept on the endpoint (`kit:pending-package` tag) and
  deployed on the endpoint's next IN_SERVICE event, however long the update takes. A kept package that leaves
  Approved before then is dropped, with a notice on the topic (TOPIC_ARN).
- "SageMaker Endpoint State Change" to IN_SERVICE: report an update SageMaker rolled back (the endpoint serves
  another config than the one the function asked for, `kit:updating-to` tag), deploy a pending package, register
  target-tracking auto scaling (when configured). An endpoint that ends FAILED or UPDATE_ROLLBACK_FAILED is
  reported by a rule of the stack, not here.
- CloudFormation custom-resource events of the teardown resource (through the CDK Provider framework, as its
  onEvent and its isComplete handler): on Delete, one teardown step per call until the endpoint is gone, then the
  configs and models this function created and (when DELETE_MODEL_PACKAGES is true) the group's model packages.
  An error fails the stack deletion with its message.
- `{"kit-action": "teardown"}` (invoked directly, e.g. by `make smoke`'s cleanup): the same teardown step; call it
  again until it answers `"action": "deleted"`.

Teardown waits out Creating/Updating (DeleteEndpoint is refused then), deregisters every scalable target of the
endpoint's variants (whatever settings registered them), deletes the endpoint, and reports "deleted" only once
DescribeEndpoint no longer finds it: the model role and key stay until then.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Mapping

# A boto3 client: boto3 carries no types, and the handler imports it only at run time.
Client = Any
# Sends a notice to the topic; called before the state that prompted it is forgotten, so a failed send is retried.
Notify = Callable[[str], None]


def _quiet(_message: str) -> None:
    """No topic (tests of the decisions alone): the notice is in the result only."""


MODEL_PACKAGE_CHANGE = "SageMaker Model Package State Change"
ENDPOINT_CHANGE = "SageMaker Endpoint State Change"
DEPLOYED_TAG = "kit:deployed-approval"
PENDING_TAG = "kit:pending-package"
UPDATING_TAG = "kit:updating-to"
BUSY_STATES = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting", "UpdateRollbackFailed")
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
# DeleteEndpoint refuses an endpoint in these states; teardown waits them out (a blue/green update ends in
# InService or rolls back; https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeEndpoint.html).
WAIT_BEFORE_DELETE = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")
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
        )

    @property
    def scaling_resource_id(self) -> str:
        return f"endpoint/{self.endpoint_name}/variant/{self.variant_name}"


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


def deploy(sagemaker: Client, settings: Settings, event: Mapping[str, Any], notify: Notify = _quiet) -> dict[str, Any]:
    """Serve the package of the event if its approval just changed to Approved; returns what it did."""
    package_arn, group, _ = _detail(event, "ModelPackageArn", "ModelPackageGroupName", "ModelApprovalStatus")
    if group != settings.model_package_group:
        raise EventError(
            f"Field 'detail.ModelPackageGroupName' is {group!r}; this function deploys "
            f"{settings.model_package_group!r} only."
        )
    # The package as it is now: events can arrive late or out of order.
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    deployed = _tags(sagemaker, package_arn).get(DEPLOYED_TAG) == "true"
    approval = package.get("ModelApprovalStatus", "PendingManualApproval")
    if approval != "Approved":
        if deployed:  # approving it again later is a new approval
            sagemaker.delete_tags(ResourceArn=package_arn, TagKeys=[DEPLOYED_TAG])
            dropped = _drop_pending(sagemaker, settings, package_arn, package["ModelPackageVersion"], approval, notify)
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
    if endpoint and endpoint["EndpointStatus"] in BUSY_STATES:
        sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=[{"Key": PENDING_TAG, "Value": package_arn}])
        _mark_deployed(sagemaker, package_arn)
        return {
            "action": "queued",
            "endpoint": settings.endpoint_name,
            "package": package_arn,
            "reason": f"endpoint is {endpoint['EndpointStatus']}; deployed when it is in service again",
        }
    result = _serve(sagemaker, settings, package_arn, package["ModelPackageVersion"], endpoint)
    _mark_deployed(sagemaker, package_arn)
    return result


def deploy_pending(sagemaker: Client, settings: Settings, notify: Notify = _quiet) -> dict[str, Any] | None:
    """Deploy the approval kept while the endpoint was busy, if any (the endpoint is in service now)."""
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint is None or endpoint["EndpointStatus"] in BUSY_STATES:
        return None
    package_arn = _tags(sagemaker, endpoint["EndpointArn"]).get(PENDING_TAG)
    if not package_arn:
        return None
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    version, approval = package["ModelPackageVersion"], package.get("ModelApprovalStatus", "PendingManualApproval")
    if approval != "Approved":  # its change event may not have arrived yet: never serve what is no longer approved
        return _drop_pending(sagemaker, settings, package_arn, version, approval, notify)
    result = _serve(sagemaker, settings, package_arn, version, endpoint)
    sagemaker.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[PENDING_TAG])
    return result


def _drop_pending(
    sagemaker: Client, settings: Settings, package_arn: str, version: int, approval: str, notify: Notify
) -> dict[str, Any] | None:
    """Forget the package kept for deployment if it is this one; the notice says so (it was expected to go live)."""
    endpoint = _describe_endpoint(sagemaker, settings.endpoint_name)
    if endpoint is None or _tags(sagemaker, endpoint["EndpointArn"]).get(PENDING_TAG) != package_arn:
        return None
    notice = (
        f"Churn model version {version} ({package_arn}) was waiting to be deployed to {settings.endpoint_name} "
        f"and is now {approval}: it will not be deployed. The endpoint keeps serving "
        f"{endpoint['EndpointConfigName']}. To deploy a version, approve it (again)."
    )
    notify(notice)
    sagemaker.delete_tags(ResourceArn=endpoint["EndpointArn"], TagKeys=[PENDING_TAG])
    return {"action": "dropped", "package": package_arn, "notice": notice}


def _serve(
    sagemaker: Client, settings: Settings, package_arn: str, version: int, endpoint: dict[str, Any] | None
) -> dict[str, Any]:
    name = f"{settings.endpoint_name}-v{version}"
    if endpoint and endpoint["EndpointConfigName"] == name:
        return {"action": "unchanged", "endpoint": settings.endpoint_name, "config": name}
    if endpoint and endpoint["EndpointStatus"] == "Failed":
        raise EndpointBusy(
            f"Endpoint {settings.endpoint_name} is Failed ({endpoint.get('FailureReason', '')}); "
            "delete it, then approve the model package again to create it."
        )
    _create_once(
        sagemaker.create_model,
        ModelName=name,
        ExecutionRoleArn=settings.model_role_arn,
        Containers=[{"ModelPackageName": package_arn}],
        EnableNetworkIsolation=True,
        Tags=[{"Key": "kit:endpoint", "Value": settings.endpoint_name}],
    )
    _create_once(sagemaker.create_endpoint_config, **endpoint_config(settings, name))
    if endpoint is None:
        sagemaker.create_endpoint(
            EndpointName=settings.endpoint_name,
            EndpointConfigName=name,
            Tags=[{"Key": "kit:endpoint", "Value": settings.endpoint_name}],
        )
        return {"action": "created", "endpoint": settings.endpoint_name, "config": name}
    sagemaker.update_endpoint(
        EndpointName=settings.endpoint_name, EndpointConfigName=name, DeploymentConfig=blue_green(settings)
    )
    # What was asked for: a rollback ends IN_SERVICE on the previous config, an event that looks like success.
    sagemaker.add_tags(ResourceArn=endpoint["EndpointArn"], Tags=[{"Key": UPDATING_TAG, "Value": name}])
    return {
        "action": "updated",
        "endpoint": settings.endpoint_name,
        "config": name,
        "previous_config": endpoint["EndpointConfigName"],
    }


def _tags(sagemaker: Client, arn: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    request = {"ResourceArn": arn}
    while True:
        page = sagemaker.list_tags(**request)
        tags.update({tag["Key"]: tag["Value"] for tag in page["Tags"]})
        if not page.get("NextToken"):
            return tags
        request["NextToken"] = page["NextToken"]


def _mark_deployed(sagemaker: Client, package_arn: str) -> None:
    sagemaker.add_tags(ResourceArn=package_arn, Tags=[{"Key": DEPLOYED_TAG, "Value": "true"}])


def endpoint_config(settings: Settings, name: str) -> dict[str, Any]:
    """One variant, encrypted volumes, and Data Capture of every request and response into the capture location."""
    return {
        "EndpointConfigName": name,
        "ProductionVariants": [
            {
                "VariantName": settings.variant_name,
                "ModelName": name,
                "InstanceType": settings.instance_type,
                "InitialInstanceCount": settings.instance_count,
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


def endpoint_changed(
    sagemaker: Client, autoscaling: Client, settings: Settings, event: Mapping[str, Any], notify: Notify = _quiet
) -> dict[str, Any]:
    """In service again: deploy the approval that waited for it, else make sure scaling is registered."""
    name, status = _detail(event, "EndpointName", "EndpointStatus")
    if name != settings.endpoint_name:
        raise EventError(f"Field 'detail.EndpointName' is {name!r}; this function manages {settings.endpoint_name!r}.")
    notice = rolled_back(sagemaker, settings, notify) if status == "IN_SERVICE" else None
    result = None
    if status == "IN_SERVICE":
        result = deploy_pending(sagemaker, settings, notify)
    if result is None:
        result = ensure_scaling(autoscaling, settings, status)
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
    if status != "IN_SERVICE" or settings.max_instances <= settings.instance_count:
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


def teardown(sagemaker: Client, autoscaling: Client, settings: Settings) -> dict[str, Any]:
    """One step of deleting what deploy() created; the caller calls again until it answers "deleted".

    "waiting": the endpoint is busy (DeleteEndpoint would be refused) or still being deleted; "deleting": the scaling
    targets are deregistered and DeleteEndpoint was accepted; "deleted": the endpoint is gone and so are the configs,
    models and (DELETE_MODEL_PACKAGES) the group's packages."""
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


def on_stack_event(
    sagemaker: Client, autoscaling: Client, settings: Settings, event: Mapping[str, Any]
) -> dict[str, Any]:
    """The teardown custom resource, as the Provider framework's onEvent and isComplete handler: on Delete each call
    runs one teardown step. The answer carries both fields the framework reads (PhysicalResourceId from onEvent,
    IsComplete from isComplete), so one function serves both; a raised error fails the stack event with its reason
    (https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.custom_resources-readme.html)."""
    request = event["RequestType"]
    if request not in ("Create", "Update", "Delete"):
        raise EventError(f"Field 'RequestType' is {request!r}; expected Create, Update or Delete.")
    physical_id = event.get("PhysicalResourceId") or f"{settings.endpoint_name}-teardown"
    if request != "Delete":
        return {"PhysicalResourceId": physical_id, "IsComplete": True}
    step = teardown(sagemaker, autoscaling, settings)
    print(step)
    return {"PhysicalResourceId": physical_id, "IsComplete": step["action"] == "deleted"}


def on_kit_action(
    sagemaker: Client, autoscaling: Client, settings: Settings, event: Mapping[str, Any]
) -> dict[str, Any]:
    """A direct invocation: `{"kit-action": "teardown"}` runs one teardown step and answers what it did."""
    action = event[KIT_ACTION]
    if action != "teardown":
        raise EventError(f"Field {KIT_ACTION!r} is {action!r}; expected 'teardown'.")
    return teardown(sagemaker, autoscaling, settings)


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
    event: Any, settings: Settings, sagemaker: Client, autoscaling: Client, sns: Client = None
) -> dict[str, Any]:
    """Handle the event; notices (failures that would stay silent) are published to the topic when `sns` is given."""
    notify = _publisher(sns, settings) if sns is not None else _quiet
    if not isinstance(event, dict):
        raise EventError(f"The event must be a JSON object, not {type(event).__name__}.")
    if "RequestType" in event:
        return on_stack_event(sagemaker, autoscaling, settings, event)
    if KIT_ACTION in event:
        return on_kit_action(sagemaker, autoscaling, settings, event)
    detail_type = event.get("detail-type")
    if detail_type == MODEL_PACKAGE_CHANGE:
        return deploy(sagemaker, settings, event, notify)
    if detail_type == ENDPOINT_CHANGE:
        return endpoint_changed(sagemaker, autoscaling, settings, event, notify)
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
    )
    print(result)
    return result
