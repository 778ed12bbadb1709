"""Churn: start the pipeline -> package registered -> approved -> endpoint in service -> invoke with an
InferenceId -> that record appears in the model-quality capture location."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tools.cost.estimate import PriceTable
from tools.smoke.core import Clients, Run, StepFailed, list_keys, read_outputs, split_s3_uri, wait_for

STACK = "ChurnModelStack"
# The stack outputs this path reads; a test checks that the synthesized stack has each.
OUTPUTS = ("PipelineName", "EndpointName", "CaptureUri", "DeployerFunctionName")
VARIANT = "AllTraffic"


@dataclass(frozen=True)
class Settings:
    """Bounded waits (seconds)."""

    pipeline_timeout: float = 90 * 60
    pipeline_poll: float = 60
    endpoint_timeout: float = 30 * 60
    endpoint_poll: float = 30
    capture_timeout: float = 10 * 60
    capture_poll: float = 30
    # An endpoint still Creating waits for its outcome before it can be deleted (up to ~an hour when it fails).
    teardown_timeout: float = 75 * 60
    teardown_poll: float = 30


def feature_row() -> str:
    """One request row: as many numeric columns as the model's features (all zero: a valid, boring customer)."""
    from spark_jobs.churn.preprocess import FEATURES

    return ",".join("0" for _ in FEATURES)


def run_churn(
    run: Run,
    clients: Clients,
    region: str,
    prices: PriceTable,
    settings: Settings = Settings(),
    request_row: str | None = None,
    *,
    stack: str = STACK,
) -> None:
    outputs = run.step(
        "stack outputs",
        lambda: read_outputs(clients("cloudformation"), stack, region),
        lambda o: f"{len(o.outputs)} outputs of {stack}",
    )
    sagemaker = clients("sagemaker")
    endpoint_name = outputs["EndpointName"]
    endpoint_before = _describe_endpoint(sagemaker, endpoint_name)

    # StartPipelineExecution needs a ClientRequestToken (idempotency):
    # https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_StartPipelineExecution.html
    token = uuid.uuid4().hex
    execution_arn = run.step(
        "start pipeline",
        lambda: sagemaker.start_pipeline_execution(
            PipelineName=outputs["PipelineName"],
            PipelineExecutionDisplayName=f"kit-smoke-{token[:12]}",
            ClientRequestToken=token,
        )["PipelineExecutionArn"],
        lambda arn: arn.rsplit("/", 1)[-1],
    )

    def finished() -> dict | None:
        execution = sagemaker.describe_pipeline_execution(PipelineExecutionArn=execution_arn)
        return None if execution["PipelineExecutionStatus"] in ("Executing", "Stopping") else execution

    steps = run.step(
        "pipeline succeeded",
        lambda: _succeeded(
            sagemaker,
            wait_for(
                finished,
                what="pipeline execution",
                timeout=settings.pipeline_timeout,
                interval=settings.pipeline_poll,
                clock=run.clock,
            ),
        ),
        lambda s: f"{len(s)} steps: " + ", ".join(sorted(step["StepName"] for step in s)),
    )
    run.estimate(lambda: _charge_pipeline(run, sagemaker, prices, steps))

    package = run.step(
        "package registered",
        lambda: _registered_package(sagemaker, steps),
        lambda p: f"version {p['ModelPackageVersion']} ({p['ModelApprovalStatus']})",
    )
    run.step("package approved", lambda: _approve(sagemaker, package), lambda text: text)
    approved_at = run.clock.monotonic()
    if endpoint_before is None:
        run.on_cleanup(f"endpoint {endpoint_name}", lambda: _teardown(clients("lambda"), outputs, run, settings))
    else:
        run.skip("endpoint created", f"{endpoint_name} existed before the smoke test; it is updated, not deleted")

    # The deployer names a version's model <endpoint>-v<N> and its configs <model>-<settings digest>-<count>.
    model_name = f"{endpoint_name}-v{package['ModelPackageVersion']}"

    def in_service() -> dict | None:
        endpoint = _describe_endpoint(sagemaker, endpoint_name)
        if endpoint is None or not endpoint["EndpointConfigName"].startswith(f"{model_name}-"):
            return None
        if endpoint["EndpointStatus"] == "Failed":
            raise StepFailed(f"endpoint {endpoint_name} failed: {endpoint.get('FailureReason', '')}")
        return endpoint if endpoint["EndpointStatus"] == "InService" else None

    served = run.step(
        "endpoint in service",
        lambda: wait_for(
            in_service,
            what=f"endpoint {endpoint_name} with model {model_name}",
            timeout=settings.endpoint_timeout,
            interval=settings.endpoint_poll,
            clock=run.clock,
        ),
        lambda e: f"{endpoint_name} serves {e['EndpointConfigName']}",
    )
    config_name = served["EndpointConfigName"]
    run.step("deployed mark on the package", lambda: _deployed_mark(sagemaker, package["ModelPackageArn"]), lambda t: t)
    if endpoint_before is None:
        run.skip("update kept the instance count", "the endpoint was created by this run: there was no update")
    else:
        run.step(
            "update kept the instance count",
            lambda: _kept_count(sagemaker, endpoint_before, config_name),
            lambda text: text,
        )

    inference_id = f"kit-smoke-{uuid.uuid4().hex}"
    invoked_at = run.clock.wall()
    runtime = clients("sagemaker-runtime")
    row = request_row if request_row is not None else feature_row()
    run.step(
        "invoke with InferenceId",
        lambda: _invoke(runtime, endpoint_name, row, inference_id),
        lambda score: f"{inference_id} scored {score:.3f}",
    )

    s3 = clients("s3")
    bucket, prefix = split_s3_uri(outputs["CaptureUri"])
    # Data Capture writes {DestinationS3Uri}/{endpoint}/{variant}/yyyy/mm/dd/hh/*.jsonl, one JSON object per line,
    # with eventMetadata.inferenceId when the caller passed one:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/model-monitor-data-capture.html
    hours = [
        f"{prefix}/{endpoint_name}/{VARIANT}/{moment:%Y/%m/%d/%H}/".lstrip("/")
        for moment in (invoked_at, invoked_at + timedelta(hours=1))
    ]

    def captured() -> str | None:
        for hour in hours:
            for key in list_keys(s3, bucket, hour):
                for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines():
                    if line.strip() and json.loads(line).get("eventMetadata", {}).get("inferenceId") == inference_id:
                        return key
        return None

    run.step(
        "record in capture location",
        lambda: wait_for(
            captured,
            what=f"capture of {inference_id}",
            timeout=settings.capture_timeout,
            interval=settings.capture_poll,
            clock=run.clock,
        ),
        lambda key: f"s3://{bucket}/{key}",
    )
    run.estimate(
        lambda: _charge_endpoint(
            run, sagemaker, prices, config_name, run.clock.monotonic() - approved_at, created=endpoint_before is None
        )
    )


def _describe_endpoint(sagemaker: Any, name: str) -> dict | None:
    """DescribeEndpoint answers ValidationException "Could not find endpoint" when there is none."""
    try:
        return sagemaker.describe_endpoint(EndpointName=name)
    except sagemaker.exceptions.ClientError as error:
        if "Could not find endpoint" in str(error):
            return None
        raise


# The deployer's mark of a deployed approval: a CustomerMetadataProperties key of the package version
# (lambdas/churn_endpoint/deployer.py, DEPLOYED_MARK; UpdateModelPackage/DescribeModelPackage:
# https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DescribeModelPackage.html).
DEPLOYED_MARK = "kit:deployed-approval"


def _deployed_mark(sagemaker: Any, package_arn: str) -> str:
    """The deployer marked the package it deployed where DescribeModelPackage returns it."""
    package = sagemaker.describe_model_package(ModelPackageName=package_arn)
    value = (package.get("CustomerMetadataProperties") or {}).get(DEPLOYED_MARK)
    if value != "true":
        raise StepFailed(f"model package {package_arn} carries no {DEPLOYED_MARK} mark (CustomerMetadataProperties)")
    return f"{DEPLOYED_MARK}=true on version {package['ModelPackageVersion']}"


def _kept_count(sagemaker: Any, before: dict, config_name: str) -> str:
    """The new config starts with the instance count the variant had before the update (what auto scaling had
    reached), so a deployment does not shrink the fleet (issue 31)."""
    desired = next(
        (int(v["DesiredInstanceCount"]) for v in before.get("ProductionVariants", []) if v["VariantName"] == VARIANT),
        None,
    )
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    if desired is not None and variant["InitialInstanceCount"] != desired:
        raise StepFailed(
            f"{config_name} starts with {variant['InitialInstanceCount']} instance(s); "
            f"the variant had {desired} before the update"
        )
    return f"{variant['InitialInstanceCount']} instance(s) before and after"


def _succeeded(sagemaker: Any, execution: dict) -> list[dict]:
    """The run's steps; a failed run names its failed steps and their reasons."""
    steps = sagemaker.list_pipeline_execution_steps(PipelineExecutionArn=execution["PipelineExecutionArn"])[
        "PipelineExecutionSteps"
    ]
    if execution["PipelineExecutionStatus"] != "Succeeded":
        failed = "; ".join(
            f"{s['StepName']}: {s.get('FailureReason', '')}" for s in steps if s.get("StepStatus") == "Failed"
        )
        raise StepFailed(
            f"pipeline {execution['PipelineExecutionStatus']}: "
            f"{failed or execution.get('FailureReason', 'no reason given')}"
        )
    return steps


def _registered_package(sagemaker: Any, steps: list[dict]) -> dict:
    arns = [s["Metadata"]["RegisterModel"]["Arn"] for s in steps if "RegisterModel" in s.get("Metadata", {})]
    if not arns:
        raise StepFailed("the pipeline registered no model package (no RegisterModel step ran)")
    return sagemaker.describe_model_package(ModelPackageName=arns[0])


def _approve(sagemaker: Any, package: dict) -> str:
    """Approve a package that waits for review (sandbox approves on registration: churn_auto_approve).
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_UpdateModelPackage.html"""
    status = package["ModelApprovalStatus"]
    if status == "Approved":
        return "approved on registration"
    if status != "PendingManualApproval":
        raise StepFailed(f"model package {package['ModelPackageArn']} is {status}")
    sagemaker.update_model_package(
        ModelPackageArn=package["ModelPackageArn"],
        ModelApprovalStatus="Approved",
        ApprovalDescription="Approved by the kit's smoke test",
    )
    return "approved by the smoke test"


def _invoke(runtime: Any, endpoint_name: str, row: str, inference_id: str) -> float:
    """InvokeEndpoint with InferenceId, which Data Capture records as eventMetadata.inferenceId.
    https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html"""
    response = runtime.invoke_endpoint(
        EndpointName=endpoint_name,
        Body=row.encode(),
        ContentType="text/csv",
        Accept="text/csv",
        InferenceId=inference_id,
    )
    text = response["Body"].read().decode().strip()
    try:
        score = float(text.split(",")[0])
    except ValueError:
        raise StepFailed(f"the endpoint answered {text[:200]!r}, not a score") from None
    if not 0.0 <= score <= 1.0:
        raise StepFailed(f"the endpoint answered {score}, not a probability")
    return score


def _teardown(lambda_client: Any, outputs: Any, run: Run, settings: Settings) -> str:
    """The deployer's own teardown (what stack deletion runs), one step per invocation until it answers "deleted":
    it waits out Creating/Updating, deregisters scaling, deletes the endpoint, waits until it is gone, then deletes
    the configs, models and in sandbox the group's packages."""
    done: dict[str, list[str]] = {}

    def step() -> dict | None:
        response = lambda_client.invoke(
            FunctionName=outputs["DeployerFunctionName"],
            InvocationType="RequestResponse",
            Payload=json.dumps({"kit-action": "teardown"}).encode(),
        )
        payload = response["Payload"].read().decode()
        if response.get("FunctionError"):
            raise StepFailed(f"deployer teardown failed: {payload[:500]}")
        answer = json.loads(payload)
        for key, value in answer.items():
            if isinstance(value, list):
                done.setdefault(key, []).extend(value)
        return answer if answer["action"] == "deleted" else None

    wait_for(
        step,
        what="deployer teardown",
        timeout=settings.teardown_timeout,
        interval=settings.teardown_poll,
        clock=run.clock,
    )
    return (
        f"deleted endpoint {', '.join(done.get('endpoint', [])) or 'none'}, "
        f"{len(done.get('endpoint_configs', []))} config(s), {len(done.get('models', []))} model(s), "
        f"{len(done.get('model_packages', []))} package(s)"
    )


def _charge_pipeline(run: Run, sagemaker: Any, prices: PriceTable, steps: list[dict]) -> None:
    """Processing and training jobs of the run, by their instance type, count and billed time."""
    for step in steps:
        metadata = step.get("Metadata", {})
        if "ProcessingJob" in metadata:
            name = metadata["ProcessingJob"]["Arn"].rsplit("/", 1)[-1]
            job = sagemaker.describe_processing_job(ProcessingJobName=name)
            cluster = job["ProcessingResources"]["ClusterConfig"]
            hours = (job["ProcessingEndTime"] - job["ProcessingStartTime"]).total_seconds() / 3600
            run.charge(
                f"processing {step['StepName']}: {cluster['InstanceCount']} x {cluster['InstanceType']}, "
                f"{hours * 60:.0f} min",
                hours * cluster["InstanceCount"] * prices.instance("processing", cluster["InstanceType"]),
            )
        elif "TrainingJob" in metadata:
            name = metadata["TrainingJob"]["Arn"].rsplit("/", 1)[-1]
            job = sagemaker.describe_training_job(TrainingJobName=name)
            resources = job["ResourceConfig"]
            # BillableTimeInSeconds is wall-clock time; times InstanceCount is what is billed (DescribeTrainingJob).
            hours = job.get("BillableTimeInSeconds", 0) / 3600
            run.charge(
                f"training {step['StepName']}: {resources['InstanceCount']} x {resources['InstanceType']}, "
                f"{hours * 60:.0f} billed min",
                hours * resources["InstanceCount"] * prices.instance("training", resources["InstanceType"]),
            )


def _charge_endpoint(
    run: Run, sagemaker: Any, prices: PriceTable, config_name: str, seconds: float, created: bool
) -> None:
    variant = sagemaker.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"][0]
    hourly = variant["InitialInstanceCount"] * prices.instance("hosting", variant["InstanceType"])
    note = "until cleanup" if created else "(the endpoint existed before and keeps running)"
    run.charge(
        f"endpoint {variant['InitialInstanceCount']} x {variant['InstanceType']}, {seconds / 60:.0f} min "
        f"{note}; ${hourly:.3f}/hour while it runs",
        hourly * max(seconds, 60) / 3600,
    )
