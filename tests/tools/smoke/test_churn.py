"""The churn path on recorded responses: success with cleanup, manual approval, a failed pipeline, and an endpoint
that never comes into service (timeout, then the endpoint the run created is still torn down).

The cleanup's Lambda invocations run the real deployer (lambdas/churn_endpoint/deployer.py) on its own stubbed
clients: an event the deployer rejects fails the cleanup here as it would in AWS (issue 29: a stub that answered
"deleted" hid a cleanup the deployer refused, and the smoke run's endpoint kept billing)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber

from tests.lambdas.churn_endpoint.test_deployer import ENV, deployer
from tests.tools.smoke.conftest import START, body, stack
from tools.smoke.churn import OUTPUTS, STACK, Settings, _deployed_mark, _kept_count, run_churn
from tools.smoke.core import FAIL, PASS, SKIP, Run, StepFailed
from tools.smoke.runner import run_smoke

PIPELINE_EXECUTION = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/churn-training/execution/abc123"
PACKAGE = "arn:aws:sagemaker:us-east-1:123456789012:model-package/churn-models/3"
OUTPUT_VALUES = {
    "PipelineName": "churn-training",
    "EndpointName": "churn-endpoint",
    "CaptureUri": "s3://capture-bucket/data-capture",
    "DeployerFunctionName": "deployer-fn",
    "ModelPackageGroupName": "churn-models",
}
FIXED = uuid.UUID("00000000-0000-4000-8000-00000000abcd")
INFERENCE_ID = f"kit-smoke-{FIXED.hex}"
FAST = Settings(
    pipeline_timeout=600,
    pipeline_poll=60,
    endpoint_timeout=120,
    endpoint_poll=30,
    capture_timeout=120,
    capture_poll=30,
    teardown_timeout=300,
    teardown_poll=30,
)
NOT_FOUND = 'Could not find endpoint "churn-endpoint".'
HOUR_PREFIX = f"data-capture/churn-endpoint/AllTraffic/{START:%Y/%m/%d/%H}/"


@pytest.fixture(autouse=True)
def fixed_ids(monkeypatch):
    monkeypatch.setattr("tools.smoke.churn.uuid.uuid4", lambda: FIXED)


def capture_line(inference_id: str) -> str:
    return json.dumps(
        {
            "captureData": {
                "endpointOutput": {
                    "data": "0.12",
                    "encoding": "CSV",
                    "mode": "OUTPUT",
                    "observedContentType": "text/csv",
                }
            },
            "eventMetadata": {"eventId": "e-1", "inferenceId": inference_id, "inferenceTime": "2026-11-29T12:00:01Z"},
            "eventVersion": "0",
        }
    )


def through_pipeline(clients, approval: str = "Approved", status: str = "Succeeded") -> object:
    clients.stub("cloudformation").add_response("describe_stacks", stack(STACK, OUTPUT_VALUES), {"StackName": STACK})
    sm = clients.stub("sagemaker")
    sm.add_client_error(
        "describe_endpoint", "ValidationException", NOT_FOUND, expected_params={"EndpointName": "churn-endpoint"}
    )
    sm.add_response(
        "start_pipeline_execution",
        {"PipelineExecutionArn": PIPELINE_EXECUTION},
        {"PipelineName": "churn-training", "PipelineExecutionDisplayName": ANY, "ClientRequestToken": ANY},
    )
    sm.add_response(
        "describe_pipeline_execution",
        {"PipelineExecutionArn": PIPELINE_EXECUTION, "PipelineExecutionStatus": "Executing"},
    )
    sm.add_response(
        "describe_pipeline_execution",
        {
            "PipelineExecutionArn": PIPELINE_EXECUTION,
            "PipelineExecutionStatus": status,
            "FailureReason": "Step failure: One or multiple steps failed.",
        },
    )
    steps = [
        {
            "StepName": "PrepareFeatures",
            "StepStatus": "Succeeded",
            "Metadata": {
                "ProcessingJob": {
                    "Arn": "arn:aws:sagemaker:us-east-1:123456789012:processing-job/pipelines-abc-preparefeatures"
                }
            },
        },
        {
            "StepName": "TrainModel",
            "StepStatus": "Succeeded",
            "Metadata": {
                "TrainingJob": {"Arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/pipelines-abc-trainmodel"}
            },
        },
    ]
    if status == "Succeeded":
        steps.append(
            {"StepName": "RegisterModel", "StepStatus": "Succeeded", "Metadata": {"RegisterModel": {"Arn": PACKAGE}}}
        )
    else:
        steps.append({"StepName": "AucTooLow", "StepStatus": "Failed", "FailureReason": "AUC 0.71 < 0.85"})
    sm.add_response(
        "list_pipeline_execution_steps", {"PipelineExecutionSteps": steps}, {"PipelineExecutionArn": PIPELINE_EXECUTION}
    )
    if status != "Succeeded":
        return sm
    sm.add_response(
        "describe_processing_job",
        {
            "ProcessingJobName": "pipelines-abc-preparefeatures",
            "ProcessingJobArn": steps[0]["Metadata"]["ProcessingJob"]["Arn"],
            "ProcessingJobStatus": "Completed",
            "CreationTime": START,
            "AppSpecification": {"ImageUri": "spark"},
            "ProcessingResources": {
                "ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30}
            },
            "ProcessingStartTime": START,
            "ProcessingEndTime": START + timedelta(minutes=12),
        },
        {"ProcessingJobName": "pipelines-abc-preparefeatures"},
    )
    sm.add_response(
        "describe_training_job",
        {
            "TrainingJobName": "pipelines-abc-trainmodel",
            "TrainingJobArn": steps[1]["Metadata"]["TrainingJob"]["Arn"],
            "TrainingJobStatus": "Completed",
            "SecondaryStatus": "Completed",
            "CreationTime": START,
            "ModelArtifacts": {"S3ModelArtifacts": "s3://artifacts/model.tar.gz"},
            "AlgorithmSpecification": {"TrainingInputMode": "File", "TrainingImage": "xgboost"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
            "BillableTimeInSeconds": 360,
        },
        {"TrainingJobName": "pipelines-abc-trainmodel"},
    )
    sm.add_response(
        "describe_model_package",
        {
            "ModelPackageName": "churn-models",
            "ModelPackageArn": PACKAGE,
            "ModelPackageVersion": 3,
            "ModelPackageStatus": "Completed",
            "ModelApprovalStatus": approval,
            "CreationTime": START,
            "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        },
        {"ModelPackageName": PACKAGE},
    )
    return sm


SERVED = "churn-endpoint-v3-0a1b2c3d-1"  # <model>-<settings digest>-<count>, as the deployer names configs


def endpoint(status: str, config: str = SERVED) -> dict:
    return {
        "EndpointName": "churn-endpoint",
        "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/churn-endpoint",
        "EndpointConfigName": config,
        "EndpointStatus": status,
        "CreationTime": START,
        "LastModifiedTime": START,
    }


class RealDeployer:
    """The deployer function as Lambda runs it: Invoke requests (checked against the Lambda model by botocore) run
    deployer.dispatch() on the deployer's own stubbed clients; an exception answers FunctionError "Unhandled" with
    Lambda's error payload."""

    def __init__(self, clients) -> None:
        self.settings = deployer.Settings.from_env({**ENV, "MAX_INSTANCES": "1"})
        self.sagemaker = clients.session.client("sagemaker")
        self.autoscaling = clients.session.client("application-autoscaling")
        self.stubs = {"sagemaker": Stubber(self.sagemaker), "application-autoscaling": Stubber(self.autoscaling)}
        for stubber in self.stubs.values():
            stubber.activate()
        self.events: list[dict] = []
        lambda_client = clients.session.client("lambda")
        lambda_client.meta.events.register("before-call.lambda.Invoke", self._invoke)
        clients.clients["lambda"] = lambda_client

    def _invoke(self, params, **_):
        assert params["url_path"].endswith("/functions/deployer-fn/invocations")
        event = json.loads(params["body"])
        self.events.append(event)
        try:
            answer, error = deployer.dispatch(event, self.settings, self.sagemaker, self.autoscaling), None
        except Exception as raised:
            answer, error = {"errorMessage": str(raised), "errorType": type(raised).__name__}, "Unhandled"
        parsed = {"StatusCode": 200, "Payload": body(json.dumps(answer))}
        if error:
            parsed["FunctionError"] = error
        return AWSResponse(None, 200, {}, None), parsed

    def assert_all_used(self) -> None:
        for stubber in self.stubs.values():
            stubber.assert_no_pending_responses()


def teardown(clients, status: str = "InService") -> RealDeployer:
    """What the real deployer's teardown asks of SageMaker and Application Auto Scaling, call by call: an endpoint in
    `status` (waited out while Creating, then Failed), deleted, polled until gone, then its configs, models and
    packages."""
    real = RealDeployer(clients)
    sm, scaling = real.stubs["sagemaker"], real.stubs["application-autoscaling"]
    if status == "Creating":
        sm.add_response("describe_endpoint", endpoint("Creating"), {"EndpointName": "churn-endpoint"})
        status = "Failed"
    sm.add_response("describe_endpoint", endpoint(status), {"EndpointName": "churn-endpoint"})
    scaling.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                {
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": resource_id,
                    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                    "MinCapacity": 1,
                    "MaxCapacity": 3,
                    "RoleARN": "arn:aws:iam::123456789012:role/scaling",
                    "CreationTime": START,
                }
                for resource_id in ("endpoint/churn-endpoint/variant/AllTraffic", "endpoint/other/variant/AllTraffic")
            ]
        },
        {"ServiceNamespace": "sagemaker"},
    )
    # Registered under earlier settings (MAX_INSTANCES was higher): deregistered all the same.
    scaling.add_response(
        "deregister_scalable_target",
        {},
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": "endpoint/churn-endpoint/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        },
    )
    sm.add_response("delete_endpoint", {}, {"EndpointName": "churn-endpoint"})
    sm.add_response("describe_endpoint", endpoint("Deleting"), {"EndpointName": "churn-endpoint"})
    sm.add_client_error(
        "describe_endpoint", "ValidationException", NOT_FOUND, expected_params={"EndpointName": "churn-endpoint"}
    )
    scaling.add_response("describe_scalable_targets", {"ScalableTargets": []}, {"ServiceNamespace": "sagemaker"})
    sm.add_response(
        "list_endpoint_configs",
        {
            "EndpointConfigs": [
                {
                    "EndpointConfigName": "churn-endpoint-v3",
                    "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/churn-endpoint-v3",
                    "CreationTime": START,
                }
            ]
        },
        {"NameContains": "churn-endpoint-v"},
    )
    sm.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "churn-endpoint-v3"})
    sm.add_response(
        "list_models",
        {
            "Models": [
                {
                    "ModelName": "churn-endpoint-v3",
                    "ModelArn": "arn:aws:sagemaker:us-east-1:123456789012:model/churn-endpoint-v3",
                    "CreationTime": START,
                }
            ]
        },
        {"NameContains": "churn-endpoint-v"},
    )
    sm.add_response("delete_model", {}, {"ModelName": "churn-endpoint-v3"})
    sm.add_response(
        "list_model_packages",
        {
            "ModelPackageSummaryList": [
                {
                    "ModelPackageArn": PACKAGE,
                    "ModelPackageStatus": "Completed",
                    "CreationTime": START,
                    "ModelPackageName": "churn-models",
                }
            ]
        },
        {"ModelPackageGroupName": "churn-models"},
    )
    sm.add_response("delete_model_package", {}, {"ModelPackageName": PACKAGE})
    return real


def test_success_invokes_with_an_inference_id_finds_its_capture_and_tears_the_endpoint_down(clients, clock, prices):
    sm = through_pipeline(clients)
    sm.add_client_error("describe_endpoint", "ValidationException", NOT_FOUND)
    sm.add_response("describe_endpoint", endpoint("Creating"))
    sm.add_response("describe_endpoint", endpoint("InService"), {"EndpointName": "churn-endpoint"})
    sm.add_response("describe_model_package", marked_package(), {"ModelPackageName": PACKAGE})
    clients.stub("sagemaker-runtime").add_response(
        "invoke_endpoint",
        {"Body": body("0.1234"), "ContentType": "text/csv"},
        {
            "EndpointName": "churn-endpoint",
            "Body": b"1,2,3",
            "ContentType": "text/csv",
            "Accept": "text/csv",
            "InferenceId": INFERENCE_ID,
        },
    )
    s3 = clients.stub("s3")
    key = f"{HOUR_PREFIX}12-00-01-123-abc.jsonl"
    s3.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": "capture-bucket", "Prefix": HOUR_PREFIX})
    s3.add_response("list_objects_v2", {"KeyCount": 0}, {"Bucket": "capture-bucket", "Prefix": ANY})
    s3.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": key}], "KeyCount": 1},
        {"Bucket": "capture-bucket", "Prefix": HOUR_PREFIX},
    )
    s3.add_response(
        "get_object",
        {"Body": body(capture_line("someone-else") + "\n" + capture_line(INFERENCE_ID))},
        {"Bucket": "capture-bucket", "Key": key},
    )
    sm.add_response(
        "describe_endpoint_config",
        served_config(1, "ml.t2.medium"),
        {"EndpointConfigName": SERVED},
    )
    real = teardown(clients)

    [run] = run_smoke(
        clients,
        "us-east-1",
        only="churn_model",
        clock=clock,
        prices=prices,
        paths={"churn_model": lambda r, c, reg, p: run_churn(r, c, reg, p, FAST, request_row="1,2,3")},
    )

    clients.assert_all_used()
    real.assert_all_used()
    assert real.events == [{"kit-action": "teardown"}] * 3  # deletes, waits while Deleting, cleans up once gone
    assert [(s.name, s.status) for s in run.steps] == [
        ("stack outputs", PASS),
        ("start pipeline", PASS),
        ("pipeline succeeded", PASS),
        ("package registered", PASS),
        ("package approved", PASS),
        ("endpoint in service", PASS),
        ("deployed mark on the package", PASS),
        ("update kept the instance count", SKIP),
        ("invoke with InferenceId", PASS),
        ("record in capture location", PASS),
        ("clean up: endpoint churn-endpoint", PASS),
    ]
    details = {s.name: s.detail for s in run.steps}
    assert details["package approved"] == "approved on registration"
    assert details["deployed mark on the package"] == "kit:deployed-approval=true on version 3"
    assert details["invoke with InferenceId"] == f"{INFERENCE_ID} scored 0.123"
    assert details["record in capture location"] == f"s3://capture-bucket/{key}"
    assert details["clean up: endpoint churn-endpoint"] == (
        "deleted endpoint churn-endpoint, 1 config(s), 1 model(s), 1 package(s)"
    )
    charges = {c.item.split(":")[0]: c.usd for c in run.charges}
    assert charges["processing PrepareFeatures"] == pytest.approx(0.23 * 12 / 60)
    assert charges["training TrainModel"] == pytest.approx(0.23 * 6 / 60)
    # From approval to the capture check: 60 s to come into service and one 30 s capture poll.
    assert charges["endpoint 1 x ml.t2.medium, 2 min until cleanup; $0.056/hour while it runs"] == pytest.approx(
        0.056 * 90 / 3600
    )
    assert set(OUTPUT_VALUES) - {"ModelPackageGroupName"} == set(OUTPUTS)


def marked_package(mark: dict | None = None) -> dict:
    return {
        "ModelPackageName": "churn-models",
        "ModelPackageArn": PACKAGE,
        "ModelPackageVersion": 3,
        "ModelPackageStatus": "Completed",
        "ModelApprovalStatus": "Approved",
        "CreationTime": START,
        "ModelPackageStatusDetails": {"ValidationStatuses": [], "ImageScanStatuses": []},
        "CustomerMetadataProperties": {"kit:deployed-approval": "true"} if mark is None else mark,
    }


def served_config(count: int, instance_type: str = "ml.m5.large") -> dict:
    return {
        "EndpointConfigName": SERVED,
        "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/{SERVED}",
        "CreationTime": START,
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "churn-endpoint-v3",
                "InstanceType": instance_type,
                "InitialInstanceCount": count,
            }
        ],
    }


def test_a_package_without_the_deployed_mark_fails_the_step(clients):
    """Issue 31 item 3: the mark is where the API documents it, and a real account shows it."""
    sm = clients.stub("sagemaker")
    sm.add_response("describe_model_package", marked_package({"team": "churn"}), {"ModelPackageName": PACKAGE})
    with pytest.raises(StepFailed, match="no kit:deployed-approval mark"):
        _deployed_mark(clients("sagemaker"), PACKAGE)


@pytest.mark.parametrize("count, kept", [(6, True), (2, False)])
def test_an_update_that_shrank_the_fleet_fails_the_step(clients, count, kept):
    """Issue 31 item 1: auto scaling had 6 instances; the new config must start with 6, not the minimum."""
    sm = clients.stub("sagemaker")
    sm.add_response("describe_endpoint_config", served_config(count), {"EndpointConfigName": SERVED})
    before = endpoint("InService", "churn-endpoint-v2-0a1b2c3d-2") | {
        "ProductionVariants": [{"VariantName": "AllTraffic", "DesiredInstanceCount": 6, "CurrentInstanceCount": 6}]
    }
    if kept:
        assert _kept_count(clients("sagemaker"), before, SERVED) == "6 instance(s) before and after"
    else:
        with pytest.raises(StepFailed, match="starts with 2 instance"):
            _kept_count(clients("sagemaker"), before, SERVED)


def test_a_package_pending_review_is_approved(clients, make_run, prices):
    sm = through_pipeline(clients, approval="PendingManualApproval")
    sm.add_response(
        "update_model_package",
        {"ModelPackageArn": PACKAGE},
        {
            "ModelPackageArn": PACKAGE,
            "ModelApprovalStatus": "Approved",
            "ApprovalDescription": "Approved by the kit's smoke test",
        },
    )
    sm.add_client_error("describe_endpoint", "ValidationException", NOT_FOUND)
    sm.add_response("describe_endpoint", endpoint("Failed") | {"FailureReason": "image not found"})

    run = make_run("churn_model")
    with pytest.raises(StepFailed):
        run_churn(run, clients, "us-east-1", prices, FAST, request_row="1")

    clients.assert_all_used()
    statuses = {s.name: (s.status, s.detail) for s in run.steps}
    assert statuses["package approved"] == (PASS, "approved by the smoke test")
    assert statuses["endpoint in service"] == (FAIL, "endpoint churn-endpoint failed: image not found")
    assert [name for name, _ in run.cleanups] == ["endpoint churn-endpoint"]


def test_a_failed_pipeline_names_the_failed_step(clients, make_run, prices):
    through_pipeline(clients, status="Failed")

    run = make_run("churn_model")
    with pytest.raises(StepFailed):
        run_churn(run, clients, "us-east-1", prices, FAST, request_row="1")

    clients.assert_all_used()
    assert (run.steps[-1].name, run.steps[-1].status, run.steps[-1].detail) == (
        "pipeline succeeded",
        FAIL,
        "pipeline Failed: AucTooLow: AUC 0.71 < 0.85",
    )
    assert run.cleanups == []  # nothing was created that needs undoing


def test_an_endpoint_that_never_serves_times_out_and_is_still_torn_down(clients, clock, prices):
    sm = through_pipeline(clients)
    for _ in range(5):  # polls at 0, 30, 60, 90 and 120 s; the timeout is 120 s
        sm.add_response("describe_endpoint", endpoint("Creating"))
    real = teardown(clients, status="Creating")

    [run] = run_smoke(
        clients,
        "us-east-1",
        clock=clock,
        prices=prices,
        paths={"churn_model": lambda r, c, reg, p: run_churn(r, c, reg, p, FAST, request_row="1")},
    )

    clients.assert_all_used()
    real.assert_all_used()
    failed = [s for s in run.steps if s.status == FAIL]
    assert [(s.name, s.detail) for s in failed] == [
        ("endpoint in service", "endpoint churn-endpoint with model churn-endpoint-v3: not done after 120 s")
    ]
    assert run.steps[-1].name == "clean up: endpoint churn-endpoint" and run.steps[-1].status == PASS
    # One pipeline poll, the endpoint wait, and three teardown polls (Creating, then deleting, then Deleting), all on
    # the fake clock.
    assert sum(clock.sleeps) == 60 + 120 + 3 * 30


def test_keep_leaves_the_endpoint(clients, clock, prices):
    run = Run("churn_model", clock)
    run.on_cleanup("endpoint churn-endpoint", lambda: pytest.fail("--keep must not clean up"))
    run.clean_up(keep=True)
    assert [(s.name, s.status, s.detail) for s in run.steps] == [
        ("clean up: endpoint churn-endpoint", SKIP, "kept (--keep)")
    ]
