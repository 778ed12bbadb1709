"""Instance types with local NVMe storage get no volume key (SageMaker refuses one); EBS-backed types keep it."""

import pytest

from stacks.churn_model.instance_storage import has_instance_storage
from stacks.churn_model.pipeline_definition import PipelineInputs, build_definition

KEY = "arn:aws:kms:eu-west-1:111122223333:key/volume"


def _inputs(processing: str, training: str) -> PipelineInputs:
    return PipelineInputs(
        role_arn="arn:aws:iam::111122223333:role/pipeline",
        spark_image="spark",
        xgboost_image="xgboost",
        artifacts_bucket="artifacts",
        kms_key_arn=KEY,
        preprocess_code_uri="s3://code/preprocess.py",
        preprocess_file="preprocess.py",
        evaluate_code_uri="s3://code/evaluate.py",
        evaluate_file="evaluate.py",
        model_package_group="churn",
        default_input_uri="s3://data/churn.csv",
        processing_instance_type=processing,
        processing_instance_count=1,
        training_instance_type=training,
        endpoint_instance_type="ml.m5.large",
        min_auc=0.8,
        approval_status="PendingManualApproval",
    )


def _resources(processing: str, training: str) -> dict[str, dict[str, object]]:
    """Every step's instance block, by step name: the processing clusters and the training resources."""
    steps = build_definition(_inputs(processing, training))["Steps"]
    flat = {s["Name"]: s for s in steps}
    flat.update({s["Name"]: s for step in steps for s in step.get("Arguments", {}).get("IfSteps", [])})
    found = {}
    for name, step in flat.items():
        arguments = step.get("Arguments", {})
        if "ProcessingResources" in arguments:
            found[name] = arguments["ProcessingResources"]["ClusterConfig"]
        if "ResourceConfig" in arguments:
            found[name] = arguments["ResourceConfig"]
    return found


@pytest.mark.parametrize("instance_type", ["ml.m5d.xlarge", "ml.c5d.2xlarge", "ml.g4dn.xlarge", "ml.g5.xlarge"])
def test_a_processing_type_with_instance_storage_gets_no_volume_key(instance_type):
    cluster = _resources(instance_type, "ml.m5.xlarge")["PrepareFeatures"]
    assert cluster["InstanceType"] == instance_type
    assert "VolumeKmsKeyId" not in cluster


@pytest.mark.parametrize("instance_type", ["ml.p3dn.24xlarge", "ml.m5d.2xlarge", "ml.p5.48xlarge"])
def test_a_training_type_with_instance_storage_gets_no_volume_key(instance_type):
    resources = _resources("ml.m5.xlarge", instance_type)["TrainModel"]
    assert "VolumeKmsKeyId" not in resources


def test_ebs_backed_types_keep_the_kit_key_on_every_step():
    found = _resources("ml.m5.4xlarge", "ml.c5.2xlarge")
    assert {"PrepareFeatures", "TrainModel", "EvaluateModel"} <= set(found)
    assert all(block["VolumeKmsKeyId"] == KEY for block in found.values())


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("ml.m5d.large", True),
        ("ml.r5d.4xlarge", True),
        ("ml.c6id.xlarge", True),
        ("ml.p4de.24xlarge", True),
        ("ml.g6e.xlarge", True),
        ("ml.trn1n.32xlarge", True),
        ("ml.dl1.24xlarge", True),
        ("ml.m5.xlarge", False),
        ("ml.c5n.xlarge", False),
        ("ml.t2.medium", False),
        ("ml.inf2.xlarge", False),
        ("ml.p3.2xlarge", False),
    ],
)
def test_instance_storage_families(instance_type, expected):
    assert has_instance_storage(instance_type) is expected
